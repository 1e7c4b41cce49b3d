//! What the HTTP front end hands the Handle service: messages posted as
//! `application/x-hdl-message` (parsed here, once), and the node's site as Handle.Net's
//! `/api/site` JSON.

use std::net::IpAddr;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use idnode_core::SiteInfo;
use idnode_handle_proto::{Envelope, ProtoError, ENVELOPE_LEN, MAX_MESSAGE};
use serde_json::{json, Value};

use crate::keys::PublicKey;
use crate::{Client, HandleService};

/// Largest body posted (one envelope and one message).
pub const MAX_POSTED: usize = ENVELOPE_LEN + MAX_MESSAGE;

/// A server key as Handle.Net writes it in site JSON: a JWK for RSA keys, else base64.
fn key_json(data: &[u8]) -> Value {
    match PublicKey::decode(data) {
        Ok(PublicKey::Rsa { e, n }) => json!({
            "format": "key",
            "value": {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)},
        }),
        _ => json!({"format": "base64", "value": STANDARD.encode(data)}),
    }
}

impl HandleService {
    /// The answer (envelope and message) to one posted body from `ip`: the envelope and
    /// message as received, `None` when it exceeded [`MAX_POSTED`].
    pub async fn answer_posted(&self, ip: IpAddr, body: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        let Some(body) = body else {
            self.reject(&[], &ProtoError::TooLarge(MAX_POSTED + 1), &mut out);
            return out;
        };
        let env = match Envelope::decode(body) {
            Ok(e) => e,
            Err(e) => {
                self.reject(body, &e, &mut out);
                return out;
            }
        };
        let msg = &body[ENVELOPE_LEN..];
        if msg.len() != env.message_length as usize {
            let e = ProtoError::Truncated("body length differs from the envelope");
            self.reject(body, &e, &mut out);
            return out;
        }
        if !self.answer_cached(ip, &env, msg, &mut out) {
            self.answer(&mut Client::new(ip), env, msg, &mut out).await;
        }
        out
    }

    /// This node's `HS_SITE` as `GET /api/site` shows it (`site` of Handle.Net's answer),
    /// server keys as JWKs where they are RSA.
    pub fn site_json(&self) -> Result<Value, String> {
        let info = SiteInfo::decode(self.site()).map_err(|e| e.to_string())?;
        let mut site = serde_json::to_value(info.to_json()).map_err(|e| e.to_string())?;
        if let Some(servers) = site.get_mut("servers").and_then(Value::as_array_mut) {
            for (json, server) in servers.iter_mut().zip(&info.servers) {
                json["publicKey"] = key_json(&server.public_key);
            }
        }
        Ok(site)
    }
}
