//! The 20-byte message envelope and protocol version negotiation.

use crate::{ProtoError, ENVELOPE_LEN, HEADER_LEN, MAX_MESSAGE};
use idnode_core::wire::{put_u32, Reader};

/// A protocol version, compared as (major, minor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

/// The newest version this codec speaks.
pub const OUR_VERSION: Version = Version {
    major: 2,
    minor: 10,
};

/// Envelope flag: compressed.
const CP: u8 = 0x80;
/// Envelope flag: encrypted.
const EC: u8 = 0x40;
/// Envelope flag: truncated (one packet of several).
const TC: u8 = 0x20;

/// The envelope that precedes every message (and every UDP packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The version the message is encoded in.
    pub version: Version,
    /// The newest version the sender would like (2.3-form envelopes carry 2.10 here).
    pub suggested: Version,
    /// The body is compressed.
    pub compressed: bool,
    /// The body is encrypted.
    pub encrypted: bool,
    /// This packet is one of several (UDP).
    pub truncated: bool,
    /// Session id (0: none).
    pub session_id: u32,
    /// Request id, echoed in the response.
    pub request_id: u32,
    /// Packet index within a multi-packet UDP message.
    pub sequence: u32,
    /// Bytes of header, body and credential that follow.
    pub message_length: u32,
}

impl Envelope {
    /// Reads an envelope. Fails when fewer than 20 bytes are given, when the message length
    /// cannot hold a header or exceeds [`MAX_MESSAGE`], or when the version is not 2.x.
    pub fn decode(buf: &[u8]) -> Result<Self, ProtoError> {
        if buf.len() < ENVELOPE_LEN {
            return Err(ProtoError::Truncated("envelope"));
        }
        let mut r = Reader::new(&buf[..ENVELOPE_LEN]);
        let major = r.u8()?;
        let minor = r.u8()?;
        let flags = r.u8()?;
        let suggested_minor = r.u8()?;
        let session_id = r.u32()?;
        let request_id = r.u32()?;
        let sequence = r.u32()?;
        let message_length = r.u32()?;
        let version = Version { major, minor };
        if major != 2 {
            return Err(ProtoError::malformed(format!(
                "unsupported protocol version {major}.{minor}"
            )));
        }
        let suggested_major = flags & 0x03;
        let suggested = if suggested_major == 0 {
            version
        } else {
            Version {
                major: suggested_major,
                minor: suggested_minor,
            }
        };
        let len = message_length as usize;
        if len > MAX_MESSAGE {
            return Err(ProtoError::TooLarge(len));
        }
        if len < HEADER_LEN {
            return Err(ProtoError::malformed("message shorter than its header"));
        }
        Ok(Self {
            version,
            suggested,
            compressed: flags & CP != 0,
            encrypted: flags & EC != 0,
            truncated: flags & TC != 0,
            session_id,
            request_id,
            sequence,
            message_length,
        })
    }

    /// Appends the 20 envelope bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(ENVELOPE_LEN);
        out.push(self.version.major);
        out.push(self.version.minor);
        let mut flags = self.suggested.major & 0x03;
        if self.compressed {
            flags |= CP;
        }
        if self.encrypted {
            flags |= EC;
        }
        if self.truncated {
            flags |= TC;
        }
        out.push(flags);
        out.push(self.suggested.minor);
        put_u32(out, self.session_id);
        put_u32(out, self.request_id);
        put_u32(out, self.sequence);
        put_u32(out, self.message_length);
    }

    /// The version to answer in: the lower of ours and the one the client suggests (or
    /// speaks, when it suggests nothing newer).
    pub fn negotiated(&self) -> Version {
        OUR_VERSION.min(self.suggested.max(self.version))
    }

    /// An envelope at this node's protocol version ([`OUR_VERSION`], suggested too).
    pub fn ours(session_id: u32, request_id: u32) -> Self {
        Self {
            version: OUR_VERSION,
            suggested: OUR_VERSION,
            ..Self::request(session_id, request_id)
        }
    }

    /// The envelope of a request as CNRI and national SDK clients send it: version 2.3
    /// suggesting 2.10, lengths filled in by the encoder.
    pub fn request(session_id: u32, request_id: u32) -> Self {
        Self {
            version: Version { major: 2, minor: 3 },
            suggested: Version {
                major: 2,
                minor: 10,
            },
            compressed: false,
            encrypted: false,
            truncated: false,
            session_id,
            request_id,
            sequence: 0,
            message_length: 0,
        }
    }

    /// The envelope of a response to this request: same ids, negotiated version, our
    /// version suggested, lengths to be filled in by the encoder.
    pub fn reply(&self) -> Self {
        Self {
            version: self.negotiated(),
            suggested: OUR_VERSION,
            compressed: false,
            encrypted: false,
            truncated: false,
            session_id: self.session_id,
            request_id: self.request_id,
            sequence: 0,
            message_length: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(major: u8, minor: u8, flags: u8, sminor: u8) -> Vec<u8> {
        let mut b = vec![major, minor, flags, sminor];
        b.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 24]);
        b
    }

    #[test]
    fn a_2_3_envelope_suggesting_2_11_is_answered_in_2_10() {
        let e = Envelope::decode(&env(2, 3, 0x02, 11)).unwrap();
        assert_eq!(e.version, Version { major: 2, minor: 3 });
        assert_eq!(
            e.suggested,
            Version {
                major: 2,
                minor: 11
            }
        );
        assert_eq!(e.negotiated(), OUR_VERSION);
        assert_eq!(e.request_id, 9);
        assert_eq!(e.session_id, 7);
    }

    #[test]
    fn an_older_client_is_answered_in_its_version() {
        let e = Envelope::decode(&env(2, 1, 0, 0)).unwrap();
        assert_eq!(e.negotiated(), Version { major: 2, minor: 1 });
        let e = Envelope::decode(&env(2, 3, 0x02, 5)).unwrap();
        assert_eq!(e.negotiated(), Version { major: 2, minor: 5 });
    }

    #[test]
    fn bad_envelopes_are_refused() {
        assert!(Envelope::decode(&env(2, 3, 0, 0)[..19]).is_err());
        assert!(Envelope::decode(&env(5, 0, 0, 0)).is_err());
        let mut big = env(2, 10, 0, 0);
        big[16..20].copy_from_slice(&(300_000u32).to_be_bytes());
        assert_eq!(Envelope::decode(&big), Err(ProtoError::TooLarge(300_000)));
        let mut small = env(2, 10, 0, 0);
        small[16..20].copy_from_slice(&3u32.to_be_bytes());
        assert!(Envelope::decode(&small).is_err());
    }

    #[test]
    fn encode_decode_round_trip() {
        let e = Envelope::decode(&env(2, 3, 0x22, 10)).unwrap();
        assert!(e.truncated);
        let mut out = Vec::new();
        e.encode(&mut out);
        assert_eq!(Envelope::decode(&out).unwrap(), e);
    }
}
