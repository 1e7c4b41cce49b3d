//! Codes of the answer to a secret-key challenge: the first byte of the answer in a
//! CHALLENGE_RESPONSE to an `HS_SECKEY` challenge, naming how the answer was computed.

/// HMAC-SHA1 of nonce ‖ digest.
pub const HMAC_SHA1: u8 = 0x12;
/// HMAC-SHA256 of nonce ‖ digest.
pub const HMAC_SHA256: u8 = 0x13;
/// HMAC-SHA1 under a PBKDF2-HMAC-SHA1 key (CNRI clients' default from 2.7).
pub const PBKDF2_HMAC_SHA1: u8 = 0x22;
/// SHA-1 of secret ‖ nonce ‖ digest ‖ secret (protocol 2.1–2.6 clients).
pub const KEYED_SHA1: u8 = 2;
/// SHA-256 of secret ‖ nonce ‖ digest ‖ secret.
pub const KEYED_SHA256: u8 = 3;
