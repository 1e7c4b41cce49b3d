//! The binary Handle protocol over HTTP: `POST /` with `Content-Type:
//! application/x-hdl-message`, the body one envelope and message, the answer likewise.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use idnode_handle_proto::{Envelope, ProtoError, ENVELOPE_LEN, MAX_MESSAGE};

use crate::AppState;

/// The media type of binary Handle messages.
pub(crate) const HDL_MESSAGE: &str = "application/x-hdl-message";

fn reply(out: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, HDL_MESSAGE)], out).into_response()
}

/// `POST /`: a Handle message when the body says so, otherwise 404 as before.
pub(crate) async fn post_root(State(state): State<AppState>, req: Request) -> Response {
    let is_hdl = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(HDL_MESSAGE))
        });
    let Some(service) = state.0.handle.clone().filter(|_| is_hdl) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let ip = crate::auth::peer_ip(req.extensions()).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let body: Bytes = match axum::body::to_bytes(req.into_body(), ENVELOPE_LEN + MAX_MESSAGE).await
    {
        Ok(b) => b,
        Err(e) if crate::body::caused_by_timeout(&e) => {
            return StatusCode::REQUEST_TIMEOUT.into_response();
        }
        Err(_) => {
            let mut out = Vec::new();
            service.reject(
                &[],
                &ProtoError::TooLarge(ENVELOPE_LEN + MAX_MESSAGE + 1),
                &mut out,
            );
            return reply(out);
        }
    };
    let mut out = Vec::new();
    let env = match Envelope::decode(&body) {
        Ok(e) => e,
        Err(e) => {
            service.reject(&body, &e, &mut out);
            return reply(out);
        }
    };
    let msg = &body[ENVELOPE_LEN..];
    if msg.len() != env.message_length as usize {
        service.reject(
            &body,
            &ProtoError::Truncated("body length differs from the envelope"),
            &mut out,
        );
        return reply(out);
    }
    if !service.answer_cached(ip, &env, msg, &mut out) {
        service.answer(ip, env, msg, &mut out).await;
    }
    reply(out)
}
