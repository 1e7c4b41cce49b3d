//! The web console at `/console`: sign-in with an existing identity and its secret, then the
//! operator's pages (`operator.rs`: dashboard, enterprises, audit log) and the pages of an
//! enterprise's data (`data.rs`: prefixes, identifiers, edit, import, export). Pages come
//! from `idnode-web`; every action goes through the registry as the signed-in principal.
//!
//! A session is a bearer token ([`idnode_registry::Registry::open_console_session`]): only
//! its SHA-256 is stored, it expires, it is bound to the address that signed in, and it
//! dies when its identity's secret changes. The cookie is `HttpOnly`, `SameSite=Strict`,
//! `Secure` behind TLS, scoped to `/console`. Every form that changes something carries a
//! CSRF token derived from the session token and compared in constant time; sign-ins are
//! rate-limited per client with every other secret check.

mod account;
mod dashboard;
mod data;
mod operator;
mod stats;
mod transfer;

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use idnode_core::constant_time_eq;
use idnode_registry::Principal;
use idnode_web::console::Frame;
use idnode_web::Lang;

use crate::auth::Caller;
use crate::{ApiError, AppState};

pub(crate) use dashboard::Sampler;
pub(crate) use transfer::ImportJobs;

/// The session cookie.
const COOKIE: &str = "idnode_console";
/// The language cookie (set by `?lang=` on any console page).
const LANG_COOKIE: &str = "idnode_lang";
/// Largest form body (sign-in, edits).
const MAX_FORM: usize = 256 * 1024;
/// Largest import upload.
pub(crate) const MAX_UPLOAD: usize = 16 * 1024 * 1024;

/// The console's routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/login", get(sign_in_page).post(sign_in))
        .route("/console/logout", post(sign_out))
        .route("/console", get(operator::home))
        .route(
            "/console/enterprises",
            get(operator::enterprises).post(operator::onboard),
        )
        .route(
            "/console/enterprises/{id}/status",
            post(operator::set_status),
        )
        .route("/console/audit", get(operator::audit))
        .route("/console/stats", get(stats::page))
        .route(
            "/console/credentials",
            get(account::credentials).post(account::rotate),
        )
        .route("/console/credentials/key", post(account::add_key))
        .route("/console/trace", get(account::trace))
        .route("/console/templates", get(account::templates))
        .route("/console/stats.csv", get(stats::csv))
        .route("/console/prefixes", get(data::prefixes))
        .route("/console/prefixes/{prefix}", get(data::identifiers))
        .route(
            "/console/identifiers/{*handle}",
            get(data::identifier).post(data::change),
        )
        .route("/console/new", get(data::new_form).post(data::create))
        .route(
            "/console/import",
            get(transfer::import_form).post(transfer::import),
        )
        .route("/console/import/{id}", get(transfer::import_job))
        .route("/console/export", get(transfer::export))
        .route("/console/{*rest}", any(unknown))
        .layer(middleware::from_fn(headers))
}

/// Headers of every console answer: never cached, never framed, scripts from nowhere; a
/// `?lang=` choice remembered in a cookie.
async fn headers(req: Request, next: Next) -> Response {
    let lang = query_param(req.uri().query(), "lang").map(|l| Lang::from_param(Some(&l)));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if let Some(l) = lang {
        let c = format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            l.tag()
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The first value of `name` in a query string.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of cookie `name`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a request: `?lang=`, else the language cookie, else Chinese.
fn lang_of(parts: &Parts) -> Lang {
    let asked = query_param(parts.uri.query(), "lang");
    let remembered = cookie(&parts.headers, LANG_COOKIE).map(str::to_owned);
    Lang::from_param(asked.or(remembered).as_deref())
}

/// The CSRF token of a session: derived from its token (which the page's scripts and
/// other sites never see), so it needs no storage.
fn csrf_of(token: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("idnode-console-csrf\0{token}").as_bytes(),
    );
    hex::encode(&d.as_ref()[..16])
}

/// A refusal page, boxed (a `Response` is large).
pub(crate) type Refused = Box<Response>;

/// A signed-in console request.
pub(crate) struct Session {
    pub(crate) principal: Principal,
    token: String,
    csrf: String,
    pub(crate) lang: Lang,
    path: String,
    /// The request's query string.
    pub(crate) query: Option<String>,
    pub(crate) caller: Caller,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let lang = lang_of(parts);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().map(str::to_owned);
        let method = parts.method.clone();
        let caller = Caller::take(parts);
        let token = cookie(&caller.headers, COOKIE).map(str::to_owned);
        let principal = match &token {
            Some(t) => s.0.registry.token_principal(t, caller.ip).await.ok(),
            None => None,
        };
        match (token, principal) {
            (Some(token), Some(principal)) => Ok(Self {
                principal,
                csrf: csrf_of(&token),
                token,
                lang,
                path,
                query,
                caller,
            }),
            (token, _) => Err(signed_out(&method, lang, s, token.is_some())),
        }
    }
}

