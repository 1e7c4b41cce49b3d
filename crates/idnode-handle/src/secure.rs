//! The protection layer of the Handle front end: protocol sessions (set up, key exchange,
//! terminate), the session MAC every session request carries, decryption of encrypted
//! requests, and, once the answer is written, its credential (the session's MAC, or the
//! server key's signature when the client asked for certified answers) and its encryption.

use std::sync::Arc;

use idnode_core::Identifier;
use idnode_handle_proto::session::{covered_bytes, encode_setup_answer, KeyExchange, SessionSetup};
use idnode_handle_proto::{
    flags, op, rc, Body, Credential, Envelope, Header, Message, ENVELOPE_LEN,
};

use idnode_resolver::{ResolveError, View};

use crate::exchange::Exchange;
use crate::keys::PublicKey;
use crate::server_key::SIGNATURE_HASH;
use crate::service::HandleService;
use crate::session::Session;

/// The session a request belongs to, once its MAC (if any) checked out.
pub(crate) struct InSession {
    pub(crate) session: Arc<Session>,
    /// Whether the request arrived encrypted (the answer is then encrypted too).
    pub(crate) encrypted: bool,
}

impl HandleService {
    /// Decrypts an encrypted request with its session's key. Errors are answered by the
    /// caller with the code given.
    pub(crate) fn decrypt_request(
        &self,
        env: &mut Envelope,
        msg: &[u8],
    ) -> Result<Vec<u8>, (u32, String)> {
        let Some(session) = self.protocol_sessions.get(env.session_id) else {
            return Err((
                rc::SESSION_TIMEOUT,
                "unknown or expired session: the message cannot be decrypted".into(),
            ));
        };
        let plain = session.decrypt(msg)?;
        env.encrypted = false;
        env.message_length = plain.len() as u32;
        Ok(plain)
    }

    /// The protocol session of request `m`, checking its MAC and counter. `Ok(None)`: the
    /// request is not in a protocol session (no session id, or a national SDK login id).
    pub(crate) fn session_of(
        &self,
        m: &Message<'_>,
        encrypted: bool,
    ) -> Result<Option<InSession>, (u32, String)> {
        let cred = m
            .credential
            .map(Credential::decode)
            .transpose()
            .map_err(|e| (rc::PROTOCOL_ERROR, e.to_string()))?;
        let Some(session) = self.protocol_sessions.get(m.envelope.session_id) else {
            if m.envelope.session_id != 0 && cred.as_ref().is_some_and(|c| c.kind == "HS_MAC") {
                // CNRI's client sets up a new session when it hears this.
                return Err((rc::SESSION_TIMEOUT, "unknown or expired session".into()));
            }
            return Ok(None);
        };
        match cred {
            Some(c) if c.kind == "HS_MAC" => {
                let covered = covered_bytes(&m.envelope, c.signer_index, m.signed);
                session.verify(&covered, c.signer_index, c.signature)?;
            }
            // Unsigned: the challenge answer (signed by its own key) and the key exchange
            // (the session has no key yet) are sent so by CNRI's client.
            _ if matches!(
                m.header.op_code,
                op::CHALLENGE_RESPONSE | op::SESSION_EXCHANGEKEY
            ) => {}
            _ => {
                return Err((
                    rc::INVALID_SESSION_KEY,
                    "messages of a session must carry the session's MAC".into(),
                ))
            }
        }
        Ok(Some(InSession { session, encrypted }))
    }

    /// SESSION_SETUP: agrees a session key, and answers with the session id in the envelope.
    pub(crate) async fn setup_session(&self, x: &mut Exchange<'_, '_>, setup: &SessionSetup<'_>) {
        if !self.answers.allow(x.peer) {
            return x.fail(
                rc::SERVER_BUSY,
                "too many session setups from this client; retry in a few seconds",
            );
        }
        let client_key = match setup.exchange {
            KeyExchange::CipherClient => match PublicKey::decode(setup.public_key) {
                Ok(k) => Some(k),
                Err(e) => return x.fail(rc::NEED_RSAKEY_FOR_SESSIONEXCHANGE, &e.to_string()),
            },
            KeyExchange::CipherHandle => {
                let (handle, index) = setup.key_ref.unwrap_or_default();
                match self.public_key_of(handle, index).await {
                    Ok(k) => Some(k),
                    Err((code, msg)) => return x.fail(code, &msg),
                }
            }
            _ => None,
        };
        let identity = (!setup.identity.is_empty()).then(|| {
            (
                Identifier::parse(setup.identity)
                    .map_or_else(|_| setup.identity.to_owned(), |i| i.as_str().to_owned()),
                setup.identity_index,
            )
        });
        let established = self.protocol_sessions.setup(
            setup.exchange,
            setup.public_key,
            client_key.as_ref(),
            self.server_key.as_deref(),
            identity,
            x.reply.version,
        );
        match established {
            Ok(e) => {
                x.reply.session_id = e.session.id;
                let mut body = Vec::new();
                encode_setup_answer(&mut body, setup.exchange, &e.data);
                x.ok(&Body::Raw(&body));
            }
            Err((code, msg)) => x.fail(code, &msg),
        }
    }

