//! Bearer tokens of the SNMS-compatible API: only their SHA-256 is stored.

/// A token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token (the token itself is never stored).
    pub hash: Vec<u8>,
    /// The identity handle whose secret issued it.
    pub handle: String,
    /// The index of that secret's value.
    pub index: u32,
    /// A digest of the stored secret hash it was issued under: when the secret changes, the
    /// digest no longer matches and the token is void.
    pub secret_tag: Vec<u8>,
    /// Issue time, unix ms.
    pub created_at: i64,
    /// Expiry, unix ms.
    pub expires_at: i64,
    /// The client address a web console session is bound to (`None`: any address may
    /// present the token, as the API's bearer tokens are).
    pub client: Option<String>,
}

/// A write to tokens, applied inside a batch ([`crate::Op::Token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOp {
    /// Stores a new token and deletes every token expired by the batch's time.
    Issue(TokenRecord),
    /// Deletes a token (by its hash); deleting an unknown one is no error.
    Revoke {
        /// SHA-256 of the token.
        hash: Vec<u8>,
    },
}
