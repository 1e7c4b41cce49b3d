//! The node's sealing key: secrets are stored hashed for password checks and, when the node
//! has a sealing key, also encrypted (AES-256-GCM) so that challenge–response protocols
//! whose proof needs the secret itself (Handle `HS_SECKEY` HMACs) can be verified. A copy of
//! the database alone reveals no secret; the key lives in a file outside it.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes of a sealing key.
pub const SEALING_KEY_LEN: usize = 32;

/// An AES-256-GCM key for secrets at rest.
pub struct SealingKey(LessSafeKey, [u8; 32]);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

fn aad(handle: &str, index: u32) -> Vec<u8> {
    let mut a = Vec::with_capacity(handle.len() + 5);
    a.extend_from_slice(handle.as_bytes());
    a.push(0);
    a.extend_from_slice(&index.to_be_bytes());
    a
}

impl SealingKey {
    /// A key from its bytes.
    pub fn new(bytes: &[u8; SEALING_KEY_LEN]) -> Self {
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes),
            b"idnode sealing key fingerprint",
        );
        Self(
            LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key"),
            ),
            tag.as_ref().try_into().expect("HMAC-SHA256 is 32 bytes"),
        )
    }

    /// A fingerprint of the key (an HMAC of a fixed text under it): equal for equal keys,
    /// revealing nothing of the key.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.1
    }

    /// Fresh random key bytes.
    pub fn generate() -> [u8; SEALING_KEY_LEN] {
        let mut k = [0u8; SEALING_KEY_LEN];
        SystemRandom::new()
            .fill(&mut k)
            .expect("the system random source works");
        k
    }

    /// Encrypts the secret of value `index` of `handle` (nonce ‖ ciphertext ‖ tag); the
    /// result only opens for that handle and index.
    pub fn seal(&self, handle: &str, index: u32, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random source works");
        let mut out = secret.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(handle, index)),
                &mut out,
            )
            .expect("sealing cannot fail for in-range lengths");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        sealed
    }

    /// Decrypts what [`SealingKey::seal`] made for the same handle and index.
    pub fn open(&self, handle: &str, index: u32, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = ct.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(aad(handle, index)), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_value() {
        let k = SealingKey::new(&SealingKey::generate());
        let s = k.seal("0.NA/88.118.8", 300, b"hunter2");
        assert_eq!(k.open("0.NA/88.118.8", 300, &s).unwrap(), b"hunter2");
        assert!(k.open("0.NA/88.118.8", 301, &s).is_none());
        assert!(k.open("0.NA/88.118.9", 300, &s).is_none());
        let other = SealingKey::new(&SealingKey::generate());
        assert!(other.open("0.NA/88.118.8", 300, &s).is_none());
        assert!(k.open("0.NA/88.118.8", 300, &s[..5]).is_none());
        assert_ne!(
            k.seal("h/x", 1, b"a"),
            k.seal("h/x", 1, b"a"),
            "fresh nonces"
        );
    }
}
