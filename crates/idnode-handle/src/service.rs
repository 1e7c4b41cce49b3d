//! What the Handle front end answers: one request message in, response messages out, through
//! the same resolver (cache) and registry (permissions, history) as the HTTP front end.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use idnode_core::{HandleValue, Identifier, SiteInfo};
use idnode_handle_proto::{
    digest, encode_response, encode_values, flags, op, rc, Body, DigestAlg, Envelope, Header,
    Message, ProtoError, Request, ENVELOPE_LEN,
};
use idnode_registry::{Principal, PutMode, Registry, RegistryError};
use idnode_resolver::{Entry, Meter, Outcome, ResolveError, Resolver, View};
use moka::sync::Cache;
use std::num::NonZeroU32;

use crate::challenge::Challenges;
use crate::referral::Referrals;
use crate::secure::InSession;
use crate::server_key::ServerKey;
use crate::session::Sessions;
use idnode_ratelimit::ClientLimiter;

/// Seconds a response stays valid (header `expirationTime`).
const RESPONSE_LIFETIME: u32 = 12 * 3600;
/// Handles per LIST_HANDLES message; longer lists continue in further messages (CN).
const LIST_CHUNK: u64 = 5_000;

/// Front-end settings.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// This node's site (answered to GET_SITE_INFO).
    pub site: SiteInfo,
    /// Known sites of prefixes served elsewhere (prefix referrals, RC 303).
    pub referrals: Vec<(String, SiteInfo)>,
    /// The top-level node's Handle service, asked for `0.NA/<prefix>` of prefixes served
    /// elsewhere that `referrals` does not name.
    pub toplevel: Option<std::net::SocketAddr>,
    /// Time allowed for each exchange with another server.
    pub upstream_timeout: Duration,
    /// How long a challenge may be answered.
    pub challenge_ttl: Duration,
    /// How long an idle login session (LOGIN / LOGIN_ID_SYSTEM) lasts.
    pub session_idle: Duration,
    /// Challenge answers one client address may send per second (signature checks cost).
    pub answers_per_second: u32,
    /// Requests one client address may send a day (national SDK RC 603 beyond); None: no
    /// limit.
    pub daily_requests_per_client: Option<NonZeroU32>,
    /// The node's server key: signs certified answers and receives session keys. Its public
    /// half belongs in `site`.
    pub server_key: Option<Arc<ServerKey>>,
}

/// A logged-in session (national SDK LOGIN / LOGIN_ID_SYSTEM), keyed by client address and
/// session id.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) principal: Principal,
}

/// The client a request came from: its address and, on a TCP connection, what the
/// connection has established. The national ID-SDK logs a channel in once (LOGIN_ID_SYSTEM)
/// and then sends its writes on the same connection with session id 0, so a login holds for
/// the rest of its connection.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) ip: IpAddr,
    pub(crate) login: Option<Principal>,
}

impl Client {
    /// A client at `ip` that has established nothing yet (a new connection, or one UDP
    /// datagram or HTTP request).
    pub fn new(ip: IpAddr) -> Self {
        Self { ip, login: None }
    }
}

/// The Handle protocol service shared by the TCP, UDP and HTTP transports.
pub struct HandleService {
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) site: Vec<u8>,
    pub(crate) referrals: Referrals,
    pub(crate) challenges: Challenges,
    pub(crate) sessions: Cache<(IpAddr, u32), Arc<Session>>,
    /// RFC 3652 sessions (SESSION_SETUP), by their id.
    pub(crate) protocol_sessions: Sessions,
    /// The node's server key (certified answers, server-cipher sessions).
    pub(crate) server_key: Option<Arc<ServerKey>>,
    pub(crate) answers: ClientLimiter,
    pub(crate) daily: Option<ClientLimiter>,
    pub(crate) meter: Meter,
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// Writes one response message for a request with header `req` to `out`.
pub(crate) fn write(
    out: &mut Vec<u8>,
    reply: &Envelope,
    req: &Header,
    code: u32,
    digest: Option<(DigestAlg, &[u8])>,
    body: &Body<'_>,
) {
    let header = Header {
        op_code: req.op_code,
        response_code: code,
        op_flags: flags::AT | (req.op_flags & (flags::KC | flags::PO | flags::CN)),
        site_serial: 0,
        recursion_count: 0,
        expiration: now().saturating_add(RESPONSE_LIFETIME),
        body_len: 0,
    };
    encode_response(out, reply, &header, digest, body);
}

