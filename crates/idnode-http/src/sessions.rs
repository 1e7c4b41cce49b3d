//! The Handle.Net REST session API (`/api/sessions`), as Handle.Net 9 serves it and CNRI's
//! clients use it: `POST /api/sessions` opens a session with a server nonce; `PUT
//! /api/sessions/this` with `Authorization: Handle sessionId="…", id="300:…", type="HS_PUBKEY"
//! | "HS_SECKEY", cnonce="…", alg="…", signature="…"` proves an identity by signing
//! `nonce ‖ cnonce` (the Handle challenge–response, checked by the Handle service); every
//! other call then authenticates with `Authorization: Handle sessionId="…"`. `GET` shows the
//! session, `DELETE` ends it; idle sessions expire.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use idnode_handle_proto::auth_header::{answer_bytes, HandleAuth};
use idnode_registry::Principal;
use moka::sync::Cache;
use ring::rand::{SecureRandom as _, SystemRandom};
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::endpoint::Proof;
use crate::AppState;

/// One REST session.
pub(crate) struct RestSession {
    id: String,
    nonce: [u8; 16],
    /// The identity proved in the session, and the `index:handle` it was proved as.
    proved: Mutex<Option<(Principal, String)>>,
}

/// Sessions one client address may open per second (bursts of three seconds' worth): a
/// client opens one and keeps it, so only a flood meets this.
const OPENS_PER_SECOND: u32 = 10;

/// The open REST sessions.
pub(crate) struct RestSessions {
    table: Cache<String, Arc<RestSession>>,
    opens: idnode_ratelimit::ClientLimiter,
}

impl RestSessions {
    pub(crate) fn new(idle: Duration) -> Self {
        Self {
            table: Cache::builder()
                .time_to_idle(idle)
                .max_capacity(100_000)
                .build(),
            opens: idnode_ratelimit::ClientLimiter::per_second(OPENS_PER_SECOND),
        }
    }

    fn open(&self) -> Arc<RestSession> {
        let rng = SystemRandom::new();
        let mut id = [0u8; 18];
        let mut nonce = [0u8; 16];
        rng.fill(&mut id).expect("the system random source works");
        rng.fill(&mut nonce)
            .expect("the system random source works");
        let s = Arc::new(RestSession {
            id: URL_SAFE_NO_PAD.encode(id),
            nonce,
            proved: Mutex::new(None),
        });
        self.table.insert(s.id.clone(), s.clone());
        s
    }
}

/// The identity proved in REST session `id` (the principal, and `index:handle`), if any.
pub(crate) fn proved_in(state: &AppState, id: &str) -> Option<(Principal, String)> {
    let session = state.0.rest_sessions.table.get(id)?;
    let proved = session.proved.lock().ok()?.clone();
    proved
}

/// Why a request's Handle authorization was refused.
pub(crate) enum Refusal {
    /// The session id names no open session (or it expired): 401 on Handle.Net.
    UnknownSession,
    /// The proof did not verify: 401 with the reason.
    NotVerified(String),
    /// Too many proofs from this client address (the Handle service's limit on challenge
    /// answers): 429.
    Limited,
}

/// Proves the header's identity in `session`.
async fn prove(
    state: &AppState,
    session: &RestSession,
    a: &HandleAuth,
    ip: Option<IpAddr>,
) -> Result<(), Refusal> {
    let refuse = |m: &str| Refusal::NotVerified(m.to_owned());
    if a.version.as_deref().is_some_and(|v| v != "0") {
        return Err(refuse("Unknown version in Authorization: Handle"));
    }
    let id =
        a.id.as_deref()
            .ok_or_else(|| refuse("Missing fields in authentication data"))?;
    let cnonce = a
        .cnonce
        .as_deref()
        .and_then(|c| STANDARD.decode(c).ok())
        .ok_or_else(|| refuse("Missing fields in authentication data"))?;
    let (kind, answer) = answer_bytes(a).map_err(Refusal::NotVerified)?;
    let (index, handle) = id
        .split_once(':')
        .and_then(|(i, h)| Some((i.parse::<u32>().ok()?, h)))
        .ok_or_else(|| refuse("id must be index:handle"))?;
    let Some(service) = state.0.handle.as_ref() else {
        return Err(refuse("this node does not verify Handle signatures"));
    };
    if !service.allow_answer(ip.unwrap_or(IpAddr::from([0, 0, 0, 0]))) {
        return Err(Refusal::Limited);
    }
    let principal = service
        .verify_identity(Proof {
            kind: &kind,
            handle,
            index,
            nonce: &session.nonce,
            cnonce: &cnonce,
            answer: &answer,
        })
        .await
        .map_err(|m| Refusal::NotVerified(format!("Identity not verified: {m}")))?;
    *session.proved.lock().expect("session lock") = Some((principal, format!("{index}:{handle}")));
    Ok(())
}