    /// SESSION_EXCHANGEKEY and SESSION_TERMINATE.
    pub(crate) fn session_step(
        &self,
        x: &mut Exchange<'_, '_>,
        in_session: Option<&InSession>,
        encrypted_key: Option<&[u8]>,
    ) {
        let Some(s) = in_session else {
            return x.fail(rc::SESSION_TIMEOUT, "unknown or expired session");
        };
        let result = match encrypted_key {
            Some(key) => {
                self.protocol_sessions
                    .exchange_key(&s.session, self.server_key.as_deref(), key)
            }
            None => {
                self.protocol_sessions.remove(s.session.id);
                Ok(())
            }
        };
        match result {
            Ok(()) => x.ok(&Body::Empty),
            Err((code, msg)) => x.fail(code, &msg),
        }
    }

    /// The `HS_PUBKEY` at `index` of `handle`.
    pub(crate) async fn public_key_of(
        &self,
        handle: &str,
        index: u32,
    ) -> Result<PublicKey, (u32, String)> {
        let id = Identifier::parse(handle).map_err(|e| (rc::INVALID_ADMIN, e.to_string()))?;
        // Read past the cache: a key removed a moment ago must not verify.
        let record = match self.resolver.resolve(&id, View::Admin, true).await {
            Ok(e) => e,
            Err(ResolveError::Store(e)) => return Err((rc::ERROR, e.public_message().to_owned())),
            Err(_) => return Err((rc::INVALID_ADMIN, format!("handle {id} not found"))),
        };
        let value = record
            .values()
            .into_iter()
            .find(|v| v.index == index && v.type_name == "HS_PUBKEY")
            .ok_or((
                rc::INVALID_ADMIN,
                format!("no HS_PUBKEY at index {index} of {id}"),
            ))?;
        PublicKey::decode(&value.data).map_err(|e| (rc::AUTHEN_ERROR, e.to_string()))
    }

    /// Adds credentials to, and encrypts, the answer messages written from `start` on:
    /// certified answers (CT) are signed with the session's MAC when the request was in a
    /// session with a key (except the setup and key exchange answers, which the client
    /// checks with the server key), otherwise with the server key; answers are encrypted when
    /// the request was encrypted or asked for it (ENC).
    pub(crate) fn seal(
        &self,
        out: &mut Vec<u8>,
        start: usize,
        request: &Header,
        in_session: Option<&InSession>,
    ) {
        let certify = request.op_flags & flags::CT != 0;
        let session = in_session.map(|s| &s.session).filter(|s| s.has_key());
        let encrypt = session.filter(|_| {
            in_session.is_some_and(|s| s.encrypted) || request.op_flags & flags::ENC != 0
        });
        if !certify && encrypt.is_none() {
            return;
        }
        let written = out.split_off(start);
        let mut at = 0;
        while at + ENVELOPE_LEN <= written.len() {
            let Ok(env) = Envelope::decode(&written[at..]) else {
                break;
            };
            let end = at + ENVELOPE_LEN + env.message_length as usize;
            let Some(msg) = written.get(at + ENVELOPE_LEN..end) else {
                break;
            };
            // Our writer ends every message with an empty credential.
            let header_and_body = &msg[..msg.len().saturating_sub(4)];
            let mut sealed = header_and_body.to_vec();
            let credential = certify.then(|| self.credential(&env, header_and_body, session));
            match credential.flatten() {
                Some(c) => {
                    sealed.extend_from_slice(&(c.len() as u32).to_be_bytes());
                    sealed.extend_from_slice(&c);
                }
                None => sealed.extend_from_slice(&[0; 4]),
            }
            let mut env = env;
            if let Some(ct) = encrypt.and_then(|s| s.encrypt(&sealed)) {
                sealed = ct;
                env.encrypted = true;
            }
            env.message_length = sealed.len() as u32;
            env.encode(out);
            out.extend_from_slice(&sealed);
            at = end;
        }
        out.extend_from_slice(&written[at.min(written.len())..]);
    }

    /// The credential of one answer message (`None`: nothing to sign with).
    fn credential(
        &self,
        env: &Envelope,
        header_and_body: &[u8],
        session: Option<&Arc<Session>>,
    ) -> Option<Vec<u8>> {
        let op_code = header_and_body
            .get(..4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let keyed =
            session.filter(|_| !matches!(op_code, op::SESSION_SETUP | op::SESSION_EXCHANGEKEY));
        let (kind, hash_alg, counter, signature): (&str, &[u8], u32, Vec<u8>) = match keyed {
            Some(s) => {
                let counter = s.next_counter();
                let mac = s.mac(&covered_bytes(env, counter, header_and_body))?;
                ("HS_MAC", b"HMAC-SHA256", counter, mac)
            }
            None => {
                let key = self.server_key.as_deref()?;
                let sig = key.sign(&covered_bytes(env, 0, header_and_body));
                ("HS_SIGNED", SIGNATURE_HASH, 0, sig)
            }
        };
        let mut c = Vec::new();
        Credential {
            version: 0,
            flags: 0,
            signer: "",
            signer_index: counter,
            kind,
            hash_alg,
            signature: &signature,
        }
        .encode(&mut c);
        Some(c)
    }
}
