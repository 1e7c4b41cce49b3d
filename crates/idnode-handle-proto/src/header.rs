//! The 24-byte message header and the protocol's numeric constants.

use crate::{ProtoError, HEADER_LEN};
use idnode_core::wire::{put_u32, Reader};

/// Operation codes.
pub mod op {
    /// Resolve a handle.
    pub const RESOLUTION: u32 = 1;
    /// Ask for the server's site information.
    pub const GET_SITE_INFO: u32 = 2;
    /// Create a handle.
    pub const CREATE_HANDLE: u32 = 100;
    /// Delete a handle.
    pub const DELETE_HANDLE: u32 = 101;
    /// Add values.
    pub const ADD_VALUE: u32 = 102;
    /// Remove values.
    pub const REMOVE_VALUE: u32 = 103;
    /// Modify values.
    pub const MODIFY_VALUE: u32 = 104;
    /// List the handles under a prefix.
    pub const LIST_HANDLES: u32 = 105;
    /// Answer a challenge.
    pub const CHALLENGE_RESPONSE: u32 = 200;
    /// Ask a key's home server to verify a challenge answer.
    pub const VERIFY_RESPONSE: u32 = 201;
    /// Home a prefix on this server.
    pub const HOME_NA: u32 = 300;
    /// Unhome a prefix.
    pub const UNHOME_NA: u32 = 301;
    /// List the prefixes homed here.
    pub const LIST_HOMED_NAS: u32 = 302;
    /// Set up a session.
    pub const SESSION_SETUP: u32 = 400;
    /// End a session.
    pub const SESSION_TERMINATE: u32 = 401;
    /// Exchange a session key.
    pub const SESSION_EXCHANGEKEY: u32 = 402;
    /// National SDK: log in (resolution-shaped body).
    pub const LOGIN: u32 = 2000;
    /// National SDK: log in to the identifier system with a key (handle and index).
    pub const LOGIN_ID_SYSTEM: u32 = 2001;
}

/// Response codes.
pub mod rc {
    /// Request (no response code).
    pub const RESERVED: u32 = 0;
    /// Success.
    pub const SUCCESS: u32 = 1;
    /// Server error.
    pub const ERROR: u32 = 2;
    /// Busy.
    pub const SERVER_BUSY: u32 = 3;
    /// Malformed request.
    pub const PROTOCOL_ERROR: u32 = 4;
    /// Operation not supported.
    pub const OPERATION_NOT_SUPPORTED: u32 = 5;
    /// Recursion limit reached.
    pub const RECURSION_COUNT_TOO_HIGH: u32 = 6;
    /// Handle not found.
    pub const HANDLE_NOT_FOUND: u32 = 100;
    /// Handle already exists.
    pub const HANDLE_ALREADY_EXISTS: u32 = 101;
    /// Invalid handle.
    pub const INVALID_HANDLE: u32 = 102;
    /// Values not found.
    pub const VALUES_NOT_FOUND: u32 = 200;
    /// Value already exists.
    pub const VALUE_ALREADY_EXISTS: u32 = 201;
    /// Invalid value.
    pub const INVALID_VALUE: u32 = 202;
    /// Site info out of date.
    pub const OUT_OF_DATE_SITE_INFO: u32 = 300;
    /// This server is not responsible for the handle.
    pub const SERVER_NOT_RESP: u32 = 301;
    /// Ask another service.
    pub const SERVICE_REFERRAL: u32 = 302;
    /// Ask the site serving the prefix.
    pub const PREFIX_REFERRAL: u32 = 303;
    /// Invalid admin.
    pub const INVALID_ADMIN: u32 = 400;
    /// Insufficient permissions.
    pub const INSUFFICIENT_PERMISSIONS: u32 = 401;
    /// Authentication needed (the body carries the challenge).
    pub const AUTHENTICATION_NEEDED: u32 = 402;
    /// Authentication failed.
    pub const AUTHENTICATION_FAILED: u32 = 403;
    /// Invalid credential.
    pub const INVALID_CREDENTIAL: u32 = 404;
    /// Challenge unknown or expired.
    pub const AUTHEN_TIMEOUT: u32 = 405;
    /// Authentication error.
    pub const AUTHEN_ERROR: u32 = 406;
    /// National SDK: already logged in.
    pub const RELOGIN: u32 = 407;
    /// National SDK: log in first.
    pub const LOGIN_FIRST: u32 = 408;
    /// The session expired or is unknown.
    pub const SESSION_TIMEOUT: u32 = 500;
    /// The session could not be set up or used.
    pub const SESSION_FAILED: u32 = 501;
    /// The message's session MAC does not verify.
    pub const INVALID_SESSION_KEY: u32 = 502;
    /// The key exchange needs an RSA key.
    pub const NEED_RSAKEY_FOR_SESSIONEXCHANGE: u32 = 503;
    /// The session setup request is invalid.
    pub const INVALID_SESSIONSETUP_REQUEST: u32 = 504;
    /// A replayed session message (its counter was seen).
    pub const SESSION_MESSAGE_REJECTED: u32 = 505;
    /// National SDK: channel error.
    pub const CHANNEL_ERROR: u32 = 601;
    /// National SDK: timeout.
    pub const TIMEOUT: u32 = 602;
    /// National SDK: daily request limit reached.
    pub const DAILY_REQUEST_LIMIT: u32 = 603;
    /// National SDK: registration limit reached.
    pub const REGISTRATION_LIMIT: u32 = 604;
    /// National SDK: prefix limit reached.
    pub const PREFIX_LIMIT: u32 = 605;
}