/// The answer to a console request without a live session: browsers asking for a page go
/// to the sign-in page; anything else is refused with 401. A dead cookie is cleared.
fn signed_out(method: &Method, lang: Lang, s: &AppState, had_cookie: bool) -> Response {
    let mut resp = if method == Method::GET || method == Method::HEAD {
        let mut r = StatusCode::SEE_OTHER.into_response();
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/console/login"));
        r
    } else {
        let msg = lang.pick("请先登录。", "Sign in first.");
        let html = idnode_web::console::sign_in(lang, s.0.registry.node_prefix(), "", Some(msg));
        (StatusCode::UNAUTHORIZED, html_type(), html).into_response()
    };
    if had_cookie {
        resp.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "idnode_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
            ),
        );
    }
    resp
}

fn html_type() -> [(header::HeaderName, &'static str); 1] {
    [(header::CONTENT_TYPE, "text/html; charset=utf-8")]
}

impl Session {
    /// The frame of this session's pages.
    pub(crate) fn frame<'a>(&'a self, s: &'a AppState, flash: Option<&'a str>) -> Frame<'a> {
        Frame {
            lang: self.lang,
            who: self.principal.actor(),
            operator: matches!(self.principal, Principal::Operator { .. }),
            csrf: &self.csrf,
            path: &self.path,
            node_prefix: s.0.registry.node_prefix(),
            flash,
        }
    }

    /// Refuses a form whose CSRF token is not this session's (403).
    pub(crate) fn check_csrf(&self, given: Option<&str>) -> Result<(), Refused> {
        match given {
            Some(g) if constant_time_eq(g.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err((
                StatusCode::FORBIDDEN,
                self.lang.pick(
                    "表单已失效或来自别处（CSRF 校验失败），请返回刷新后重试。",
                    "The form is stale or came from elsewhere (CSRF check failed): go back, reload and retry.",
                ),
            )
                .into_response()
                .into()),
        }
    }

    /// A page of this session.
    pub(crate) fn html(&self, status: StatusCode, html: String) -> Response {
        (status, html_type(), html).into_response()
    }

    /// [`Self::refused`], boxed for a `Result`.
    pub(crate) fn refuse(&self, s: &AppState, e: impl Into<ApiError>) -> Refused {
        Box::new(self.refused(s, e))
    }

    /// The page of a refused action: its reason, with the status the API would answer.
    pub(crate) fn refused(&self, s: &AppState, e: impl Into<ApiError>) -> Response {
        let e: ApiError = e.into();
        let page = idnode_web::console::refusal(&self.frame(s, None), &e.message);
        self.html(e.status, page)
    }

    /// The fields of a form body (`application/x-www-form-urlencoded`), its CSRF token
    /// checked.
    pub(crate) async fn form(
        &self,
        s: &AppState,
        body: axum::body::Body,
    ) -> Result<Vec<(String, String)>, Refused> {
        let is_form = self
            .caller
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(self.refuse(
                s,
                ApiError::bad_request("expected a form (application/x-www-form-urlencoded)")
                    .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ));
        }
        let body = crate::body::read(s, &self.caller, body, MAX_FORM)
            .await
            .map_err(|e| self.refuse(s, e))?;
        let fields: Vec<(String, String)> = form_urlencoded::parse(&body.bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        self.check_csrf(field(&fields, "csrf"))?;
        Ok(fields)
    }
}

