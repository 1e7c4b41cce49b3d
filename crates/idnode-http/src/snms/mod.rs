//! The SNMS-compatible API (`teleinfo-dev/id-guide`, `docs/dev-tools/snms/`): what enterprise
//! business systems written for a national SNMS node call, unchanged.
//!
//! Every answer is SNMS's envelope `{"message", "status", "data"}` with HTTP 200: `status` 1
//! success, -1 not signed in (no, unknown, revoked or expired token), -2 business failure
//! (`message` says why: for data that does not fit its template, every violation), -3 no
//! permission, -4 internal error. Only refusals of the HTTP request itself keep their HTTP
//! status (413 body too large, 415 not JSON, 408 body too slow, 503 busy), with the envelope.
//! Tokens: [`token`]; templates: [`template`]; identifiers: [`data`]. Services do the work:
//! `Registry::issue_token`, `token_principal`, the template calls, `write_each` (each item
//! of an SNMS batch succeeds or fails on its own) and `detail`.

mod data;
pub(crate) mod doc;
mod template;
mod token;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use idnode_core::ResponseCode;
use idnode_registry::{Principal, RegistryError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// `status` of a success.
pub(crate) const OK: i32 = 1;
/// `status`: not signed in.
pub(crate) const NOT_SIGNED_IN: i32 = -1;
/// `status`: business failure (see `message`).
pub(crate) const FAILED: i32 = -2;
/// `status`: no permission.
pub(crate) const NO_PERMISSION: i32 = -3;
/// `status`: internal error.
pub(crate) const INTERNAL: i32 = -4;

/// Most items of one SNMS batch.
pub(crate) const MAX_SNMS_BATCH: usize = 2000;

/// The SNMS routes.
pub(crate) fn router() -> Router<AppState> {
    // v3 reads, defines and deletes; v5 also changes (SNMS v5/template.md).
    let templates = || {
        get(template::read)
            .post(template::create)
            .delete(template::remove)
    };
    Router::new()
        .route(
            "/identity/token",
            post(token::issue::<false>).delete(token::revoke),
        )
        .route("/identity/token/v1", post(token::issue::<true>))
        .route("/snms/api/v3/template", templates())
        .route("/snms/api/v5/template", templates().put(template::update))
        .route(
            "/identityv2/data",
            post(data::write::<false>)
                .put(data::write::<true>)
                .delete(data::remove),
        )
        .route("/identityv2/data/detail", get(data::detail))
        .route(
            "/identityv2/data/batchCreate",
            post(data::write_batch::<false>),
        )
        .route(
            "/identityv2/data/batchUpdate",
            put(data::write_batch::<true>),
        )
        .route(
            "/identityv2/data/batchDelete",
            axum::routing::delete(data::batch_delete),
        )
}

/// SNMS's envelope.
#[derive(Serialize)]
struct Envelope<T> {
    message: String,
    status: i32,
    data: Option<T>,
}

/// A success carrying `data`.
pub(crate) fn ok<T: Serialize>(data: T) -> Response {
    Json(Envelope {
        message: "success".into(),
        status: OK,
        data: Some(data),
    })
    .into_response()
}

/// A refusal: the envelope with `status` and `message`, `data` null.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) http: StatusCode,
    pub(crate) status: i32,
    pub(crate) message: String,
}

impl Refusal {
    /// A business failure (-2).
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            http: StatusCode::OK,
            status: FAILED,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = Envelope::<()> {
            message: self.message,
            status: self.status,
            data: None,
        };
        (self.http, Json(body)).into_response()
    }
}

/// The SNMS status of a failure with Handle response code `rc`.
pub(crate) fn status_of(rc: u32) -> i32 {
    match rc {
        r if r == ResponseCode::AuthenticationNeeded.code()
            || r == ResponseCode::AuthenticationFailed.code() =>
        {
            NOT_SIGNED_IN
        }
        r if r == ResponseCode::InsufficientPermissions.code() => NO_PERMISSION,
        r if r == ResponseCode::Error.code() => INTERNAL,
        _ => FAILED,
    }
}

