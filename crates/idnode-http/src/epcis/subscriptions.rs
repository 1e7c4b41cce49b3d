//! Webhook subscriptions to named queries: `GET`/`POST /epcis/queries/{name}/subscriptions`,
//! `GET`/`DELETE /epcis/queries/{name}/subscriptions/{id}`. The signatureToken is never
//! answered.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idnode_epcis::index::rfc3339;
use idnode_store::Subscription;
use serde_json::{json, Value};

use super::{json_answer, versions, Problem, Reader};
use crate::AppState;

/// A subscription as the standard shows it (without its secret).
fn subscription_json(s: &Subscription) -> Value {
    let mut v = json!({
        "subscriptionID": s.id,
        "dest": s.dest,
        "createdAt": rfc3339(s.created_at),
        "minRecordTime": rfc3339(s.min_record_time),
    });
    if s.stream {
        v["stream"] = Value::Bool(true);
    } else {
        v["schedule"] = serde_json::from_str(&s.schedule).unwrap_or(Value::Null);
        v["reportIfEmpty"] = Value::Bool(s.report_if_empty);
    }
    if let Some(at) = s.last_notified_at {
        v["lastNotifiedAt"] = Value::String(rfc3339(at));
    }
    v
}

/// `POST /epcis/queries/{name}/subscriptions`: 201 with its `Location`.
pub(crate) async fn create(
    State(s): State<AppState>,
    r: Reader,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let body: Value = serde_json::from_slice(&body).map_err(|e| {
        Problem::from(idnode_trace::TraceError::Subscription(format!(
            "not JSON: {e}"
        )))
    })?;
    let sub = s.trace().subscribe(&r.principal, &name, &body).await?;
    let mut resp = json_answer(StatusCode::CREATED, subscription_json(&sub));
    let location = format!("/epcis/queries/{}/subscriptions/{}", sub.query, sub.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET /epcis/queries/{name}/subscriptions`.
pub(crate) async fn list(
    State(s): State<AppState>,
    r: Reader,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let subs = s.trace().subscriptions(&r.principal, &name).await?;
    let list = subs.iter().map(subscription_json).collect();
    Ok(json_answer(StatusCode::OK, Value::Array(list)))
}

/// `GET /epcis/queries/{name}/subscriptions/{id}`.
pub(crate) async fn get(
    State(s): State<AppState>,
    r: Reader,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let sub = s.trace().subscription(&r.principal, &name, &id).await?;
    Ok(json_answer(StatusCode::OK, subscription_json(&sub)))
}

/// `DELETE /epcis/queries/{name}/subscriptions/{id}`: 204.
pub(crate) async fn delete(
    State(s): State<AppState>,
    r: Reader,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.trace().unsubscribe(&r.principal, &name, &id).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    versions(resp.headers_mut());
    Ok(resp)
}
