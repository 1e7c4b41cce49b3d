//! The EPCIS event hash ID of CBV 2.0 as text (`ni:///sha-256;<64 hex digits>?ver=CBV2.0`,
//! RFC 6920 with GS1's version query) and as the 32 bytes of its digest, the form the
//! stores index.

const PREFIX: &str = "ni:///sha-256;";
const SUFFIX: &str = "?ver=CBV2.0";

/// The hash ID of a SHA-256 digest.
pub fn hash_id(digest: &[u8]) -> String {
    format!("{PREFIX}{}{SUFFIX}", hex::encode(digest))
}

/// The 64 lower-case hex digits of a hash ID written exactly as [`hash_id`] writes it, or
/// `None` for any other text.
pub fn hash_id_hex(id: &str) -> Option<&str> {
    let hex = id.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

/// The digest of a hash ID written exactly as [`hash_id`] writes it, or `None` for any
/// other text.
pub fn hash_id_digest(id: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hash_id_hex(id)?, &mut digest).ok()?;
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ids_round_trip_and_nothing_else_parses() {
        let digest: Vec<u8> = (0u8..32).collect();
        let id = hash_id(&digest);
        assert_eq!(
            id,
            "ni:///sha-256;000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f?ver=CBV2.0"
        );
        assert_eq!(hash_id_digest(&id).map(Vec::from), Some(digest));
        assert_eq!(hash_id_hex(&id), Some(&id[14..78]));
        for other in [
            "urn:uuid:6d8f0a5e-0000-4000-8000-000000000000",
            "ni:///sha-256;000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f?ver=CBV2.0",
            "ni:///sha-256;0001?ver=CBV2.0",
            "ni:///sha-256;000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "ni:///sha-256;zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f?ver=CBV2.0",
            "ni:///sha-256;é0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f?ver=CBV2.0",
        ] {
            assert_eq!(hash_id_digest(other), None, "{other}");
            assert_eq!(hash_id_hex(other), None, "{other}");
        }
    }
}
