//! The EPCIS 2.0 REST interface at `/epcis` (GS1's OpenAPI bindings) and idnode's trace,
//! recall and grant endpoints beside it. Every caller is authenticated first (Basic, a
//! Handle session, or `Bearer` with a token from `/identity/token`); failures are RFC 7807
//! problem documents.

mod capture;
pub(crate) mod doc;
mod problem;
mod queries;
mod query;
mod subscriptions;
mod trace;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use idnode_epcis::Namespaces;
use idnode_registry::Principal;

pub(crate) use problem::Problem;

use crate::auth::Caller;
use crate::AppState;

/// The EPCIS version answers carry.
const EPCIS_VERSION: &str = "2.0.0";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/capture",
            post(capture::document).options(capture::discover),
        )
        .route("/capture/{id}", get(capture::job))
        .route("/events", post(capture::event).get(query::events))
        .route("/events/{*event_id}", get(query::event))
        .route("/epcs/{epc}/events", get(query::epc_events))
        .route("/eventTypes", get(query::event_types))
        .route("/eventTypes/{value}/events", get(query::by_event_type))
        .route("/bizSteps", get(query::biz_steps))
        .route("/bizSteps/{value}/events", get(query::by_biz_step))
        .route("/dispositions", get(query::dispositions))
        .route("/dispositions/{value}/events", get(query::by_disposition))
        .route("/readPoints", get(query::read_points))
        .route("/readPoints/{value}/events", get(query::by_read_point))
        .route("/bizLocations", get(query::biz_locations))
        .route("/bizLocations/{value}/events", get(query::by_biz_location))
        .route("/queries", get(queries::list).post(queries::create))
        .route("/queries/{name}", get(queries::get).delete(queries::delete))
        .route("/queries/{name}/events", get(queries::events))
        .route(
            "/queries/{name}/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/queries/{name}/subscriptions/{id}",
            get(subscriptions::get).delete(subscriptions::delete),
        )
        .route("/trace/{epc}", get(trace::trace))
        .route("/recall/{epc}", get(trace::recall))
        .route("/grants", get(trace::grants).post(trace::grant))
        .route("/grants/{grantee}", axum::routing::delete(trace::revoke))
}

/// An authenticated caller of `/epcis`.
pub(crate) struct Reader {
    pub(crate) principal: Principal,
    pub(crate) caller: Caller,
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let caller = Caller::take(parts);
        let bearer = caller
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let principal = match bearer {
            // A bearer token issued at /identity/token (EPCIS clients send OAuth-style ones).
            Some(token) => state
                .0
                .registry
                .token_principal(token, caller.ip)
                .await
                .map_err(crate::ApiError::from),
            None => crate::auth::principal(state, &caller.headers, caller.ip).await,
        }
        .map_err(|mut e| {
            // Credentials refused: 401, as HTTP clients expect (Handle.Net REST says 403).
            if e.status == axum::http::StatusCode::FORBIDDEN {
                e.status = axum::http::StatusCode::UNAUTHORIZED;
            }
            Problem::from(e)
        })?;
        if matches!(principal, Principal::Anonymous) {
            return Err(idnode_trace::TraceError::Unauthenticated.into());
        }
        Ok(Self { principal, caller })
    }
}

/// The prefixes a request declares in `GS1-Extensions` (`ex=https://ex.com/, acme=…`).
fn extensions(headers: &HeaderMap) -> Namespaces {
    let mut ns = Namespaces::default();
    ns.declare_header(&extensions_header(headers));
    ns
}

/// The `GS1-Extensions` header values, joined.
fn extensions_header(headers: &HeaderMap) -> String {
    headers
        .get_all("gs1-extensions")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
}

/// A JSON answer with `status` and the version headers.
fn json_answer(
    status: axum::http::StatusCode,
    body: serde_json::Value,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut resp = (status, axum::Json(body)).into_response();
    versions(resp.headers_mut());
    resp
}

/// The version headers every answer carries.
fn versions(headers: &mut HeaderMap) {
    for name in ["gs1-epcis-version", "gs1-cbv-version"] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(EPCIS_VERSION),
        );
    }
}
