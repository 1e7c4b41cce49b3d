//! Handle.Net REST: `/api/handles/{handle}`, `/api/handles?prefix=` and the `/{handle}` proxy.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use idnode_core::json::{render_record, ValueIn};
use idnode_core::{HandleValue, Identifier, ResponseCode};
use idnode_registry::PutMode;
use idnode_resolver::{Meter, Outcome, ResolveError, View};
use std::borrow::Cow;
use std::sync::OnceLock;

use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::auth::{principal, Caller};
use crate::browser;
use crate::error::http_status;
use crate::query::HandleQuery;
use crate::{ApiError, AppState};

const API_PREFIX: &str = "/api/handles/";

/// The handle named by the request path after `strip`, percent-decoded (borrowed when the
/// path has no escapes).
fn path_handle<'a>(uri: &'a Uri, strip: &str) -> Result<Cow<'a, str>, ApiError> {
    let raw = uri.path().strip_prefix(strip).unwrap_or_default();
    percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::new(ResponseCode::InvalidHandle, "handle is not valid UTF-8"))
}

fn parse_handle(text: &str) -> Result<Identifier, ApiError> {
    Identifier::parse(text).map_err(|e| ApiError::from(e).with_handle(text))
}

pub(crate) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Counts an HTTP resolution of the handle at the start of `path` (still percent-encoded)
/// by outcome, for the Prometheus counters and the statistics per prefix.
pub(crate) fn count(s: &AppState, path: &str, outcome: Outcome, client: Option<std::net::IpAddr>) {
    static M: OnceLock<Meter> = OnceLock::new();
    let decoded;
    let path = if path.contains('%') {
        decoded = percent_decode_str(path).decode_utf8_lossy();
        decoded.as_ref()
    } else {
        path
    };
    let prefix = path.split_once('/').map_or("", |(p, _)| p);
    M.get_or_init(|| Meter::new("http"))
        .record(s.0.resolver.tally(), prefix, outcome, client);
}

/// The identifier of an anonymous `GET /api/handles/{handle}` without parameters (the
/// bulk of resolution traffic), answered before routing (`crate::serve`: [`cached_hit`],
/// else [`plain_miss`]) with the answer the router would give; `None` for any other
/// request, which goes through the router.
pub(crate) fn plain_get(req: &Request) -> Option<Identifier> {
    if req.method() != axum::http::Method::GET
        || req.uri().query().is_some()
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return None;
    }
    let text = req.uri().path().strip_prefix(API_PREFIX)?;
    let text = percent_decode_str(text).decode_utf8().ok()?;
    Identifier::parse(&text).ok()
}

/// The public answer to `id` if it is cached (no await: a hit costs no task switch).
pub(crate) fn cached_hit(
    s: &AppState,
    id: &Identifier,
    ip: Option<std::net::IpAddr>,
) -> Option<Response> {
    let entry = s.0.resolver.cached(id, View::Public)?;
    count(s, id.as_str(), Outcome::Ok, ip);
    Some(json_response(StatusCode::OK, entry.body()))
}

/// The public answer to `id` after a cache miss (read from the store).
pub(crate) async fn plain_miss(
    s: &AppState,
    id: Identifier,
    ip: Option<std::net::IpAddr>,
) -> Response {
    let answer = s.0.resolver.resolve(&id, View::Public, false).await;
    let answer = answer
        .map(|entry| json_response(StatusCode::OK, entry.body()))
        .map_err(|e| ApiError::from(e).with_handle(id.as_str()));
    counted(s, id.as_str(), ip, answer)
}

/// `GET /api/handles/{handle}`: the hot path. A plain anonymous request is one cache look-up
/// and a clone of the pre-serialised body.
pub(crate) async fn get_handle(State(s): State<AppState>, req: Request) -> Response {
    let ip = crate::auth::peer_ip(req.extensions());
    let path = req
        .uri()
        .path()
        .strip_prefix(API_PREFIX)
        .unwrap_or_default();
    let answer = resolve(&s, req.uri(), req.headers(), ip).await;
    counted(&s, path, ip, answer)
}

/// A resolution's response, counted by outcome for the handle at the start of `path`.
fn counted(
    s: &AppState,
    path: &str,
    ip: Option<std::net::IpAddr>,
    answer: Result<Response, ApiError>,
) -> Response {
    match answer {
        Ok(r) => {
            count(s, path, Outcome::Ok, ip);
            r
        }
        Err(e) => {
            count(
                s,
                path,
                Outcome::from_rc(e.rc).unwrap_or(Outcome::Denied),
                ip,
            );
            e.into_response()
        }
    }
}

async fn resolve(
    s: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
) -> Result<Response, ApiError> {
    let text = path_handle(uri, API_PREFIX)?;
    let id = parse_handle(&text)?;
    let q = HandleQuery::parse(uri.query())?;
    let p = principal(s, headers, ip).await?;
    let view = if q.public_only {
        View::Public
    } else {
        s.0.registry.view_for(&p, &id).await?
    };
    let entry =
        s.0.resolver
            .resolve(&id, view, q.auth)
            .await
            .map_err(|e| ApiError::from(e).with_handle(id.as_str()))?;
    if q.indexes.is_empty() && q.types.is_empty() {
        return Ok(json_response(StatusCode::OK, entry.body()));
    }
    let picked = entry.select(&q.indexes, &q.types);
    if picked.is_empty() {
        return Err(
            ApiError::new(ResponseCode::ValuesNotFound, "Values Not Found")
                .with_handle(id.as_str())
                .with_status(http_status(200, false, true)),
        );
    }
    Ok(json_response(
        StatusCode::OK,
        render_record(id.as_str(), &picked),
    ))
}

