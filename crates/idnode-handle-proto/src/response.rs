//! Response bodies: encoded by servers from borrowed parts, decoded by clients.

use idnode_core::HandleValue;

use crate::value::read_values;
use crate::{encode_message_into, flags, op, rc, DigestAlg, Envelope, Header, Message, ProtoError};
use idnode_core::wire::{put_blob, put_u32, Reader};

/// A response body to encode. Values arrive pre-encoded (a u32 count and the values), so a
/// cache can keep them ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// No body (delete, add/remove/modify value, home/unhome, login).
    Empty,
    /// Resolution: the handle and the encoded values.
    Values {
        /// The handle.
        handle: &'a str,
        /// A u32 count and the encoded values.
        values: &'a [u8],
    },
    /// Site information: an encoded `HS_SITE`.
    SiteInfo(&'a [u8]),
    /// Create: the created (possibly minted) handle.
    Handle(&'a str),
    /// List handles / list homed prefixes.
    Handles(&'a [String]),
    /// Challenge (402): the nonce.
    Challenge(&'a [u8]),
    /// Verify response: whether the answer is valid.
    Verify(bool),
    /// Errors: a message.
    Error(&'a str),
    /// A body encoded by the caller (e.g. a session setup answer).
    Raw(&'a [u8]),
    /// Service (302) or prefix (303) referral: handle and encoded values.
    Referral {
        /// The handle asked for.
        handle: &'a str,
        /// A u32 count and the encoded site values.
        values: &'a [u8],
    },
}

impl Body<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Self::Empty => {}
            Self::Values { handle, values } | Self::Referral { handle, values } => {
                put_blob(out, handle.as_bytes());
                out.extend_from_slice(values);
            }
            Self::SiteInfo(b) => out.extend_from_slice(b),
            Self::Handle(h) => put_blob(out, h.as_bytes()),
            Self::Handles(hs) => {
                put_u32(out, hs.len() as u32);
                hs.iter().for_each(|h| put_blob(out, h.as_bytes()));
            }
            Self::Challenge(nonce) => put_blob(out, nonce),
            Self::Verify(ok) => out.push(u8::from(ok)),
            Self::Error(m) => put_blob(out, m.as_bytes()),
            Self::Raw(b) => out.extend_from_slice(b),
        }
    }
}

/// Appends a whole response message: `envelope` (already the reply envelope), `header`
/// (op code, response code, flags; `RD` is set when a digest is given), the digest and the
/// body. Expiration and body length are taken from `header` and the body.
pub fn encode_response(
    out: &mut Vec<u8>,
    envelope: &Envelope,
    header: &Header,
    digest: Option<(DigestAlg, &[u8])>,
    body: &Body<'_>,
) {
    let mut b = Vec::with_capacity(64);
    let mut header = *header;
    if let Some((alg, d)) = digest {
        alg.put(&mut b, d);
        header.op_flags |= flags::RD;
    } else {
        header.op_flags &= !flags::RD;
    }
    body.encode(&mut b);
    encode_message_into(out, envelope, &header, &b);
}

/// A decoded response (the client side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The request digest, when the server returned one.
    pub digest: Option<(DigestAlg, &'a [u8])>,
    /// The body.
    pub body: Decoded<'a>,
}

/// A decoded response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// No body.
    Empty,
    /// Resolution (or referral) values.
    Values {
        /// The handle.
        handle: &'a str,
        /// The values.
        values: Vec<HandleValue>,
    },
    /// Encoded `HS_SITE`.
    SiteInfo(&'a [u8]),
    /// A created handle.
    Handle(&'a str),
    /// Listed handles or prefixes.
    Handles(Vec<&'a str>),
    /// A challenge nonce.
    Challenge(&'a [u8]),
    /// A verification result.
    Verify(bool),
    /// An error message.
    Error(&'a str),
    /// A session setup answer: the key exchange mode and its data.
    SessionSetup {
        /// The key exchange mode.
        mode: u16,
        /// The mode's data.
        data: &'a [u8],
    },
}

impl<'a> Response<'a> {
    /// Decodes the body of response `m`.
    pub fn decode(m: &Message<'a>) -> Result<Self, ProtoError> {
        let mut r = Reader::new(m.body);
        let digest = if m.header.has(flags::RD) {
            Some(DigestAlg::read(&mut r)?)
        } else {
            None
        };
        let body = match (m.header.response_code, m.header.op_code) {
            (rc::SUCCESS, op::RESOLUTION | op::LOGIN)
            | (rc::SERVICE_REFERRAL | rc::PREFIX_REFERRAL, _) => Decoded::Values {
                handle: r.str()?,
                values: read_values(&mut r)?,
            },
            (rc::SUCCESS, op::GET_SITE_INFO) => Decoded::SiteInfo(r.rest()),
            (rc::SUCCESS, op::CREATE_HANDLE) if r.remaining() > 0 => Decoded::Handle(r.str()?),
            (rc::SUCCESS, op::LIST_HANDLES | op::LIST_HOMED_NAS) => {
                let n = r.count(4)?;
                Decoded::Handles((0..n).map(|_| r.str()).collect::<Result<_, _>>()?)
            }
            (rc::SUCCESS, op::VERIFY_RESPONSE) => Decoded::Verify(r.u8()? != 0),
            (rc::SUCCESS, op::SESSION_SETUP) => {
                let (mode, data) = crate::session::decode_setup_answer(r.rest())?;
                Decoded::SessionSetup { mode, data }
            }
            (rc::SUCCESS, _) => Decoded::Empty,
            (rc::AUTHENTICATION_NEEDED, _) => Decoded::Challenge(r.blob()?),
            _ if r.remaining() == 0 => Decoded::Error(""),
            _ => Decoded::Error(r.str()?),
        };
        r.finish()?;
        Ok(Self { digest, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode_values;

    fn env() -> Envelope {
        Envelope::ours(0, 1)
    }

    fn round_trip(
        op_code: u32,
        code: u32,
        digest: Option<(DigestAlg, &[u8])>,
        body: Body<'_>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let h = Header {
            op_code,
            response_code: code,
            ..Header::default()
        };
        encode_response(&mut out, &env(), &h, digest, &body);
        out
    }

    #[test]
    fn every_body_round_trips() {
        let values = vec![HandleValue::text(1, "URL", "https://example.com")];
        let mut enc = Vec::new();
        encode_values(&mut enc, values.iter());
        let d = [7u8; 32];
        let bytes = round_trip(
            op::RESOLUTION,
            rc::SUCCESS,
            Some((DigestAlg::Sha256, &d)),
            Body::Values {
                handle: "88.118.8/x",
                values: &enc,
            },
        );
        let m = Message::from_bytes(&bytes).unwrap();
        let r = Response::decode(&m).unwrap();
        assert_eq!(r.digest, Some((DigestAlg::Sha256, &d[..])));
        assert_eq!(
            r.body,
            Decoded::Values {
                handle: "88.118.8/x",
                values
            }
        );

        let handles = vec!["88.118.8/a".to_owned(), "88.118.8/b".to_owned()];
        let cases: Vec<(u32, u32, Body<'_>, Decoded<'_>)> = vec![
            (op::DELETE_HANDLE, rc::SUCCESS, Body::Empty, Decoded::Empty),
            (
                op::GET_SITE_INFO,
                rc::SUCCESS,
                Body::SiteInfo(b"site"),
                Decoded::SiteInfo(b"site"),
            ),
            (
                op::CREATE_HANDLE,
                rc::SUCCESS,
                Body::Handle("88.118.8/m"),
                Decoded::Handle("88.118.8/m"),
            ),
            (
                op::LIST_HANDLES,
                rc::SUCCESS,
                Body::Handles(&handles),
                Decoded::Handles(vec!["88.118.8/a", "88.118.8/b"]),
            ),
            (
                op::DELETE_HANDLE,
                rc::AUTHENTICATION_NEEDED,
                Body::Challenge(&[1; 16]),
                Decoded::Challenge(&[1; 16]),
            ),
            (
                op::VERIFY_RESPONSE,
                rc::SUCCESS,
                Body::Verify(true),
                Decoded::Verify(true),
            ),
            (
                op::RESOLUTION,
                rc::HANDLE_NOT_FOUND,
                Body::Error("not found"),
                Decoded::Error("not found"),
            ),
        ];
        for (o, c, body, want) in cases {
            let bytes = round_trip(o, c, None, body);
            let m = Message::from_bytes(&bytes).unwrap();
            assert_eq!(Response::decode(&m).unwrap().body, want, "op {o} rc {c}");
        }
    }
}
