//! What the Handle front end answers: one request message in, response messages out, through
//! the same resolver (cache) and registry (permissions, history) as the HTTP front end.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idnode_core::{Identifier, SiteInfo};
use idnode_handle_proto::{
    encode_response, flags, op, rc, Body, DigestAlg, Envelope, Header, Message, ProtoError,
    Request, ENVELOPE_LEN,
};
use idnode_registry::{Principal, Registry};
use idnode_resolver::{Meter, Outcome, Resolver, View};
use moka::sync::Cache;
use std::num::NonZeroU32;

use crate::challenge::Challenges;
use crate::dispatch::{write_values, Wanted};
use crate::exchange::Exchange;
use crate::identity::ChallengeAnswer;
use crate::referral::Referrals;
use crate::secure::InSession;
use crate::server_key::ServerKey;
use crate::session::Sessions;
use idnode_ratelimit::ClientLimiter;

/// Seconds a response stays valid (header `expirationTime`).
const RESPONSE_LIFETIME: u32 = 12 * 3600;

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
        if !m.header.has(flags::PO) && entry.restricted {
            // Restricted values need a challenge: the full path sends it.
            return false;
        }
        let wanted = Wanted {
            indexes: &indexes,
            types: &types,
        };
        write_values(
            &mut Exchange::new(peer, &m, msg, out),
            handle,
            &entry,
            &wanted,
        );
        self.meter
            .record(self.resolver.tally(), id.prefix(), Outcome::Ok, Some(peer));
        true
    }

    /// Answers one request message (`msg`: the bytes after `env`) from `peer`, appending one
    /// or more response messages to `out`. Transports call [`HandleService::answer_cached`]
    /// first, which charges the request to the client's allowance.
    pub async fn answer(&self, client: &mut Client, env: Envelope, msg: &[u8], out: &mut Vec<u8>) {
        // The request's writes record where they came from (the audit log).
        let ip = client.ip;
        idnode_registry::origin::scope(ip, self.answer_from(client, env, msg, out)).await;
    }

    async fn answer_from(&self, client: &mut Client, env: Envelope, msg: &[u8], out: &mut Vec<u8>) {
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
        let in_session = {
            let mut x = Exchange::new(client.ip, &m, msg, out);
            match self.session_of(&m, encrypted) {
                Ok(s) => {
                    self.answer_message(client, &mut x, s.as_ref()).await;
                    s
                }
                Err((code, text)) => return x.fail(code, &text),
            }
        };
        self.seal(out, start, &m.header, in_session.as_ref());
    }

    async fn answer_message(
        &self,
        client: &mut Client,
        x: &mut Exchange<'_, '_>,
        in_session: Option<&InSession>,
    ) {
        let m = x.m;
        let req = match Request::decode(m.header.op_code, m.body) {
            Ok(r) => r,
            Err(e) => return x.fail(e.response_code(), &e.to_string()),
        };
        match req {
            Request::ChallengeAnswer {
                auth_type,
                admin,
                index,
                response,
            } => {
                if !self.answers.allow(x.peer) {
                    return x.fail(
                        rc::SERVER_BUSY,
                        "too many challenge answers from this client; retry in a few seconds",
                    );
                }
                let answer = ChallengeAnswer {
                    auth_type,
                    admin,
                    index,
                    response,
                };
                return self.answer_challenge(client, x, &answer).await;
            }
            Request::SessionSetup(setup) => return self.setup_session(x, &setup).await,
            Request::SessionExchangeKey { encrypted_key } => {
                return self.session_step(x, in_session, Some(encrypted_key));
            }
            Request::SessionTerminate => return self.session_step(x, in_session, None),
            _ => {}
        }
        let principal = match in_session {
            // A protocol session: its proven identity, or a challenge for admin requests.
            Some(s) => s.session.principal(),
            None => match self.login_of(client, m, &req) {
                Ok(p) => p,
                Err((code, text)) => return x.fail(code, text),
            },
        };
        self.dispatch(x, req, principal).await;
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
