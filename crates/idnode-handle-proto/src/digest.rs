//! Request digests (the `RD` flag and challenges): MD5, SHA-1 or SHA-256 of the request's
//! header and body.

use md5::{Digest as _, Md5};
use ring::digest as rd;

use crate::{ProtoError, Version};
use idnode_core::wire::{put_blob, Reader};

/// A digest algorithm as coded on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlg {
    /// Protocol 2.0: an MD5 digest written as a length-prefixed string.
    Md5OldFormat,
    /// Code 1.
    Md5,
    /// Code 2.
    Sha1,
    /// Code 3.
    Sha256,
}

impl DigestAlg {
    /// The algorithm a server uses for a given negotiated version.
    pub fn for_version(v: Version) -> Self {
        if v >= (Version { major: 2, minor: 7 }) {
            Self::Sha256
        } else if v >= (Version { major: 2, minor: 1 }) {
            Self::Sha1
        } else {
            Self::Md5OldFormat
        }
    }

    /// The wire code.
    pub fn code(self) -> u8 {
        match self {
            Self::Md5OldFormat => 0,
            Self::Md5 => 1,
            Self::Sha1 => 2,
            Self::Sha256 => 3,
        }
    }

    /// Algorithm for a wire code.
    pub fn from_code(c: u8) -> Result<Self, ProtoError> {
        Ok(match c {
            0 => Self::Md5OldFormat,
            1 => Self::Md5,
            2 => Self::Sha1,
            3 => Self::Sha256,
            _ => {
                return Err(ProtoError::malformed(format!(
                    "unknown digest algorithm {c}"
                )))
            }
        })
    }

    fn len(self) -> usize {
        match self {
            Self::Md5OldFormat | Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// Appends the digest field: the code and the digest, or for the old format a
    /// length-prefixed MD5.
    pub fn put(self, out: &mut Vec<u8>, d: &[u8]) {
        if self == Self::Md5OldFormat {
            put_blob(out, d);
        } else {
            out.push(self.code());
            out.extend_from_slice(d);
        }
    }

    /// Reads a digest field.
    pub(crate) fn read<'a>(r: &mut Reader<'a>) -> Result<(Self, &'a [u8]), ProtoError> {
        // The old format starts with a u32 length whose first byte is 0.
        let mut peek = Reader::new(r.rest_peek());
        let code = peek.u8()?;
        let alg = Self::from_code(code)?;
        if alg == Self::Md5OldFormat {
            let d = r.blob()?;
            return Ok((alg, d));
        }
        r.u8()?;
        Ok((alg, r.bytes(alg.len())?))
    }
}

/// The digest of `data` with `alg`.
pub fn digest(alg: DigestAlg, data: &[u8]) -> Vec<u8> {
    match alg {
        DigestAlg::Md5OldFormat | DigestAlg::Md5 => Md5::digest(data).to_vec(),
        DigestAlg::Sha1 => rd::digest(&rd::SHA1_FOR_LEGACY_USE_ONLY, data)
            .as_ref()
            .to_vec(),
        DigestAlg::Sha256 => rd::digest(&rd::SHA256, data).as_ref().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            digest(DigestAlg::Md5, b"abc")[..4],
            [0x90, 0x01, 0x50, 0x98]
        );
        assert_eq!(
            digest(DigestAlg::Sha1, b"abc")[..4],
            [0xa9, 0x99, 0x3e, 0x36]
        );
        assert_eq!(
            digest(DigestAlg::Sha256, b"abc")[..4],
            [0xba, 0x78, 0x16, 0xbf]
        );
    }

    #[test]
    fn digest_fields_round_trip() {
        for alg in [
            DigestAlg::Md5OldFormat,
            DigestAlg::Md5,
            DigestAlg::Sha1,
            DigestAlg::Sha256,
        ] {
            let d = digest(alg, b"request");
            let mut out = Vec::new();
            alg.put(&mut out, &d);
            let mut r = Reader::new(&out);
            assert_eq!(DigestAlg::read(&mut r).unwrap(), (alg, &d[..]));
            r.finish().unwrap();
        }
    }

    #[test]
    fn versions_pick_algorithms() {
        assert_eq!(
            DigestAlg::for_version(Version {
                major: 2,
                minor: 10
            }),
            DigestAlg::Sha256
        );
        assert_eq!(
            DigestAlg::for_version(Version { major: 2, minor: 3 }),
            DigestAlg::Sha1
        );
        assert_eq!(
            DigestAlg::for_version(Version { major: 2, minor: 0 }),
            DigestAlg::Md5OldFormat
        );
    }
}