/// The first value of `name` in a form.
pub(crate) fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A redirect after a successful POST (303: the browser GETs the page).
pub(crate) fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn sign_in_page(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let html = idnode_web::console::sign_in(lang_of(&parts), s.0.registry.node_prefix(), "", None);
    (StatusCode::OK, html_type(), html).into_response()
}

/// Sign-in: the identity's secret checked (rate-limited per client), a session opened,
/// its cookie set.
async fn sign_in(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: Request,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let lang = lang_of(&parts);
    let caller = Caller::take(&mut parts);
    let node = s.0.registry.node_prefix().to_owned();
    let fail = |status: StatusCode, identity: &str, msg: &str| {
        let html = idnode_web::console::sign_in(lang, &node, identity, Some(msg));
        (status, html_type(), html).into_response()
    };
    let fields: Vec<(String, String)> = match crate::body::read(&s, &caller, body, MAX_FORM).await {
        Ok(b) => form_urlencoded::parse(&b.bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        Err(e) => return fail(e.status, "", &e.message),
    };
    let identity = field(&fields, "identity")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let secret = field(&fields, "secret").unwrap_or_default();
    let Some(ip) = caller.ip else {
        return fail(StatusCode::FORBIDDEN, &identity, "no client address");
    };
    let lifetime = s.0.limits.console_session;
    let reg = &s.0.registry;
    let opened = match field(&fields, "session_id").filter(|x| !x.is_empty()) {
        // A key: the identity a Handle.Net REST session proved with its private key.
        Some(id) => match crate::sessions::proved_in(&s, id) {
            Some((p, proved)) => {
                reg.open_console_session_by_key(&p, &proved, ip, lifetime)
                    .await
            }
            None => Err(idnode_registry::RegistryError::AuthenticationFailed),
        },
        None => {
            reg.open_console_session(&identity, secret, ip, lifetime)
                .await
        }
    };
    match opened {
        Ok(t) => {
            let secure = if crate::over_tls(&caller.headers) {
                "; Secure"
            } else {
                ""
            };
            let c = format!(
                "{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                t.token,
                lifetime.as_secs()
            );
            let mut r = see_other("/console");
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(idnode_registry::RegistryError::RateLimited) => fail(
            StatusCode::TOO_MANY_REQUESTS,
            &identity,
            lang.pick(
                "登录尝试过于频繁，请稍后再试。",
                "Too many sign-in attempts: wait a little.",
            ),
        ),
        Err(_) => fail(
            StatusCode::UNAUTHORIZED,
            &identity,
            lang.pick("身份或密钥错误。", "Wrong identity or secret."),
        ),
    }
}

/// Sign-out: the session's token revoked, its cookie cleared.
async fn sign_out(
    axum::extract::State(s): axum::extract::State<AppState>,
    session: Session,
    body: axum::body::Body,
) -> Response {
    if let Err(r) = session.form(&s, body).await {
        return *r;
    }
    let ip: Option<IpAddr> = session.caller.ip;
    if let Err(e) = s.0.registry.revoke_token(&session.token, ip).await {
        return session.refused(&s, e);
    }
    let mut r = see_other("/console/login");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "idnode_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

/// A console path that does not exist (a session is still needed to learn that).
async fn unknown(
    session: Session,
    axum::extract::State(s): axum::extract::State<AppState>,
) -> Response {
    session.refused(
        &s,
        ApiError::new(idnode_core::ResponseCode::HandleNotFound, "no such page")
            .with_status(StatusCode::NOT_FOUND),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let h = crate::one_header(header::COOKIE, "a=1; idnode_console=tok; idnode_lang=en");
        assert_eq!(cookie(&h, COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "idnode_lang"), Some("en"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn csrf_tokens_are_per_session() {
        assert_eq!(csrf_of("a"), csrf_of("a"));
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_eq!(csrf_of("a").len(), 32);
    }
}
