//! The handler object behind `application/x-hdl-message` posts, the proofs of REST
//! sessions and `/api/site`: what the HTTP front end asks of the Handle protocol service.
//! The wiring supplies it (the `idnode` binary adapts `idnode_handle::HandleService`), so
//! this crate does not depend on the Handle front end.

use std::net::IpAddr;

use idnode_registry::Principal;

/// A proof of identity in a REST session: `answer`, of type `kind` (`HS_PUBKEY` /
/// `HS_SECKEY`, encoded as in a Handle CHALLENGE_RESPONSE), to the challenge of the
/// session's `nonce` and the client's `cnonce`, for the identity `index:handle`.
#[derive(Debug, Clone, Copy)]
pub struct Proof<'a> {
    /// `HS_PUBKEY` or `HS_SECKEY`.
    pub kind: &'a str,
    /// The identity's handle.
    pub handle: &'a str,
    /// The identity's index.
    pub index: u32,
    /// The session's nonce.
    pub nonce: &'a [u8],
    /// The client's nonce.
    pub cnonce: &'a [u8],
    /// The answer.
    pub answer: &'a [u8],
}

/// The Handle protocol service, as the HTTP front end uses it.
#[async_trait::async_trait]
pub trait HandleEndpoint: Send + Sync {
    /// Largest body accepted in a post (one envelope and one message).
    fn max_posted(&self) -> usize;

    /// The answer (envelope and message) to one Handle message posted from `ip`: `body`
    /// is the envelope and message as received, `None` when it exceeded
    /// [`HandleEndpoint::max_posted`].
    async fn message(&self, ip: IpAddr, body: Option<&[u8]>) -> Vec<u8>;

    /// Whether `ip` may answer another challenge now.
    fn allow_answer(&self, ip: IpAddr) -> bool;

    /// Checks a REST session's proof of identity: the principal proven, or why not.
    async fn verify_identity(&self, proof: Proof<'_>) -> Result<Principal, String>;

    /// This node's `HS_SITE` as `GET /api/site` shows it.
    fn site_json(&self) -> Result<serde_json::Value, String>;

    /// The `HS_PUBKEY` value data of an uploaded public key (the Handle binary form, or a
    /// PEM `PUBLIC KEY`), or why it is refused.
    fn public_key_value(&self, upload: &[u8]) -> Result<Vec<u8>, String>;
}