/// The request digest, when the request asked for it (RD).
pub(crate) fn request_digest(m: &Message<'_>) -> Option<(DigestAlg, Vec<u8>)> {
    m.header.has(flags::RD).then(|| {
        let alg = DigestAlg::for_version(m.envelope.negotiated());
        (alg, digest(alg, m.signed))
    })
}

pub(crate) fn rd(d: &Option<(DigestAlg, Vec<u8>)>) -> Option<(DigestAlg, &[u8])> {
    d.as_ref().map(|(a, v)| (*a, v.as_slice()))
}

/// Encoded values of an entry: the cached whole record, or the requested selection.
enum Selected<'a> {
    All(&'a Bytes),
    Some(Vec<u8>),
    None,
}

fn select<'a>(entry: &'a Entry, indexes: &[u32], types: &[&str]) -> Selected<'a> {
    if indexes.is_empty() && types.is_empty() {
        return Selected::All(entry.wire.get_or_init(|| {
            let mut b = Vec::new();
            encode_values(&mut b, entry.values.iter());
            Bytes::from(b)
        }));
    }
    let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
    let chosen: Vec<&HandleValue> = entry.select(indexes, &types);
    if chosen.is_empty() {
        return Selected::None;
    }
    let mut b = Vec::new();
    encode_values(&mut b, chosen.into_iter());
    Selected::Some(b)
}

impl HandleService {
    /// Charges one challenge answer (a signature or MAC check) to `ip`; false when the
    /// client's allowance (`answers_per_second`) is spent.
    pub fn allow_answer(&self, ip: IpAddr) -> bool {
        self.answers.allow(ip)
    }

    /// This node's encoded `HS_SITE` (as GET_SITE_INFO answers it).
    pub fn site(&self) -> &[u8] {
        &self.site
    }

    /// A service over the node's resolver and registry.
    pub fn new(resolver: Arc<Resolver>, registry: Arc<Registry>, config: &ServiceConfig) -> Self {
        let referrals = Referrals::new(&config.referrals, config.toplevel, config.upstream_timeout);
        Self {
            resolver,
            registry,
            site: config.site.encode(),
            referrals,
            challenges: Challenges::new(config.challenge_ttl, 100_000),
            sessions: Cache::builder()
                .time_to_idle(config.session_idle)
                .max_capacity(100_000)
                .build(),
            protocol_sessions: Sessions::new(config.session_idle),
            server_key: config.server_key.clone(),
            answers: ClientLimiter::per_second(config.answers_per_second),
            daily: config.daily_requests_per_client.map(ClientLimiter::per_day),
            meter: Meter::new("handle"),
        }
    }

