//! The Handle service as the HTTP front end's [`HandleEndpoint`]: posted
//! `application/x-hdl-message` bodies, REST session proofs and `/api/site` go to the same
//! service as the Handle TCP and UDP front ends.

use std::net::IpAddr;
use std::sync::Arc;

use idnode_handle::HandleService;
use idnode_http::{HandleEndpoint, Proof};
use idnode_registry::Principal;

/// [`HandleService`] behind the HTTP front end.
pub(crate) struct HandleOverHttp(pub(crate) Arc<HandleService>);

#[async_trait::async_trait]
impl HandleEndpoint for HandleOverHttp {
    fn max_posted(&self) -> usize {
        idnode_handle::MAX_POSTED
    }

    async fn message(&self, ip: IpAddr, body: Option<&[u8]>) -> Vec<u8> {
        self.0.answer_posted(ip, body).await
    }

    fn allow_answer(&self, ip: IpAddr) -> bool {
        self.0.allow_answer(ip)
    }

    async fn verify_identity(&self, p: Proof<'_>) -> Result<Principal, String> {
        self.0
            .verify_identity(p.kind, p.handle, p.index, p.nonce, p.cnonce, p.answer)
            .await
            .map_err(|(_, message)| message)
    }

    fn site_json(&self) -> Result<serde_json::Value, String> {
        self.0.site_json()
    }

    fn public_key_value(&self, upload: &[u8]) -> Result<Vec<u8>, String> {
        idnode_handle::keys::PublicKey::from_upload(upload)
            .map(|k| k.encode())
            .map_err(|e| e.to_string())
    }
}
