//! Operator endpoints: `/metrics`, `/healthz`, `/readyz`.

use std::any::Any;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use idnode_core::ResponseCode;
use idnode_resolver::Serving;

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

/// Readiness. `/readyz`: the database answers and takes writes (after a full disk, once a
/// probe write fits again), for alerts and write traffic. `/readyz?for=resolution`: the
/// node can answer resolutions, from the database or, while it does not answer, from the
/// cache (what load balancers route by, so that an outage keeps cached answers flowing).
pub(crate) async fn readyz(State(s): State<AppState>, uri: Uri) -> Response {
    let resolution = match uri.query() {
        None => false,
        Some("for=resolution") => true,
        Some(_) => {
            return ApiError::bad_request("the only query /readyz takes is for=resolution")
                .into_response()
        }
    };
    let out = if resolution {
        s.0.resolver.serving().await.map(|serving| match serving {
            Serving::Store => "ready\n".to_owned(),
            Serving::Cache(n) => format!(
                "ready for resolution: the database does not answer; {n} cached answers are served\n"
            ),
        })
    } else {
        s.0.resolver.ready().await.map(|()| "ready\n".to_owned())
    };
    match out {
        Ok(text) => text.into_response(),
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
