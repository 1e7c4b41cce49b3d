//! The optional credential after a message body: who signed the message, and the signature.

use crate::ProtoError;
use idnode_core::wire::{put_blob, put_u32, Reader};

/// A message credential (RFC 3652 §2.2.3 with the 2.x signed-data section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential<'a> {
    /// Credential format version.
    pub version: u8,
    /// Credential flags.
    pub flags: u16,
    /// The signer's handle.
    pub signer: &'a str,
    /// The index of the signer's key value.
    pub signer_index: u32,
    /// `HS_SIGNED` or `HS_MAC`.
    pub kind: &'a str,
    /// Hash algorithm name, e.g. `SHA-256`.
    pub hash_alg: &'a [u8],
    /// The signature bytes.
    pub signature: &'a [u8],
}

impl<'a> Credential<'a> {
    /// Decodes the credential bytes (without their u32 length prefix).
    pub fn decode(buf: &'a [u8]) -> Result<Self, ProtoError> {
        let mut r = Reader::new(buf);
        let version = r.u8()?;
        let _reserved = r.u8()?;
        let flags = r.u16()?;
        let signer = r.str()?;
        let signer_index = r.u32()?;
        let kind = r.str()?;
        let signed = r.blob()?;
        r.finish()?;
        let mut s = Reader::new(signed);
        let hash_alg = s.blob()?;
        let signature = s.blob()?;
        s.finish()?;
        Ok(Self {
            version,
            flags,
            signer,
            signer_index,
            kind,
            hash_alg,
            signature,
        })
    }

    /// Appends the credential bytes (without a length prefix).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.push(0);
        out.extend_from_slice(&self.flags.to_be_bytes());
        put_blob(out, self.signer.as_bytes());
        put_u32(out, self.signer_index);
        put_blob(out, self.kind.as_bytes());
        put_u32(out, (8 + self.hash_alg.len() + self.signature.len()) as u32);
        put_blob(out, self.hash_alg);
        put_blob(out, self.signature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip_and_reject_garbage() {
        let c = Credential {
            version: 0,
            flags: 0,
            signer: "0.NA/88.118",
            signer_index: 300,
            kind: "HS_SIGNED",
            hash_alg: b"SHA-256",
            signature: &[1, 2, 3],
        };
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(Credential::decode(&out).unwrap(), c);
        assert!(Credential::decode(&out[..out.len() - 1]).is_err());
        out.push(0);
        assert!(Credential::decode(&out).is_err());
    }
}
