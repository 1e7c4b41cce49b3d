//! A whole message: envelope, header, body and optional credential.

use crate::{Envelope, Header, ProtoError, ENVELOPE_LEN, HEADER_LEN, MAX_MESSAGE};
use idnode_core::wire::{put_u32, Reader};

/// A message split into its parts; the body is still bytes (see [`crate::Request::decode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The envelope.
    pub envelope: Envelope,
    /// The header.
    pub header: Header,
    /// The body bytes.
    pub body: &'a [u8],
    /// The credential bytes, when the sender signed the message.
    pub credential: Option<&'a [u8]>,
    /// Header and body: the bytes a request digest covers.
    pub signed: &'a [u8],
}

impl<'a> Message<'a> {
    /// Splits the `envelope.message_length` bytes that follow an envelope.
    pub fn parse(envelope: Envelope, msg: &'a [u8]) -> Result<Self, ProtoError> {
        if msg.len() != envelope.message_length as usize {
            return Err(ProtoError::malformed(
                "message length does not match the envelope",
            ));
        }
        if envelope.compressed || envelope.encrypted {
            return Err(ProtoError::Unsupported(0));
        }
        let header = Header::decode(msg)?;
        let body_end = HEADER_LEN
            .checked_add(header.body_len as usize)
            .filter(|e| *e <= msg.len())
            .ok_or(ProtoError::Truncated("body longer than the message"))?;
        let mut rest = Reader::new(&msg[body_end..]);
        let credential = match rest.remaining() {
            0 => None,
            _ => {
                let c = rest.blob()?;
                rest.finish()?;
                (!c.is_empty()).then_some(c)
            }
        };
        Ok(Self {
            envelope,
            header,
            body: &msg[HEADER_LEN..body_end],
            credential,
            signed: &msg[..body_end],
        })
    }

    /// Parses a complete single-packet message (envelope included), e.g. one UDP datagram.
    pub fn from_bytes(buf: &'a [u8]) -> Result<Self, ProtoError> {
        let envelope = Envelope::decode(buf)?;
        Self::parse(envelope, &buf[ENVELOPE_LEN..])
    }
}

/// Encodes envelope, header (with `body_len` set) and body, followed by an empty credential.
/// `envelope.message_length` is filled in.
pub fn encode_message(envelope: &Envelope, header: &Header, body: &[u8]) -> Vec<u8> {
    let len = HEADER_LEN + body.len() + 4;
    let mut out = Vec::with_capacity(ENVELOPE_LEN + len);
    encode_message_into(&mut out, envelope, header, body);
    out
}

/// [`encode_message`] appending to `out`.
pub fn encode_message_into(out: &mut Vec<u8>, envelope: &Envelope, header: &Header, body: &[u8]) {
    let len = HEADER_LEN + body.len() + 4;
    debug_assert!(len <= MAX_MESSAGE + HEADER_LEN + 4);
    Envelope {
        message_length: len as u32,
        ..*envelope
    }
    .encode(out);
    Header {
        body_len: body.len() as u32,
        ..*header
    }
    .encode(out);
    out.extend_from_slice(body);
    put_u32(out, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op;

    fn env() -> Envelope {
        Envelope::ours(0, 42)
    }

    #[test]
    fn messages_split_into_parts() {
        let h = Header {
            op_code: op::RESOLUTION,
            ..Header::default()
        };
        let bytes = encode_message(&env(), &h, b"body");
        let m = Message::from_bytes(&bytes).unwrap();
        assert_eq!(m.body, b"body");
        assert_eq!(m.header.op_code, 1);
        assert_eq!(m.envelope.request_id, 42);
        assert_eq!(m.credential, None);
        assert_eq!(m.signed.len(), HEADER_LEN + 4);
    }

    #[test]
    fn inconsistent_lengths_are_refused() {
        let h = Header::default();
        let mut bytes = encode_message(&env(), &h, b"body");
        // body length larger than the message
        bytes[ENVELOPE_LEN + 20..ENVELOPE_LEN + 24].copy_from_slice(&100u32.to_be_bytes());
        assert!(Message::from_bytes(&bytes).is_err());
        let bytes = encode_message(&env(), &h, b"body");
        assert!(Message::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        // a dangling credential length
        let mut bytes = encode_message(&env(), &h, b"body");
        let n = bytes.len();
        bytes[n - 1] = 9;
        assert!(Message::from_bytes(&bytes).is_err());
    }
}
