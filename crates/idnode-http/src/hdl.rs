//! The binary Handle protocol over HTTP: a `POST` with `Content-Type:
//! application/x-hdl-message` on any path (CNRI's HTTP transport posts to `/`, to
//! `/<url-encoded handle>` and to `/%2F`), the body one envelope and message, the answer
//! likewise.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The media type of binary Handle messages.
pub(crate) const HDL_MESSAGE: &str = "application/x-hdl-message";

fn reply(out: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, HDL_MESSAGE)], out).into_response()
}

fn is_hdl(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(HDL_MESSAGE))
        })
}

/// Before routing: a `POST` of a Handle message is answered as one, whatever its path.
pub(crate) async fn intercept(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && is_hdl(req.headers()) {
        return message(state, req).await;
    }
    next.run(req).await
}

/// Answers the Handle message in the body (a node without the Handle front end: 404 with a
/// message, at once).
async fn message(state: AppState, req: Request) -> Response {
    let Some(service) = state.0.handle.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "this node does not serve the Handle protocol over HTTP",
        )
            .into_response();
    };
    let ip = crate::auth::peer_ip(req.extensions()).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let body: Option<Bytes> =
        match axum::body::to_bytes(req.into_body(), service.max_posted()).await {
            Ok(b) => Some(b),
            Err(e) if crate::body::caused_by_timeout(&e) => {
                return StatusCode::REQUEST_TIMEOUT.into_response();
            }
            Err(_) => None,
        };
    reply(service.message(ip, body.as_deref()).await)
}
