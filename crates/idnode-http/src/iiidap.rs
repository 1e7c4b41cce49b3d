//! IIIDAP (the CAICT drafts' RDAP-like registration data access) for the node and the
//! enterprises under it: `GET|HEAD /iiidap/identifier/{prefix}`, `/iiidap/name/{name}`,
//! `/iiidap/names?name=pat*`, `/iiidap/help`, as `application/iiidap+json`, with CORS, the
//! drafts' error bodies and 429 beyond the per-client rate.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use idnode_registry::NodeEntry;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::AppState;

/// The media type.
pub const MEDIA_TYPE: &str = "application/iiidap+json";
/// Most results of a name search.
const MAX_RESULTS: usize = 100;

fn reply(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn error(status: StatusCode, title: &str, description: &str) -> Response {
    let mut r = reply(
        status,
        &json!({
            "iiidapConformance": ["iiidap_level_0"],
            "errorCode": status.as_u16(),
            "title": title,
            "description": [description],
        }),
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn notices() -> Value {
    json!([{
        "title": "Terms of use",
        "description": ["Registration data of this secondary node and its enterprises, \
                         published for identification. Identity documents and images are \
                         withheld."],
    }])
}

/// The node object of an entry.
fn node(n: &NodeEntry) -> Value {
    let mut out = json!({
        "identifier": n.prefix,
        "regTime": rfc3339(n.registered),
        "status": if n.active { "ok" } else { "hold" },
        "country": "CN",
    });
    let mut node = json!({ "name": n.name });
    if let Some(p) = &n.profile {
        let set = |node: &mut Value, k: &str, v: &str| {
            if !v.is_empty() {
                node[k] = json!(v);
            }
        };
        set(&mut node, "nature", &p.nature);
        set(&mut node, "type", &p.ent_type);
        set(&mut node, "address", &p.addr_cn);
        set(&mut node, "introduction", &p.description);
        if !p.credit_code.is_empty() {
            node["idNumber"] = json!(p.credit_code);
            node["idType"] = json!("unified social credit code");
        }
        if !p.contact.name.is_empty() {
            node["contact"] = json!([{
                "name": p.contact.name, "phone": p.contact.phone, "email": p.contact.email,
            }]);
        }
        if !p.legal_person.name.is_empty() {
            node["legalPerson"] = json!([{ "name": p.legal_person.name }]);
        }
        out["remarks"] = json!([{
            "type": "information truncated due to authorization",
            "description": ["The legal person's identity document and the certificate \
                             images are withheld."],
        }]);
    } else {
        node["type"] = json!("secondary node");
    }
    out["node"] = node;
    out
}

fn top(mut v: Value) -> Value {
    v["iiidapConformance"] = json!(["iiidap_level_0"]);
    v["notices"] = notices();
    v["lang"] = json!("zh-CN");
    v
}

/// 429 when the caller's allowance is spent.
fn throttled(s: &AppState, caller: &Caller) -> Option<Response> {
    caller
        .ip
        .is_some_and(|ip| !s.0.iiidap_limiter.allow(ip))
        .then(|| {
            error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "slow down",
            )
        })
}

fn valid_prefix(p: &str) -> bool {
    (2..=255).contains(&p.len())
        && p.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric()))
}

async fn identifier(
    State(s): State<AppState>,
    caller: Caller,
    Path(prefix): Path<String>,
) -> Response {
    if let Some(r) = throttled(&s, &caller) {
        return r;
    }
    if !valid_prefix(&prefix) {
        return error(
            StatusCode::BAD_REQUEST,
            "Malformed query",
            "an identifier is XX.YY or XX.YY.ZZ: labels of letters and digits",
        );
    }
    match s.0.registry.directory_entry(&prefix).await {
        Ok(Some(n)) => reply(StatusCode::OK, &top(node(&n))),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("{prefix} is not registered at this node"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            &e.to_string(),
        ),
    }
}

async fn by_name(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> Response {
    if let Some(r) = throttled(&s, &caller) {
        return r;
    }
    if name.is_empty() || name.chars().count() > 255 || name.contains('*') {
        return error(
            StatusCode::BAD_REQUEST,
            "Malformed query",
            "a name has 1 to 255 characters",
        );
    }
    match s.0.registry.directory_search(&name, 1).await {
        Ok((hits, _)) if !hits.is_empty() => reply(StatusCode::OK, &top(node(&hits[0]))),
        Ok(_) => error(StatusCode::NOT_FOUND, "Not found", "no node has this name"),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            &e.to_string(),
        ),
    }
}

async fn search(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = throttled(&s, &caller) {
        return r;
    }
    let Some(pattern) = q
        .get("name")
        .filter(|p| !p.is_empty() && p.chars().count() <= 255)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "Malformed query",
            "names?name=<pattern>",
        );
    };
    if pattern.trim_end_matches('*').contains('*') || pattern == "*" {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unsupported search",
            "only a trailing * (name prefix) is supported",
        );
    }
    match s.0.registry.directory_search(pattern, MAX_RESULTS).await {
        Ok((hits, more)) => {
            let mut v = top(json!({
                "NodeSearchResults": hits.iter().map(node).collect::<Vec<_>>(),
            }));
            if more {
                v["notices"]
                    .as_array_mut()
                    .expect("notices is an array")
                    .push(json!({
                        "title": "Search results truncated",
                        "type": "result set truncated due to excessive load",
                        "description": [format!("at most {MAX_RESULTS} results")],
                    }));
            }
            reply(StatusCode::OK, &v)
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            &e.to_string(),
        ),
    }
}

async fn help(State(s): State<AppState>, caller: Caller) -> Response {
    if let Some(r) = throttled(&s, &caller) {
        return r;
    }
    reply(
        StatusCode::OK,
        &json!({
            "iiidapConformance": ["iiidap_level_0"],
            "notices": [{
                "title": "Help",
                "description": [
                    "identifier/{prefix}: the node (XX.YY) or an enterprise node (XX.YY.ZZ)",
                    "name/{name}: the node with this name",
                    "names?name=pattern*: nodes whose name starts with pattern",
                    "No authentication; rate-limited per client address (429, Retry-After).",
                ],
            }],
        }),
    )
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not found", "unknown IIIDAP query")
}

/// The IIIDAP routes (nested under `/iiidap`).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/identifier/{prefix}", get(identifier))
        .route("/name/{name}", get(by_name))
        .route("/names", get(search))
        .route("/help", get(help))
        .fallback(not_found)
}