/// Operation flags (header `opFlag`).
pub mod flags {
    /// Authoritative answer wanted.
    pub const AT: u32 = 0x8000_0000;
    /// Certified (signed) answer wanted.
    pub const CT: u32 = 0x4000_0000;
    /// Encrypted answer wanted.
    pub const ENC: u32 = 0x2000_0000;
    /// Recursion allowed.
    pub const REC: u32 = 0x1000_0000;
    /// Cache authentication.
    pub const CA: u32 = 0x0800_0000;
    /// Continuous (more messages follow).
    pub const CN: u32 = 0x0400_0000;
    /// Keep the TCP connection open.
    pub const KC: u32 = 0x0200_0000;
    /// Public values only.
    pub const PO: u32 = 0x0100_0000;
    /// Return the request digest.
    pub const RD: u32 = 0x0080_0000;
    /// Overwrite when the handle exists.
    pub const OW: u32 = 0x0040_0000;
    /// Mint a new suffix.
    pub const MINT: u32 = 0x0020_0000;
    /// Do not refer.
    pub const DNRF: u32 = 0x0010_0000;
}

/// The message header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Operation code ([`op`]).
    pub op_code: u32,
    /// Response code ([`rc`]; 0 in requests).
    pub response_code: u32,
    /// Operation flags ([`flags`]).
    pub op_flags: u32,
    /// Serial of the site info the client used.
    pub site_serial: u16,
    /// How many times the request was forwarded.
    pub recursion_count: u8,
    /// Unix time after which the message is stale.
    pub expiration: u32,
    /// Length of the body.
    pub body_len: u32,
}

impl Header {
    /// True when `flag` is set.
    pub fn has(&self, flag: u32) -> bool {
        self.op_flags & flag != 0
    }

    /// Reads a header from the first [`HEADER_LEN`] bytes.
    pub fn decode(buf: &[u8]) -> Result<Self, ProtoError> {
        let mut r = Reader::new(buf);
        let op_code = r.u32()?;
        let response_code = r.u32()?;
        let op_flags = r.u32()?;
        let site_serial = r.u16()?;
        let recursion_count = r.u8()?;
        let _reserved = r.u8()?;
        let expiration = r.u32()?;
        let body_len = r.u32()?;
        Ok(Self {
            op_code,
            response_code,
            op_flags,
            site_serial,
            recursion_count,
            expiration,
            body_len,
        })
    }

    /// Appends the 24 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(HEADER_LEN);
        put_u32(out, self.op_code);
        put_u32(out, self.response_code);
        put_u32(out, self.op_flags);
        out.extend_from_slice(&self.site_serial.to_be_bytes());
        out.push(self.recursion_count);
        out.push(0);
        put_u32(out, self.expiration);
        put_u32(out, self.body_len);
    }
}
