//! Capture: `POST /epcis/capture` (a document; 202 and the job's `Location`), `GET
//! /epcis/capture/{id}`, `POST /epcis/events` (one event; 201, 409 when captured
//! already), and the limits advertised by `OPTIONS /epcis/capture`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use idnode_epcis::Binding;
use idnode_store::{CaptureRecord, CaptureState};
use serde_json::json;

use super::{json_answer, versions, Problem, Reader};
use crate::AppState;

/// The capture limits and behaviours, as headers.
fn limits(state: &AppState, headers: &mut HeaderMap) {
    let l = state.trace().limits();
    let mut put = |name: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    put("gs1-epcis-capture-limit", l.capture_events.to_string());
    put(
        "gs1-epcis-capture-file-size-limit",
        l.capture_bytes.to_string(),
    );
    put("gs1-capture-error-behaviour", "rollback, proceed".into());
    versions(headers);
}

/// `OPTIONS /epcis/capture`: what the capture interface takes.
pub(crate) async fn discover(State(s): State<AppState>, _: Reader) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    limits(&s, resp.headers_mut());
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("OPTIONS, POST"));
    resp
}

/// Whether the document's events are stored all or none (`GS1-Capture-Error-Behaviour`,
/// default `rollback`).
fn rollback(headers: &HeaderMap) -> Result<bool, Problem> {
    match headers
        .get("gs1-capture-error-behaviour")
        .map(|v| v.to_str().unwrap_or_default().trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("rollback") => Ok(true),
        Some("proceed") => Ok(false),
        Some(other) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            format!("GS1-Capture-Error-Behaviour: rollback or proceed, not {other}"),
        )),
    }
}

/// The body of a capture, within the capture size limit, and its binding: JSON
/// (`application/json`, `application/ld+json`) or XML (`application/xml`, `text/xml`).
async fn body(s: &AppState, r: &Reader, body: Body) -> Result<(Vec<u8>, Binding), Problem> {
    let binding = if crate::body::is_xml(&r.caller.headers) {
        Binding::Xml
    } else if crate::body::is_json(&r.caller.headers) {
        Binding::Json
    } else {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "epcisException:ValidationException",
            "send the capture as application/json, application/ld+json or application/xml",
        ));
    };
    let limit = s.trace().limits().capture_bytes;
    let b = crate::body::read(s, &r.caller, body, limit).await?;
    Ok((b.bytes.to_vec(), binding))
}

/// `POST /epcis/capture`.
pub(crate) async fn document(
    State(s): State<AppState>,
    r: Reader,
    raw: Body,
) -> Result<Response, Problem> {
    let rollback = rollback(&r.caller.headers)?;
    let (bytes, binding) = body(&s, &r, raw).await?;
    let job = s
        .trace()
        .capture(&r.principal, bytes, binding, rollback)
        .await?;
    let mut resp = (StatusCode::ACCEPTED, Json(job_json(&job))).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/epcis/capture/{}", job.id)) {
        h.insert(header::LOCATION, v);
    }
    limits(&s, h);
    Ok(resp)
}

/// `POST /epcis/events`.
pub(crate) async fn event(
    State(s): State<AppState>,
    r: Reader,
    raw: Body,
) -> Result<Response, Problem> {
    let (bytes, binding) = body(&s, &r, raw).await?;
    let done = s.trace().capture_one(&r.principal, bytes, binding).await?;
    let mut resp = (StatusCode::CREATED, Json(job_json(&done.job))).into_response();
    let path = format!(
        "/epcis/events/{}",
        percent_encoding::utf8_percent_encode(&done.event_id, percent_encoding::NON_ALPHANUMERIC)
    );
    if let Ok(v) = HeaderValue::from_str(&path) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    versions(resp.headers_mut());
    Ok(resp)
}

/// `GET /epcis/capture/{id}`.
pub(crate) async fn job(
    State(s): State<AppState>,
    r: Reader,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id: i64 = id
        .parse()
        .map_err(|_| Problem::not_found(format!("capture job {id}")))?;
    let job = s.trace().job(&r.principal, id).await?;
    Ok(json_answer(StatusCode::OK, job_json(&job)))
}

/// A capture job as the standard describes it (`running`, `success`,
/// `captureErrorBehaviour`, `errors`), with what was stored and the duplicates left out.
fn job_json(job: &CaptureRecord) -> serde_json::Value {
    let time = idnode_epcis::index::rfc3339(job.created_at);
    let errors: Vec<_> = job
        .not_stored
        .iter()
        .filter(|n| !n.duplicate)
        .map(|n| {
            json!({
                "event": n.index,
                "eventID": n.event_id,
                "pointer": format!("/epcisBody/eventList/{}", n.index),
                "message": n.reason
            })
        })
        .collect();
    let duplicates: Vec<_> = job
        .not_stored
        .iter()
        .filter(|n| n.duplicate)
        .map(|n| json!({"event": n.index, "eventID": n.event_id}))
        .collect();
    json!({
        "captureID": job.id.to_string(),
        "createdAt": time,
        "finishedAt": time,
        "running": false,
        "success": job.state == CaptureState::Success,
        "captureErrorBehaviour": if job.rollback { "rollback" } else { "proceed" },
        "events": job.events,
        "stored": job.stored,
        "duplicates": duplicates,
        "errors": errors,
    })
}
