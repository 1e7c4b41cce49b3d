//! The binary Handle protocol as a codec: bytes in, typed messages out, and back. No sockets,
//! no clocks, no tokio: front ends own the I/O and call into this crate.
//!
//! Decoding is two-phase. [`Envelope::decode`] reads the fixed 20-byte envelope and says how
//! many message bytes follow (the "incomplete" phase: a TCP reader waits for them);
//! [`Message::parse`] then splits header, body and credential, and [`Request::decode`] reads
//! the body of a request. Every failure is a [`ProtoError`], which maps to a Handle response
//! code (4, protocol error, for malformed bytes); nothing here panics on any input.
//!
//! [`auth_header`] reads the text form of a challenge answer (`Authorization: Handle` of the
//! Handle.Net REST API) into the bytes a CHALLENGE_RESPONSE carries, so both are checked by
//! the same code.

pub mod answer;
pub mod auth_header;
mod credential;
mod digest;
mod envelope;
mod error;
mod header;
mod message;
mod request;
mod response;
pub mod session;
pub mod udp;
mod value;

pub use credential::Credential;
pub use digest::{digest, DigestAlg};
pub use envelope::{Envelope, Version, OUR_VERSION};
pub use error::ProtoError;
pub use header::{flags, op, rc, Header};
pub use message::{encode_message, encode_message_into, Message};
pub use request::Request;
pub use response::{encode_response, Body, Decoded, Response};
pub use value::{decode_value, decode_values, encode_value, encode_values, value_len};

/// Bytes in an envelope.
pub const ENVELOPE_LEN: usize = 20;
/// Bytes in a message header.
pub const HEADER_LEN: usize = 24;
/// Largest message (header, body and credential) accepted or sent.
pub const MAX_MESSAGE: usize = 262_144;
/// Most values in one message.
pub const MAX_VALUES: usize = 2_048;
/// Message bytes carried by one UDP packet (512 with the envelope).
pub const UDP_DATA: usize = 492;
/// Largest UDP packet.
pub const UDP_PACKET: usize = ENVELOPE_LEN + UDP_DATA;
/// Length of the nonce in a challenge.
pub const NONCE_LEN: usize = 16;
