//! Who is asking: challenges (RC 402) and their answers, the national SDK's logins (per
//! session id, and per TCP connection), and the check of a challenge answer that the
//! Handle.Net REST sessions share.

use std::sync::Arc;

use idnode_core::Identifier;
use idnode_handle_proto::{digest, op, rc, Body, DigestAlg, Message, Request};
use idnode_registry::Principal;

use crate::challenge::Pending;
use crate::exchange::Exchange;
use crate::service::{write, Client, HandleService, Session};

/// The parts of a CHALLENGE_RESPONSE request.
pub(crate) struct ChallengeAnswer<'r> {
    /// `HS_PUBKEY` or `HS_SECKEY`.
    pub(crate) auth_type: &'r str,
    /// The identity's handle.
    pub(crate) admin: &'r str,
    /// The identity's index.
    pub(crate) index: u32,
    /// The signature or proof.
    pub(crate) response: &'r [u8],
}

impl HandleService {
    /// The identity a national SDK login established for this request: the connection's
    /// login (session id 0) or the session id's.
    pub(crate) fn login_of(
        &self,
        client: &Client,
        m: &Message<'_>,
        req: &Request<'_>,
    ) -> Result<Option<Principal>, (u32, &'static str)> {
        let login = matches!(req, Request::Login { .. } | Request::LoginIdSystem { .. });
        let principal = match m.envelope.session_id {
            0 => client.login.clone(),
            id => self
                .sessions
                .get(&(client.ip, id))
                .map(|s| s.principal.clone()),
        };
        match principal {
            Some(_) if login => Err((rc::RELOGIN, "this session is logged in already")),
            Some(p) => Ok(Some(p)),
            None if m.envelope.session_id != 0 && req.is_admin() => {
                Err((rc::LOGIN_FIRST, "unknown or expired session: log in again"))
            }
            None => Ok(None),
        }
    }

    /// Answers the exchange's request with a challenge, and keeps the request to answer
    /// once the challenge is met.
    pub(crate) fn challenge(&self, x: &mut Exchange<'_, '_>) {
        let m = x.m;
        let alg = DigestAlg::for_version(m.envelope.negotiated());
        let d = digest(alg, m.signed);
        let nonce = self.challenges.nonce();
        let session = self.challenges.insert(
            Pending {
                peer: x.peer,
                envelope: m.envelope,
                message: x.msg.to_vec(),
                nonce,
                digest: (alg, d.clone()),
            },
            m.envelope.session_id,
        );
        let mut reply = m.envelope.reply();
        reply.session_id = session;
        write(
            x.out,
            &reply,
            &m.header,
            rc::AUTHENTICATION_NEEDED,
            Some((alg, &d)),
            &Body::Challenge(&nonce),
        );
    }

    /// A challenge answer: checks it, establishes what it proves (a login, an
    /// authenticated protocol session), then answers the challenged request.
    pub(crate) async fn answer_challenge(
        &self,
        client: &mut Client,
        x: &mut Exchange<'_, '_>,
        answer: &ChallengeAnswer<'_>,
    ) {
        let (peer, session_id) = (x.peer, x.m.envelope.session_id);
        let Some(pending) = self.challenges.take(peer, session_id) else {
            return x.fail(rc::AUTHEN_TIMEOUT, "no such challenge: it expired, was answered already, or was sent to another client");
        };
        let principal = match self
            .verify_identity(
                answer.auth_type,
                answer.admin,
                answer.index,
                &pending.nonce,
                &pending.digest.1,
                answer.response,
            )
            .await
        {
            Ok(p) => p,
            Err((code, msg)) => return x.fail(code, &msg),
        };
        let Ok(orig) = Message::parse(pending.envelope, &pending.message) else {
            return x.fail(rc::ERROR, "the challenged request could not be re-read");
        };
        if let Some(s) = self.protocol_sessions.get(session_id) {
            // A challenge met inside a protocol session authenticates the session, when it
            // proves the identity the session was set up for (or the session named none).
            let proved = (
                Identifier::parse(answer.admin)
                    .map(|a| a.as_str().to_owned())
                    .ok(),
                answer.index,
            );
            let named = s.identity.clone().map(|(h, i)| (Some(h), i));
            if named.is_none_or(|n| n == proved) {
                s.authenticate(principal.clone());
            }
        }
        if matches!(orig.header.op_code, op::LOGIN | op::LOGIN_ID_SYSTEM) {
            // The connection is logged in, and the challenge's session id becomes the
            // logged-in session.
            client.login = Some(principal.clone());
            self.sessions.insert(
                (peer, session_id),
                Arc::new(Session {
                    principal: principal.clone(),
                }),
            );
        }
        let Ok(req) = Request::decode(orig.header.op_code, orig.body) else {
            return x.fail(rc::ERROR, "the challenged request could not be re-read");
        };
        // The challenged request is answered in the envelope of the answer.
        let mut original = Exchange {
            peer,
            m: &orig,
            msg: &pending.message,
            reply: x.reply,
            out: &mut *x.out,
        };
        self.dispatch(&mut original, req, Some(principal)).await;
    }

    /// Checks a challenge answer: `response` (an `HS_PUBKEY` signature or an `HS_SECKEY`
    /// proof, in the protocol's encoding) over `nonce ‖ digest` by the key at `index` of
    /// `admin`; returns the principal that identity acts as, or the Handle response code and
    /// message to refuse with. The Handle.Net REST session API checks its answers here too.
    pub async fn verify_identity(
        &self,
        auth_type: &str,
        admin: &str,
        index: u32,
        nonce: &[u8],
        digest: &[u8],
        response: &[u8],
    ) -> Result<Principal, (u32, String)> {
        let admin_id = Identifier::parse(admin).map_err(|e| (rc::INVALID_ADMIN, e.to_string()))?;
        match auth_type {
            "HS_PUBKEY" => {
                let key = self.public_key_of(admin_id.as_str(), index).await?;
                key.verify_answer(admin_id.as_str(), nonce, digest, response)
                    .map_err(|e| (rc::AUTHENTICATION_FAILED, e.to_string()))?;
            }
            "HS_SECKEY" => {
                let secret = self
                    .registry
                    .handle_secret(&admin_id, index)
                    .await
                    .map_err(|e| (rc::ERROR, e.to_string()))?
                    .ok_or((
                        rc::INVALID_ADMIN,
                        format!(
                            "no usable HS_SECKEY at index {index} of {admin_id} (a secret set \
                             before the node had a sealing key must be set again)"
                        ),
                    ))?;
                crate::keys::verify_secret_answer(&secret, nonce, digest, response)
                    .map_err(|e| (rc::AUTHENTICATION_FAILED, e.to_string()))?;
            }
            other => {
                return Err((
                    rc::AUTHEN_ERROR,
                    format!("unknown authentication type {other}"),
                ))
            }
        }
        self.registry
            .principal_of(format!("{index}:{admin_id}"), &admin_id)
            .await
            .map_err(|e| (rc::AUTHENTICATION_FAILED, e.to_string()))
    }
}
