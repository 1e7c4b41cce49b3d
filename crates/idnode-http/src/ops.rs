//! Operator endpoints: `/metrics`, `/healthz`, `/readyz`.

use std::any::Any;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
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
    match s.0.resolver.ready().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            let why = format!("not ready: {}\n", e.public_message());
            (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
        }
    }
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
