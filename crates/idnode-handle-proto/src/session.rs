//! Session management bodies (RFC 3652 §3.10: SESSION_SETUP 400, SESSION_TERMINATE 401,
//! SESSION_EXCHANGEKEY 402) and what a session key protects: the bytes a message
//! authentication code or a server signature covers, and the credential that carries it.
//!
//! As CNRI writes them, the setup request and response count four bytes for the key exchange
//! mode but write two, so their bodies end with two padding bytes; both are accepted here and
//! written the same way.

use crate::{DigestAlg, Envelope, ProtoError, Version};
use idnode_core::wire::{put_blob, put_u32, Reader};

/// How the session key is agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyExchange {
    /// 1: the client sends an RSA public key; the server encrypts the session key to it.
    CipherClient,
    /// 2: the server sends its public key; the client encrypts a session key to it
    /// (SESSION_EXCHANGEKEY).
    CipherServer,
    /// 3: as 1, with the public key read from a handle value.
    CipherHandle,
    /// 4: Diffie–Hellman; each side sends its public value.
    DiffieHellman,
}

impl KeyExchange {
    /// The mode number on the wire.
    pub fn code(self) -> u16 {
        match self {
            Self::CipherClient => 1,
            Self::CipherServer => 2,
            Self::CipherHandle => 3,
            Self::DiffieHellman => 4,
        }
    }
}

/// A SESSION_SETUP request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSetup<'a> {
    /// The key exchange asked for.
    pub exchange: KeyExchange,
    /// Seconds the client wants the session to live idle.
    pub timeout: u32,
    /// The identity the session will authenticate as (empty: anonymous).
    pub identity: &'a str,
    /// The index of the identity's key.
    pub identity_index: u32,
    /// Modes 1 and 4: the client's public key (`RSA_PUB_KEY` or `DH_PUB_KEY` data).
    pub public_key: &'a [u8],
    /// Mode 3: the handle and index of the public key to encrypt the session key to.
    pub key_ref: Option<(&'a str, u32)>,
}

impl<'a> SessionSetup<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, ProtoError> {
        let exchange = match r.u16()? {
            1 => KeyExchange::CipherClient,
            2 => KeyExchange::CipherServer,
            3 => KeyExchange::CipherHandle,
            4 => KeyExchange::DiffieHellman,
            _ => return Err(ProtoError::malformed("unknown key exchange mode")),
        };
        let timeout = r.u32()?;
        let identity = r.str()?;
        let identity_index = r.u32()?;
        let (public_key, key_ref) = match exchange {
            KeyExchange::CipherClient | KeyExchange::DiffieHellman => (r.blob()?, None),
            KeyExchange::CipherHandle => (&[][..], Some((r.str()?, r.u32()?))),
            KeyExchange::CipherServer => (&[][..], None),
        };
        skip_padding(r)?;
        Ok(Self {
            exchange,
            timeout,
            identity,
            identity_index,
            public_key,
            key_ref,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.exchange.code().to_be_bytes());
        put_u32(out, self.timeout);
        put_blob(out, self.identity.as_bytes());
        put_u32(out, self.identity_index);
        match self.exchange {
            KeyExchange::CipherClient | KeyExchange::DiffieHellman => {
                put_blob(out, self.public_key);
            }
            KeyExchange::CipherHandle => {
                let (h, i) = self.key_ref.unwrap_or_default();
                put_blob(out, h.as_bytes());
                put_u32(out, i);
            }
            KeyExchange::CipherServer => {}
        }
        out.extend_from_slice(&[0, 0]);
    }
}

/// The two padding bytes CNRI leaves at the end of setup bodies (absent from some clients).
fn skip_padding(r: &mut Reader<'_>) -> Result<(), ProtoError> {
    match r.remaining() {
        0 => Ok(()),
        2 => {
            r.u16()?;
            Ok(())
        }
        _ => Err(ProtoError::malformed(
            "trailing bytes after the session setup",
        )),
    }
}