/// SNMS's words for the failures its clients test for (a client that registers again after
/// a timeout takes "标识已存在" as success); other failures keep idnode's message.
pub(crate) fn message_of(rc: u32, message: &str) -> String {
    match rc {
        r if r == ResponseCode::HandleAlreadyExists.code() => "标识已存在".into(),
        r if r == ResponseCode::HandleNotFound.code() => "标识不存在".into(),
        _ => message.to_owned(),
    }
}

impl From<RegistryError> for Refusal {
    fn from(e: RegistryError) -> Self {
        let rc = e.response_code().code();
        let message = match e {
            RegistryError::TokenExpired => {
                "token 已过期，请重新获取 (the token has expired)".into()
            }
            RegistryError::AuthenticationFailed | RegistryError::AuthenticationNeeded => {
                "没有登录，需要验证 (no valid token: POST /identity/token)".into()
            }
            e => message_of(rc, &e.to_string()),
        };
        Self {
            http: StatusCode::OK,
            status: status_of(rc),
            message,
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        // Refusals of the request itself (413, 415, 408, 503) keep their HTTP status.
        let http = if e.status.is_client_error() || e.status.is_server_error() {
            e.status
        } else {
            StatusCode::OK
        };
        Self {
            http,
            status: FAILED,
            message: e.message,
        }
    }
}

/// A caller holding a valid bearer token (`Authorization: Bearer <token>`; the bare token is
/// accepted too).
pub(crate) struct Signed {
    pub(crate) principal: Principal,
    pub(crate) caller: Caller,
}

/// The token an `Authorization` header carries.
fn bearer(caller: &Caller) -> Option<&str> {
    let v = caller
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    match v.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim()),
        Some(_) => None,
        None => Some(v),
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Refusal> {
        let caller = Caller::take(parts);
        let token = bearer(&caller).ok_or(RegistryError::AuthenticationNeeded)?;
        let principal = s.0.registry.token_principal(token, caller.ip).await?;
        Ok(Self { principal, caller })
    }
}

/// A signed-in caller's JSON body, read within the node's body limit (`BATCH`: the batch
/// limit). The token is checked before the body is read.
pub(crate) struct Sent<T, const BATCH: bool = false> {
    /// Who sent it.
    pub(crate) who: Signed,
    /// What was sent.
    pub(crate) body: T,
}

impl<T: DeserializeOwned, const BATCH: bool> FromRequest<AppState> for Sent<T, BATCH> {
    type Rejection = Refusal;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Refusal> {
        let (mut parts, b) = req.into_parts();
        let who = Signed::from_request_parts(&mut parts, s).await?;
        let limit = if BATCH {
            s.0.limits.max_batch_bytes
        } else {
            s.0.limits.max_body_bytes
        };
        let body = body(s, &who.caller, b, limit).await?;
        Ok(Self { who, body })
    }
}

/// The query of an SNMS request; a malformed one is a business failure (-2) naming why.
pub(crate) struct Asked<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Asked<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Refusal> {
        let Query(q) = Query::<T>::from_request_parts(parts, s)
            .await
            .map_err(|e| Refusal::failed(e.body_text()))?;
        Ok(Self(q))
    }
}

/// The JSON body of an SNMS request, within `limit` bytes.
pub(crate) async fn body<T: DeserializeOwned>(
    s: &AppState,
    caller: &Caller,
    body: Body,
    limit: usize,
) -> Result<T, Refusal> {
    let read = crate::body::read_json(s, caller, body, limit).await?;
    serde_json::from_slice(&read.bytes)
        .map_err(|e| Refusal::failed(format!("请求体不是合法的 JSON (invalid body): {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_with_or_without_the_scheme() {
        let with = |v: &str| {
            let headers = crate::one_header(header::AUTHORIZATION, v);
            bearer(&Caller { headers, ip: None }).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(with("abc").as_deref(), Some("abc"));
        assert_eq!(with("Basic abc"), None);
    }

    #[test]
    fn statuses_follow_the_snms_table() {
        assert_eq!(status_of(402), NOT_SIGNED_IN);
        assert_eq!(status_of(401), NO_PERMISSION);
        assert_eq!(status_of(2), INTERNAL);
        assert_eq!(status_of(202), FAILED);
        assert_eq!(message_of(101, "x"), "标识已存在");
        assert_eq!(message_of(100, "x"), "标识不存在");
    }
}