/// The principal of `Authorization: Handle …` on any route: the session's proven identity
/// (anonymous while it has none), after proving the one the header carries, if any.
pub(crate) async fn principal(
    state: &AppState,
    value: &str,
    ip: Option<IpAddr>,
) -> Result<Principal, Refusal> {
    let a = HandleAuth::parse(value).ok_or(Refusal::UnknownSession)?;
    let session = a
        .session_id
        .as_deref()
        .and_then(|id| state.0.rest_sessions.table.get(id))
        .ok_or(Refusal::UnknownSession)?;
    if a.is_authenticating() {
        prove(state, &session, &a, ip).await?;
    }
    let proved = session.proved.lock().expect("session lock").clone();
    Ok(proved.map_or(Principal::Anonymous, |(p, _)| p))
}

fn representation(s: &RestSession, error: Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("sessionId".into(), json!(s.id));
    m.insert("nonce".into(), json!(STANDARD.encode(s.nonce)));
    if let Some((_, id)) = s.proved.lock().expect("session lock").as_ref() {
        m.insert("authenticated".into(), json!(true));
        m.insert("id".into(), json!(id));
    }
    if let Some(e) = error {
        m.insert("error".into(), json!(e));
    }
    Value::Object(m)
}

fn header_auth(headers: &HeaderMap) -> Option<HandleAuth> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(HandleAuth::parse)
}

/// `POST /api/sessions`: a new session (201, `Location: /api/sessions/this`). A request that
/// names a session already is refused (400), as on Handle.Net; a client opening more than
/// `OPENS_PER_SECOND` a second gets 429.
pub(crate) async fn create(State(state): State<AppState>, caller: Caller) -> Response {
    let auth = header_auth(&caller.headers);
    if auth.as_ref().is_some_and(|a| a.session_id.is_some()) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let ip = caller.ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if !state.0.rest_sessions.opens.allow(ip) {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let s = state.0.rest_sessions.open();
    (
        StatusCode::CREATED,
        [(header::LOCATION, "/api/sessions/this")],
        Json(representation(&s, None)),
    )
        .into_response()
}

/// The session a `/api/sessions/this` request names (`None`: answer 403, as Handle.Net
/// does).
fn this(state: &AppState, headers: &HeaderMap) -> Option<(Arc<RestSession>, HandleAuth)> {
    let auth = header_auth(headers).unwrap_or_default();
    auth.session_id
        .as_deref()
        .and_then(|id| state.0.rest_sessions.table.get(id))
        .map(|s| (s, auth))
}

/// `PUT /api/sessions/this` (or `POST`): proves an identity in the session; 200 with the
/// session, or 401 with the reason.
pub(crate) async fn authenticate(State(state): State<AppState>, caller: Caller) -> Response {
    let Some((s, auth)) = this(&state, &caller.headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    if !auth.is_authenticating() {
        return (StatusCode::OK, Json(representation(&s, None))).into_response();
    }
    match prove(&state, &s, &auth, caller.ip).await {
        Ok(()) => (StatusCode::OK, Json(representation(&s, None))).into_response(),
        Err(Refusal::NotVerified(e)) => {
            (StatusCode::UNAUTHORIZED, Json(representation(&s, Some(e)))).into_response()
        }
        Err(Refusal::UnknownSession) => StatusCode::FORBIDDEN.into_response(),
        Err(Refusal::Limited) => StatusCode::TOO_MANY_REQUESTS.into_response(),
    }
}

/// `GET /api/sessions/this`: the session and the identity proved in it.
pub(crate) async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match this(&state, &headers) {
        Some((s, _)) => (StatusCode::OK, Json(representation(&s, None))).into_response(),
        None if header_auth(&headers).is_none() => {
            (StatusCode::OK, Json(json!({"authenticated": false}))).into_response()
        }
        None => StatusCode::FORBIDDEN.into_response(),
    }
}

/// `DELETE /api/sessions/this`: ends the session (204; 403 when there is none).
pub(crate) async fn end(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match this(&state, &headers) {
        Some((s, _)) => {
            state.0.rest_sessions.table.invalidate(&s.id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::FORBIDDEN.into_response(),
    }
}
