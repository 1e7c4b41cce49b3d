//! Request bodies of writes. A body is read only after its caller is authenticated
//! (`auth::Authed`: an anonymous write is answered 401 without reading a byte of it), only
//! as JSON, or XML where a protocol takes it (EPCIS capture) (a page on another site can
//! post a form or `text/plain` without a CORS preflight, never `application/json` or
//! `application/xml`: 415 closes that forgery path), within its size limit (413), within
//! the connection's body deadline (408) and within a memory budget shared by all requests.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use idnode_core::ResponseCode;
use tokio::sync::OwnedSemaphorePermit;

use crate::auth::Caller;
use crate::{ApiError, AppState, BodyTimedOut};

/// How long a body waits for room in the memory budget before the request is refused.
const BUDGET_WAIT: Duration = Duration::from_secs(5);

/// Most bytes of an oversize body read and discarded before answering 413.
const MAX_DRAIN: u64 = 64 * 1024 * 1024;

/// A body read into memory, holding its share of the budget until dropped.
pub(crate) struct JsonBody {
    pub(crate) bytes: Bytes,
    _budget: OwnedSemaphorePermit,
}

/// The budget unit: permits count KiB.
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// Whether the `Content-Type` is JSON: `application/json` or `application/<x>+json`, with
/// any parameters.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    media_is(headers, "json", false)
}

/// Whether the `Content-Type` is XML: `application/xml`, `text/xml` or
/// `application/<x>+xml`, with any parameters (none of them can be posted cross-site
/// without a CORS preflight either).
pub(crate) fn is_xml(headers: &HeaderMap) -> bool {
    media_is(headers, "xml", true)
}

/// Whether the `Content-Type` is `application/<syntax>` or `application/<x>+<syntax>` (or
/// `text/<syntax>` when `text` is allowed).
fn media_is(headers: &HeaderMap, syntax: &str, text: bool) -> bool {
    let Some(v) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = v.split(';').next().unwrap_or_default().trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    let suffixed = sub.len() > syntax.len() + 1
        && sub.is_char_boundary(sub.len() - syntax.len() - 1)
        && sub[sub.len() - syntax.len() - 1..].eq_ignore_ascii_case(&format!("+{syntax}"));
    (kind.eq_ignore_ascii_case("application") && (sub.eq_ignore_ascii_case(syntax) || suffixed))
        || (text && kind.eq_ignore_ascii_case("text") && sub.eq_ignore_ascii_case(syntax))
}

/// The JSON body of an authenticated write (or a sign-in: its body is the credential), of
/// at most `limit` bytes.
pub(crate) async fn read_json(
    state: &AppState,
    caller: &Caller,
    body: Body,
    limit: usize,
) -> Result<JsonBody, ApiError> {
    if !is_json(&caller.headers) {
        return Err(ApiError::bad_request(
            "the body must be JSON: send Content-Type: application/json",
        )
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    read(state, caller, body, limit).await
}

/// The body of an authenticated write whose `Content-Type` the caller has checked, of at
/// most `limit` bytes.
pub(crate) async fn read(
    state: &AppState,
    caller: &Caller,
    body: Body,
    limit: usize,
) -> Result<JsonBody, ApiError> {
    let declared = caller
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let _ = tokio::time::timeout(Duration::from_secs(5), drain(body)).await;
        return Err(too_large(limit));
    }
    let want = declared
        .map_or(limit, |n| n as usize)
        .min(state.0.limits.max_buffered_body_bytes);
    let budget = state.0.body_budget.clone();
    let permit = tokio::time::timeout(BUDGET_WAIT, budget.acquire_many_owned(kib(want)))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::new(
                ResponseCode::ServerBusy,
                "too many request bodies are being received; retry shortly",
            )
        })?;
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(too_large(limit)),
        Err(e) if caused_by_timeout(&*e) => {
            return Err(ApiError::bad_request(BodyTimedOut.to_string())
                .with_status(StatusCode::REQUEST_TIMEOUT))
        }
        Err(_) => return Err(ApiError::bad_request("the request body could not be read")),
    };
    Ok(JsonBody {
        bytes,
        _budget: permit,
    })
}

/// Whether `e` or an error it wraps is the connection's body deadline.
pub(crate) fn caused_by_timeout(mut e: &(dyn std::error::Error + 'static)) -> bool {
    loop {
        if e.is::<BodyTimedOut>() {
            return true;
        }
        match e.source() {
            Some(s) => e = s,
            None => return false,
        }
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::bad_request(format!("request body exceeds the {limit}-byte limit"))
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
}

/// Reads and discards what the client sends, within bounds: closing a connection with
/// unread data resets it, and the client would never see the answer.
async fn drain(mut body: Body) {
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
        if seen > MAX_DRAIN {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_media_types_pass() {
        let with = |v: &str| is_json(&crate::one_header(header::CONTENT_TYPE, v));
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!with("application/jsonx"));
        assert!(!with("application/+json"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
