//! Operator endpoints: `/metrics`, `/healthz`, `/readyz`.

use std::any::Any;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use idnode_core::ResponseCode;

use crate::{ApiError, AppState};

/// Prometheus text exposition.
pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    let Some(p) = &s.0.prometheus else {
        return ApiError::new(ResponseCode::OperationNotSupported, "metrics are disabled")
            .into_response();
    };
    let (entries, bytes) = s.0.resolver.cache_usage();
    metrics::gauge!("idnode_cache_entries").set(entries as f64);
    metrics::gauge!("idnode_cache_bytes").set(bytes as f64);
    p.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        p.render(),
    )
        .into_response()
}

/// Liveness: the process answers.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and takes writes (after a full disk, once a probe write
/// fits again).
pub(crate) async fn readyz(State(s): State<AppState>) -> Response {
    match s.0.resolver.store().ready().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            let why = format!("not ready: {}\n", e.public_message());
            (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
        }
    }
}

/// Anything else at the root.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(ResponseCode::InvalidHandle, "no handle given").with_status(StatusCode::NOT_FOUND)
}

/// A panicking handler becomes a logged 500 instead of a dropped connection.
// The signature is fixed by `CatchPanicLayer::custom`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    tracing::error!(panic = msg, "handler panicked");
    ApiError::new(ResponseCode::Error, "internal error").into_response()
}

/// Most bytes of an oversize body read and discarded before answering 413.
const MAX_DRAIN: u64 = 64 * 1024 * 1024;

/// Answers 413 to a body declared larger than `limit`, after reading (and discarding) what
/// the client sends, within bounds: closing a connection with unread data resets it, and
/// the client would never see the answer.
pub(crate) async fn reject_oversize(
    State(limit): State<usize>,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_none_or(|n| n <= limit as u64) {
        return next.run(req).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), drain(req.into_body())).await;
    ApiError::bad_request(format!("request body exceeds the {limit}-byte limit"))
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        .into_response()
}

async fn drain(mut body: Body) {
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
        if seen > MAX_DRAIN {
            break;
        }
    }
}