/// Appends a SESSION_SETUP response body: the mode and its data (the encrypted session key,
/// the server's public key, or the algorithm and the server's Diffie–Hellman value).
pub fn encode_setup_answer(out: &mut Vec<u8>, exchange: KeyExchange, data: &[u8]) {
    out.extend_from_slice(&exchange.code().to_be_bytes());
    put_blob(out, data);
    out.extend_from_slice(&[0, 0]);
}

/// Decodes a SESSION_SETUP response body (after the request digest): mode and data.
pub fn decode_setup_answer(body: &[u8]) -> Result<(u16, &[u8]), ProtoError> {
    let mut r = Reader::new(body);
    let mode = r.u16()?;
    let data = r.blob()?;
    skip_padding(&mut r)?;
    r.finish()?;
    Ok((mode, data))
}

/// The bytes a session MAC or a server signature covers: the message's protocol versions,
/// session id, request id and session counter (from protocol 2.7 on; the suggested version
/// from 2.8 on), then its header and body. Messages of older versions are covered by their
/// header and body alone.
pub fn covered_bytes(envelope: &Envelope, counter: u32, header_and_body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + header_and_body.len());
    let v = envelope.version;
    if v >= (Version { major: 2, minor: 7 }) {
        out.extend_from_slice(&[v.major, v.minor]);
        if v >= (Version { major: 2, minor: 8 }) {
            out.extend_from_slice(&[envelope.suggested.major, envelope.suggested.minor]);
        }
        put_u32(&mut out, envelope.session_id);
        put_u32(&mut out, envelope.request_id);
        put_u32(&mut out, counter);
    }
    out.extend_from_slice(header_and_body);
    out
}

/// The digest algorithm a session MAC uses at a protocol version.
pub fn mac_alg(version: Version) -> DigestAlg {
    if version >= (Version { major: 2, minor: 7 }) {
        DigestAlg::Sha256
    } else {
        DigestAlg::Sha1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_bodies_round_trip_with_and_without_padding() {
        let s = SessionSetup {
            exchange: KeyExchange::DiffieHellman,
            timeout: 86_400,
            identity: "0.NA/88.118.8",
            identity_index: 300,
            public_key: b"DHKEY",
            key_ref: None,
        };
        let mut out = Vec::new();
        s.write(&mut out);
        assert_eq!(SessionSetup::read(&mut Reader::new(&out)).unwrap(), s);
        let unpadded = &out[..out.len() - 2];
        assert_eq!(SessionSetup::read(&mut Reader::new(unpadded)).unwrap(), s);
        assert!(SessionSetup::read(&mut Reader::new(&out[..out.len() - 3])).is_err());
        let mut bad = out.clone();
        bad[1] = 9;
        assert!(SessionSetup::read(&mut Reader::new(&bad)).is_err());

        let h = SessionSetup {
            exchange: KeyExchange::CipherHandle,
            public_key: b"",
            key_ref: Some(("88.118.8/KEYS", 301)),
            ..s
        };
        let mut out = Vec::new();
        h.write(&mut out);
        assert_eq!(SessionSetup::read(&mut Reader::new(&out)).unwrap(), h);

        let mut a = Vec::new();
        encode_setup_answer(&mut a, KeyExchange::CipherServer, b"PUB");
        assert_eq!(decode_setup_answer(&a).unwrap(), (2, &b"PUB"[..]));
    }

    #[test]
    fn covered_bytes_follow_the_version() {
        let mut env = Envelope::request(7, 9);
        env.version = Version {
            major: 2,
            minor: 10,
        };
        let c = covered_bytes(&env, 3, b"HB");
        assert_eq!(&c[..4], &[2, 10, 2, 10]);
        assert_eq!(&c[4..16], &[0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 3]);
        assert_eq!(&c[16..], b"HB");
        env.version = Version { major: 2, minor: 1 };
        assert_eq!(covered_bytes(&env, 3, b"HB"), b"HB");
    }
}
