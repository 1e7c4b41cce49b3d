//! Server-side traceability: `GET /epcis/trace/{epc}?direction=back|forward` (the graph:
//! nodes, edges with their kind and the events behind them), `GET /epcis/recall/{epc}`,
//! and the read grants an enterprise gives partners (`/epcis/grants`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use idnode_trace::Direction;
use serde::Deserialize;

use super::{Problem, Reader};
use crate::AppState;

/// Longest identifier URI taken in a path.
pub(crate) const MAX_URI: usize = 1024;

/// An identifier URI from the path, within [`MAX_URI`].
pub(crate) fn bounded(epc: &str) -> Result<&str, Problem> {
    if epc.len() > MAX_URI {
        return Err(Problem::bad_query(format!(
            "an identifier URI of at most {MAX_URI} bytes"
        )));
    }
    Ok(epc)
}

/// The value of query parameter `name`, if given.
fn param(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn number<T: std::str::FromStr>(uri: &Uri, name: &str) -> Result<Option<T>, Problem> {
    param(uri, name)
        .map(|v| {
            v.parse()
                .map_err(|_| Problem::bad_query(format!("{name}: a positive integer")))
        })
        .transpose()
}

/// `GET /epcis/trace/{epc}`.
pub(crate) async fn trace(
    State(s): State<AppState>,
    r: Reader,
    Path(epc): Path<String>,
    uri: Uri,
) -> Result<Response, Problem> {
    let direction = match param(&uri, "direction").as_deref() {
        None | Some("back") => Direction::Back,
        Some("forward") => Direction::Forward,
        Some(_) => return Err(Problem::bad_query("direction: back or forward")),
    };
    let depth = number(&uri, "depth")?;
    let nodes = number::<u32>(&uri, "nodes")?.map(|n| n as usize);
    let g = s
        .trace()
        .trace(&r.principal, bounded(&epc)?, direction, depth, nodes)
        .await?;
    Ok(Json(g).into_response())
}

/// `GET /epcis/recall/{epc}`.
pub(crate) async fn recall(
    State(s): State<AppState>,
    r: Reader,
    Path(epc): Path<String>,
) -> Result<Response, Problem> {
    Ok(Json(s.trace().recall(&r.principal, bounded(&epc)?).await?).into_response())
}

/// `GET /epcis/grants`: the grants the caller gave (all, for the operator).
pub(crate) async fn grants(State(s): State<AppState>, r: Reader) -> Result<Response, Problem> {
    Ok(Json(s.trace().grants(&r.principal).await?).into_response())
}

/// A grant as posted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GrantDto {
    /// The enterprise allowed to read.
    grantee: i64,
    /// Only events with this business step (a CBV term or URI).
    #[serde(default)]
    biz_step: String,
}

/// `POST /epcis/grants`.
pub(crate) async fn grant(
    State(s): State<AppState>,
    r: Reader,
    body: Body,
) -> Result<Response, Problem> {
    let limit = s.0.limits.max_body_bytes;
    let b = crate::body::read_json(&s, &r.caller, body, limit).await?;
    let dto: GrantDto = serde_json::from_slice(&b.bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            format!("a grant is {{\"grantee\": <enterprise id>, \"bizStep\": <optional>}}: {e}"),
        )
    })?;
    let g = s
        .trace()
        .grant(&r.principal, dto.grantee, &dto.biz_step)
        .await?;
    Ok((StatusCode::CREATED, Json(g)).into_response())
}

/// `DELETE /epcis/grants/{grantee}?bizStep=…`.
pub(crate) async fn revoke(
    State(s): State<AppState>,
    r: Reader,
    Path(grantee): Path<String>,
    uri: Uri,
) -> Result<Response, Problem> {
    let grantee: i64 = grantee
        .parse()
        .map_err(|_| Problem::bad_query("grantee: an enterprise id"))?;
    let step = param(&uri, "bizStep").unwrap_or_default();
    if s.trace().revoke(&r.principal, grantee, &step).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found(format!(
            "a grant to enterprise {grantee}"
        )))
    }
}
