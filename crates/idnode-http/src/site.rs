//! `GET /api/site` (this node's `HS_SITE` as JSON) and `GET /api/prefixes` (the prefixes
//! homed here, for the operator), as Handle.Net 9's `SiteServlet` and `PrefixesServlet`
//! answer them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use idnode_core::ResponseCode;
use serde_json::json;

use crate::auth::{principal, Caller};
use crate::error::ApiError;
use crate::handles::json_response;
use crate::query::HandleQuery;
use crate::AppState;

/// `GET /api/site`: `{"responseCode":1,"site":{…}}`.
pub(crate) async fn site(State(s): State<AppState>) -> Result<Response, ApiError> {
    let handle = s.0.handle.as_ref().ok_or_else(|| {
        ApiError::new(
            ResponseCode::OperationNotSupported,
            "this node does not serve the Handle protocol",
        )
    })?;
    let site = handle
        .site_json()
        .map_err(|e| ApiError::new(ResponseCode::Error, e))?;
    let body = json!({"responseCode": 1, "site": site});
    Ok(json_response(StatusCode::OK, body.to_string()))
}

/// `GET /api/prefixes?page=&pageSize=`: the prefixes homed here (`0.NA/…`), for the
/// operator (401 anonymous, 403 others, as listing homed prefixes needs a server admin).
pub(crate) async fn prefixes(
    State(s): State<AppState>,
    q: HandleQuery,
    caller: Caller,
) -> Result<Response, ApiError> {
    let p = principal(&s, &caller.headers, caller.ip).await?;
    let all = s.0.registry.homed_prefixes(&p).await?;
    let total = all.len();
    let mut body = json!({"responseCode": 1, "totalCount": total.to_string()});
    let listed = match (q.page, q.page_size) {
        (Some(page), Some(size)) => {
            body["page"] = json!(page);
            body["pageSize"] = json!(size);
            let skip = usize::try_from(page.saturating_mul(size)).unwrap_or(usize::MAX);
            let take = usize::try_from(size).unwrap_or(usize::MAX);
            all.into_iter().skip(skip).take(take).collect()
        }
        _ => all,
    };
    body["prefixes"] = json!(listed);
    Ok(json_response(StatusCode::OK, body.to_string()))
}