    /// The first step for every request message from `peer`: charges it to the client's
    /// daily allowance (answering RC 603 when it is spent), then answers an anonymous
    /// resolution from the cache without awaiting anything. Returns false (writing nothing)
    /// when the request needs the full path, [`HandleService::answer`].
    pub fn answer_cached(
        &self,
        peer: IpAddr,
        env: &Envelope,
        msg: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        if let Some(daily) = &self.daily {
            if !daily.allow(peer) {
                let header = Header::decode(msg).unwrap_or_default();
                write(
                    out,
                    &env.reply(),
                    &header,
                    rc::DAILY_REQUEST_LIMIT,
                    None,
                    &Body::Error("this client's daily request allowance is spent"),
                );
                return true;
            }
        }
        let Ok(m) = Message::parse(*env, msg) else {
            return false;
        };
        if m.header.op_code != op::RESOLUTION || m.credential.is_some() || m.header.has(flags::CT) {
            return false;
        }
        let Ok(Request::Resolution {
            handle,
            indexes,
            types,
        }) = Request::decode(op::RESOLUTION, m.body)
        else {
            return false;
        };
        let Ok(id) = Identifier::parse(handle) else {
            return false;
        };
        let Some(entry) = self.resolver.cached(&id, View::Public) else {
            return false;
        };
        if !m.header.has(flags::PO) {
            // Restricted values need a challenge: only answer here when there are none.
            match self.resolver.cached(&id, View::Admin) {
                Some(admin) if admin.values.len() == entry.values.len() => {}
                _ => return false,
            }
        }
        self.write_values(
            out,
            &m,
            &m.envelope.reply(),
            handle,
            &entry,
            &indexes,
            &types,
        );
        self.meter.count(Outcome::Ok);
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn write_values(
        &self,
        out: &mut Vec<u8>,
        m: &Message<'_>,
        reply: &Envelope,
        handle: &str,
        entry: &Entry,
        indexes: &[u32],
        types: &[&str],
    ) {
        let d = request_digest(m);
        match select(entry, indexes, types) {
            Selected::All(b) => write(
                out,
                reply,
                &m.header,
                rc::SUCCESS,
                rd(&d),
                &Body::Values { handle, values: b },
            ),
            Selected::Some(b) => write(
                out,
                reply,
                &m.header,
                rc::SUCCESS,
                rd(&d),
                &Body::Values { handle, values: &b },
            ),
            Selected::None => write(
                out,
                reply,
                &m.header,
                rc::VALUES_NOT_FOUND,
                rd(&d),
                &Body::Error("no values match the requested indexes and types"),
            ),
        }
    }

    /// Answers one request message (`msg`: the bytes after `env`) from `peer`, appending one
    /// or more response messages to `out`. Transports call [`HandleService::answer_cached`]
    /// first, which charges the request to the client's allowance.
    pub async fn answer(&self, client: &mut Client, env: Envelope, msg: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let encrypted = env.encrypted;
        let mut env = env;
        let plain;
        let msg = if encrypted {
            match self.decrypt_request(&mut env, msg) {
                Ok(p) => {
                    plain = p;
                    &plain[..]
                }
                Err((code, text)) => {
                    let mut reply = env.reply();
                    reply.encrypted = false;
                    return write(
                        out,
                        &reply,
                        &Header::default(),
                        code,
                        None,
                        &Body::Error(&text),
                    );
                }
            }
        } else {
            msg
        };
        let m = match Message::parse(env, msg) {
            Ok(m) => m,
            Err(e) => {
                let header = Header::decode(msg).unwrap_or_default();
                return write(
                    out,
                    &env.reply(),
                    &header,
                    e.response_code(),
                    None,
                    &Body::Error(&e.to_string()),
                );
            }
        };
        let in_session = match self.session_of(&m, encrypted) {
            Ok(s) => s,
            Err((code, text)) => return self.fail(out, &m, &m.envelope.reply(), code, &text),
        };
        self.answer_message(client, &m, msg, in_session.as_ref(), out)
            .await;
        self.seal(out, start, &m.header, in_session.as_ref());
    }

    async fn answer_message(
        &self,
        client: &mut Client,
        m: &Message<'_>,
        msg: &[u8],
        in_session: Option<&InSession>,
        out: &mut Vec<u8>,
    ) {
        let peer = client.ip;
        let req = match Request::decode(m.header.op_code, m.body) {
            Ok(r) => r,
            Err(e) => {
                return self.fail(
                    out,
                    m,
                    &m.envelope.reply(),
                    e.response_code(),
                    &e.to_string(),
                )
            }
        };
        let reply = m.envelope.reply();
        match req {
            Request::ChallengeAnswer {
                auth_type,
                admin,
                index,
                response,
            } => {
                if !self.answers.allow(peer) {
                    return self.fail(
                        out,
                        m,
                        &reply,
                        rc::SERVER_BUSY,
                        "too many challenge answers from this client; retry in a few seconds",
                    );
                }
                return self
                    .answer_challenge(client, m, auth_type, admin, index, response, out)
                    .await;
            }
            Request::SessionSetup(setup) => {
                return self.setup_session(client, m, &setup, out).await;
            }
            Request::SessionExchangeKey { encrypted_key } => {
                return self.session_step(m, in_session, Some(encrypted_key), out);
            }
            Request::SessionTerminate => return self.session_step(m, in_session, None, out),
            _ => {}
        }
        let principal = match in_session {
            // A protocol session: its proven identity, or a challenge for admin requests.
            Some(s) => s.session.principal(),
            None => match self.login_of(client, m, &req) {
                Ok(p) => p,
                Err((code, text)) => return self.fail(out, m, &reply, code, text),
            },
        };
        self.dispatch(peer, m, msg, req, principal, &reply, out)
            .await;
    }

    pub(crate) fn fail(
        &self,
        out: &mut Vec<u8>,
        m: &Message<'_>,
        reply: &Envelope,
        code: u32,
        message: &str,
    ) {
        let d = request_digest(m);
        write(out, reply, &m.header, code, rd(&d), &Body::Error(message));
    }

    fn fail_registry(
        &self,
        out: &mut Vec<u8>,
        m: &Message<'_>,
        reply: &Envelope,
        e: &RegistryError,
    ) {
        self.fail(out, m, reply, e.response_code().code(), &e.to_string());
    }

    pub(crate) fn ok(&self, out: &mut Vec<u8>, m: &Message<'_>, reply: &Envelope, body: &Body<'_>) {
        let d = request_digest(m);
        write(out, reply, &m.header, rc::SUCCESS, rd(&d), body);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn dispatch(
        &self,
        peer: IpAddr,
        m: &Message<'_>,
        msg: &[u8],
        req: Request<'_>,
        principal: Option<Principal>,
        reply: &Envelope,
        out: &mut Vec<u8>,
    ) {
        let needs_admin =
            req.is_admin() || matches!(req, Request::Login { .. } | Request::LoginIdSystem { .. });
        let p = match principal {
            Some(p) => p,
            None if needs_admin => return self.challenge(peer, m, msg, out),
            None => Principal::Anonymous,
        };
        let res: Result<(), RegistryError> = match req {
            Request::Resolution {
                handle,
                indexes,
                types,
            }
            | Request::Login {
                handle,
                indexes,
                types,
            } => {
                let start = out.len();
                self.resolve(peer, m, msg, reply, &p, handle, &indexes, &types, out)
                    .await;
                // The response code of the message just written (after envelope and opCode).
                let at = start + ENVELOPE_LEN + 4;
                if let Some(rc) = out.get(at..at + 4) {
                    let rc = u32::from_be_bytes([rc[0], rc[1], rc[2], rc[3]]);
                    if let Some(o) = Outcome::from_rc(rc) {
                        self.meter.count(o);
                    }
                }
                return;
            }
            Request::GetSiteInfo { .. } => {
                self.ok(out, m, reply, &Body::SiteInfo(&self.site));
                Ok(())
            }
            Request::ListHomedNas { .. } => {
                let nas: Vec<String> = self
                    .resolver
                    .served()
                    .iter()
                    .map(|p| format!("0.NA/{p}"))
                    .collect();
                self.ok(out, m, reply, &Body::Handles(&nas));
                Ok(())
            }
            Request::LoginIdSystem { .. } => {
                self.ok(out, m, reply, &Body::Empty);
                Ok(())
            }
            Request::Create { handle, values } => {
                let mode = PutMode::Replace {
                    overwrite: m.header.has(flags::OW),
                };
                self.registry
                    .put_handle(&p, handle, values, mode, m.header.has(flags::MINT))
                    .await
                    .map(|o| self.ok(out, m, reply, &Body::Handle(&o.handle)))
            }
            Request::AddValue { handle, values } => self
                .registry
                .put_handle(
                    &p,
                    handle,
                    values,
                    PutMode::Values {
                        indexes: None,
                        overwrite: false,
                    },
                    false,
                )
                .await
                .map(|_| self.ok(out, m, reply, &Body::Empty)),
            Request::ModifyValue { handle, values } => self
                .registry
                .put_handle(&p, handle, values, PutMode::Modify, false)
                .await
                .map(|_| self.ok(out, m, reply, &Body::Empty)),
            Request::RemoveValue { handle, indexes } => self
                .registry
                .delete_handle(&p, handle, Some(indexes))
                .await
                .map(|()| self.ok(out, m, reply, &Body::Empty)),
            Request::Delete { handle } => self
                .registry
                .delete_handle(&p, handle, None)
                .await
                .map(|()| self.ok(out, m, reply, &Body::Empty)),
            Request::ListHandles { handle } => self.list(m, reply, &p, handle, out).await,
            Request::HomeNa { .. } | Request::UnhomeNa { .. } => {
                let e = ProtoError::Unsupported(m.header.op_code);
                self.fail(out, m, reply, e.response_code(), "prefixes are homed through the management API (POST /api/v1/enterprises/{id}/prefixes)");
                Ok(())
            }
            Request::SessionSetup(_)
            | Request::SessionTerminate
            | Request::SessionExchangeKey { .. } => {
                // Answered before dispatch (`answer_message`).
                self.fail(out, m, reply, rc::ERROR, "unexpected session request");
                Ok(())
            }
            Request::VerifyResponse { .. } | Request::ChallengeAnswer { .. } => {
                self.fail(
                    out,
                    m,
                    reply,
                    rc::OPERATION_NOT_SUPPORTED,
                    "this node does not verify answers for other servers",
                );
                Ok(())
            }
        };
        if let Err(e) = res {
            self.fail_registry(out, m, reply, &e);
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn resolve(
        &self,
        peer: IpAddr,
        m: &Message<'_>,
        msg: &[u8],
        reply: &Envelope,
        p: &Principal,
        handle: &str,
        indexes: &[u32],
        types: &[&str],
        out: &mut Vec<u8>,
    ) {
        let id = match Identifier::parse(handle) {
            Ok(id) => id,
            Err(e) => return self.fail(out, m, reply, rc::INVALID_HANDLE, &e.to_string()),
        };
        if !self.resolver.serves(&id) {
            return self
                .refer(out, m, reply, peer, handle, &id, indexes, types)
                .await;
        }
        let view = match p {
            Principal::Anonymous => View::Public,
            _ => match self.registry.view_for(p, &id).await {
                Ok(v) => v,
                Err(e) => return self.fail_registry(out, m, reply, &e),
            },
        };
        let entry = match self.resolver.resolve(&id, view, false).await {
            Ok(e) => e,
            Err(e) => return self.fail_resolve(out, m, reply, &e),
        };
        if view == View::Public && !m.header.has(flags::PO) {
            match self.resolver.resolve(&id, View::Admin, false).await {
                Ok(admin) if admin.values.len() > entry.values.len() => {
                    return self.challenge(peer, m, msg, out);
                }
                Ok(_) => {}
                Err(e) => return self.fail_resolve(out, m, reply, &e),
            }
        }
        self.write_values(out, m, reply, handle, &entry, indexes, types);
    }

    fn fail_resolve(&self, out: &mut Vec<u8>, m: &Message<'_>, reply: &Envelope, e: &ResolveError) {
        self.fail(out, m, reply, e.response_code().code(), &e.to_string());
    }

    /// LIST_HANDLES: every handle under the prefix, in messages of [`LIST_CHUNK`] handles,
    /// all but the last flagged continuous (CN).
    async fn list(
        &self,
        m: &Message<'_>,
        reply: &Envelope,
        p: &Principal,
        handle: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), RegistryError> {
        let prefix = handle
            .get(..5)
            .filter(|s| s.eq_ignore_ascii_case("0.NA/"))
            .map_or(handle, |_| &handle[5..]);
        let mut page = 0;
        loop {
            let (total, handles) = self
                .registry
                .list_handles(p, prefix, page, LIST_CHUNK)
                .await?;
            let last = (page + 1) * LIST_CHUNK >= total || handles.is_empty();
            let mut header = m.header;
            if !last {
                header.op_flags |= flags::CN;
            }
            let d = request_digest(m);
            write(
                out,
                reply,
                &header,
                rc::SUCCESS,
                rd(&d),
                &Body::Handles(&handles),
            );
            if last {
                return Ok(());
            }
            page += 1;
        }
    }
}

impl HandleService {
    /// Answers bytes whose envelope could not be decoded (or a message that cannot be
    /// assembled) with an error response carrying the request id, when one can be read.
    pub fn reject(&self, bytes: &[u8], err: &ProtoError, out: &mut Vec<u8>) {
        let word = |i: usize| {
            bytes
                .get(i..i + 4)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let reply = Envelope::ours(word(4), word(8));
        let header = bytes
            .get(ENVELOPE_LEN..)
            .and_then(|h| Header::decode(h).ok())
            .unwrap_or_default();
        write(
            out,
            &reply,
            &header,
            err.response_code(),
            None,
            &Body::Error(&err.to_string()),
        );
    }
}