/// Values of a PUT body: an array, `{"values": [...]}`, or one value object.
fn body_values(body: &[u8]) -> Result<Vec<HandleValue>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))?;
    let list = match v {
        Value::Array(a) => a,
        Value::Object(mut o) if o.contains_key("values") => match o.remove("values") {
            Some(Value::Array(a)) => a,
            _ => return Err(ApiError::bad_request("\"values\" must be an array")),
        },
        Value::Object(o) => vec![Value::Object(o)],
        _ => {
            return Err(ApiError::bad_request(
                "body must be a value, a list or {\"values\": [...]}",
            ))
        }
    };
    list.into_iter()
        .map(|v| {
            let vi: ValueIn = serde_json::from_value(v).map_err(|e| {
                ApiError::new(ResponseCode::InvalidValue, format!("invalid value: {e}"))
            })?;
            Ok(vi.into_value()?)
        })
        .collect()
}

fn ok_body(handle: &str) -> String {
    serde_json::json!({"responseCode": 1, "handle": handle}).to_string()
}

/// `PUT /api/handles/{handle}`: create, replace or amend values.
pub(crate) async fn put_handle(
    State(s): State<AppState>,
    uri: Uri,
    a: crate::auth::Authed,
    q: HandleQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let text = path_handle(&uri, API_PREFIX)?;
    let body = crate::body::read_json(&s, &a.caller, body, s.0.limits.max_body_bytes).await?;
    let p = a.principal;
    let values = body_values(&body.bytes).map_err(|e| e.with_handle(&text))?;
    let overwrite = q.overwrite.unwrap_or(true);
    let mode = if q.various || !q.indexes.is_empty() {
        PutMode::Values {
            indexes: (!q.various).then_some(q.indexes),
            overwrite,
        }
    } else {
        PutMode::Replace { overwrite }
    };
    let out =
        s.0.registry
            .put_handle(&p, &text, values, mode, q.mint)
            .await
            .map_err(|e| ApiError::from(e).with_handle(&text))?;
    let status = http_status(1, out.created, false);
    Ok(json_response(status, ok_body(&out.handle)))
}

/// `DELETE /api/handles/{handle}[?index=…]`.
pub(crate) async fn delete_handle(
    State(s): State<AppState>,
    uri: Uri,
    q: HandleQuery,
    caller: Caller,
) -> Result<Response, ApiError> {
    let text = path_handle(&uri, API_PREFIX)?;
    let p = principal(&s, &caller.headers, caller.ip).await?;
    let indexes = (!q.indexes.is_empty()).then_some(q.indexes);
    s.0.registry
        .delete_handle(&p, &text, indexes)
        .await
        .map_err(|e| ApiError::from(e).with_handle(&text))?;
    let id = parse_handle(&text)?;
    Ok(json_response(StatusCode::OK, ok_body(id.as_str())))
}

/// Largest page of `GET /api/handles?prefix=`.
const MAX_PAGE: u64 = 10_000;

/// `GET /api/handles?prefix=P&page=&pageSize=`.
pub(crate) async fn list_handles(
    State(s): State<AppState>,
    q: HandleQuery,
    caller: Caller,
) -> Result<Response, ApiError> {
    let prefix = q
        .prefix
        .ok_or_else(|| ApiError::bad_request("the prefix parameter is required"))?;
    let page_size = q.page_size.unwrap_or(MAX_PAGE);
    if page_size > MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "pageSize is at most {MAX_PAGE}"
        )));
    }
    let page = q.page.unwrap_or(0);
    let p = principal(&s, &caller.headers, caller.ip).await?;
    let (total, handles) =
        s.0.registry
            .list_handles(&p, &prefix, page, page_size)
            .await?;
    let body = serde_json::json!({
        "responseCode": 1,
        "prefix": prefix.to_ascii_uppercase(),
        "totalCount": total.to_string(),
        "page": page,
        "pageSize": page_size,
        "handles": handles,
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

/// `GET /{handle}`: the proxy form, a 302 to the first `URL` value; for a browser
/// (`?noredirect`, or `text/html` without a URL value) the values page, and with `?qr` the
/// QR code of its resolution URL (`browser.rs`).
pub(crate) async fn redirect(
    State(s): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let ip = crate::auth::peer_ip(req.extensions());
    let (parts, _) = req.into_parts();
    let (headers, uri) = (parts.headers, parts.uri);
    let text = path_handle(&uri, "/")?;
    let id = parse_handle(&text)?;
    let asks = browser::Asks::of(&uri);
    let page = asks.page(&headers);
    let entry = match s.0.resolver.resolve(&id, View::Public, false).await {
        Ok(entry) => entry,
        Err(ResolveError::NotFound) if page && asks.qr.is_none() => {
            count(&s, id.as_str(), Outcome::NotFound, ip);
            return Ok(browser::not_found_page(id.as_str(), asks.lang));
        }
        Err(e) => return Err(ApiError::from(e).with_handle(id.as_str())),
    };
    count(&s, id.as_str(), Outcome::Ok, ip);
    if let Some(format) = asks.qr {
        return Ok(browser::qr(&entry, &headers, format));
    }
    let url = entry
        .values()
        .into_iter()
        .find(|v| v.type_name == "URL")
        .and_then(|v| HeaderValue::from_bytes(&v.data).ok());
    match url {
        Some(url) if !asks.noredirect => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::FOUND;
            r.headers_mut().insert(header::LOCATION, url);
            Ok(r)
        }
        _ if page => Ok(browser::values_page(&entry, asks.lang)),
        _ => Err(
            ApiError::new(ResponseCode::ValuesNotFound, "the handle has no URL value")
                .with_handle(id.as_str())
                .with_status(StatusCode::NOT_FOUND),
        ),
    }
}
