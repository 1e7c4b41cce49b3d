//! Queries: `GET /epcis/events` with the standard's parameters, one event by eventID, the
//! events of one identifier, and the vocabulary endpoints (`/eventTypes`, `/bizSteps`,
//! `/dispositions`, `/readPoints`, `/bizLocations`) with their `…/{value}/events`.
//! Answers are EPCISQueryDocuments, paged with `perPage`, `nextPageToken` and `Link`.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use idnode_epcis::{query_document, Query};
use idnode_store::EventField;
use idnode_trace::{Page, PageEvent};
use serde_json::json;

use super::{extensions, versions, Problem, Reader};
use crate::AppState;

/// Longest query string taken.
const MAX_QUERY: usize = 8 * 1024;

/// The query string's parameters, plus `extra` (a path's implied parameter).
pub(super) fn pairs(
    uri: &Uri,
    extra: Option<(&str, String)>,
) -> Result<Vec<(String, String)>, Problem> {
    let q = uri.query().unwrap_or_default();
    if q.len() > MAX_QUERY {
        return Err(Problem::bad_query(format!(
            "the query string is longer than {MAX_QUERY} bytes"
        )));
    }
    let mut out: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some((k, v)) = extra {
        out.push((k.to_owned(), v));
    }
    Ok(out)
}

/// Runs a query and answers its page as an EPCISQueryDocument.
async fn answer(
    s: &AppState,
    r: &Reader,
    uri: &Uri,
    extra: Option<(&str, String)>,
) -> Result<Response, Problem> {
    let pairs = pairs(uri, extra)?;
    let q = Query::parse(&pairs, &extensions(&r.caller.headers), s.trace().forms())
        .map_err(idnode_trace::TraceError::from)?;
    let page = s.trace().query(&r.principal, &q).await?;
    document(r, uri, "SimpleEventQuery", page)
}

/// A page as the EPCISQueryDocument of the query `name`, with a `Link` to the next; EPCs
/// as the reader's `GS1-EPC-Format` asks.
pub(super) fn document(r: &Reader, uri: &Uri, name: &str, page: Page) -> Result<Response, Problem> {
    let links = digital_links(&r.caller.headers)?;
    let events: Vec<_> = page
        .events
        .into_iter()
        .map(|PageEvent { mut body, context }| {
            if links {
                idnode_epcis::to_digital_links(&mut body);
            }
            (body, context)
        })
        .collect();
    let now = idnode_epcis::index::rfc3339(idnode_store::now_millis());
    let doc = query_document(name, &events, &now);
    let mut resp = Json(doc).into_response();
    if let Some(token) = page.next {
        let link = format!("<{}>; rel=\"next\"", next_url(uri, &token));
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    versions(resp.headers_mut());
    let format = if links {
        "Always_GS1_Digital_Link"
    } else {
        "Never_Translates"
    };
    resp.headers_mut()
        .insert("gs1-epc-format", HeaderValue::from_static(format));
    Ok(resp)
}

/// What `GS1-EPC-Format` asks of an answer: whether EPC URNs are written as GS1 Digital
/// Links. Absent, `No_Preference` and `Never_Translates`: events as captured.
/// `Always_EPC_URN` cannot be honoured: a Digital Link becomes an EPC URN only with the
/// length of its GS1 company prefix, which this node does not hold.
fn digital_links(headers: &axum::http::HeaderMap) -> Result<bool, Problem> {
    match headers
        .get("gs1-epc-format")
        .map(|v| v.to_str().unwrap_or_default())
    {
        None | Some("No_Preference" | "Never_Translates") => Ok(false),
        Some("Always_GS1_Digital_Link") => Ok(true),
        Some("Always_EPC_URN") => Err(Problem::not_acceptable(
            "GS1-EPC-Format: Always_EPC_URN is not offered (a Digital Link becomes an EPC URN \
             only with its GS1 company prefix's length); ask for No_Preference, \
             Never_Translates or Always_GS1_Digital_Link",
        )),
        Some(other) => Err(Problem::bad_query(format!(
            "GS1-EPC-Format: {other} is none of No_Preference, Always_GS1_Digital_Link, \
             Always_EPC_URN, Never_Translates"
        ))),
    }
}

/// The request's URL with `nextPageToken` set to `token`.
fn next_url(uri: &Uri, token: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if k != "nextPageToken" {
            q.append_pair(&k, &v);
        }
    }
    q.append_pair("nextPageToken", token);
    format!("{}?{}", uri.path(), q.finish())
}

/// `GET /epcis/events`.
pub(crate) async fn events(
    State(s): State<AppState>,
    r: Reader,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, Problem> {
    answer(&s, &r, &uri, None).await
}

/// `GET /epcis/events/{eventID}`: the event, and any declarations of an error in it.
pub(crate) async fn event(
    State(s): State<AppState>,
    r: Reader,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let events = s.trace().event(&r.principal, &id).await?;
    let page = Page { events, next: None };
    document(
        &r,
        &Uri::from_static("/epcis/events"),
        "SimpleEventQuery",
        page,
    )
}

/// `GET /epcis/epcs/{epc}/events`: events naming the identifier in any role and any of its
/// URI forms.
pub(crate) async fn epc_events(
    State(s): State<AppState>,
    r: Reader,
    Path(epc): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, Problem> {
    super::trace::bounded(&epc)?;
    answer(&s, &r, &uri, Some(("MATCH_anyEPC", epc))).await
}

macro_rules! by {
    ($name:ident, $param:literal) => {
        #[doc = concat!("`GET /epcis/…/{value}/events`: the events with `", $param, "`.")]
        pub(crate) async fn $name(
            State(s): State<AppState>,
            r: Reader,
            Path(value): Path<String>,
            OriginalUri(uri): OriginalUri,
        ) -> Result<Response, Problem> {
            answer(&s, &r, &uri, Some(($param, value))).await
        }
    };
}

by!(by_event_type, "eventType");
by!(by_biz_step, "EQ_bizStep");
by!(by_disposition, "EQ_disposition");
by!(by_read_point, "EQ_readPoint");
by!(by_biz_location, "EQ_bizLocation");

/// A `Collection` of values.
fn collection(uri: &Uri, members: &[String], next: Option<String>) -> Response {
    let doc = json!({
        "@context": [idnode_epcis::render::STANDARD_CONTEXT],
        "type": "Collection",
        "member": members,
    });
    let mut resp = Json(doc).into_response();
    if let Some(token) = next {
        let link = format!("<{}>; rel=\"next\"", next_url(uri, &token));
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    versions(resp.headers_mut());
    resp
}

/// `GET /epcis/eventTypes`: the five event types.
pub(crate) async fn event_types(_: Reader, OriginalUri(uri): OriginalUri) -> Response {
    let members: Vec<String> = idnode_epcis::document::EVENT_TYPES
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    collection(&uri, &members, None)
}

async fn values(
    s: &AppState,
    r: &Reader,
    uri: &Uri,
    field: EventField,
) -> Result<Response, Problem> {
    let pairs = pairs(uri, None)?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let per_page = match get("perPage") {
        Some(v) => Some(
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Problem::bad_query("perPage: a positive integer"))?,
        ),
        None => None,
    };
    let page = s
        .trace()
        .values(&r.principal, field, get("nextPageToken"), per_page)
        .await?;
    Ok(collection(uri, &page.members, page.next))
}

macro_rules! values {
    ($name:ident, $field:expr, $what:literal) => {
        #[doc = concat!("`GET /epcis/", $what, "`: the standard terms and those in use.")]
        pub(crate) async fn $name(
            State(s): State<AppState>,
            r: Reader,
            OriginalUri(uri): OriginalUri,
        ) -> Result<Response, Problem> {
            values(&s, &r, &uri, $field).await
        }
    };
}

values!(biz_steps, EventField::BizStep, "bizSteps");
values!(dispositions, EventField::Disposition, "dispositions");
values!(read_points, EventField::ReadPoint, "readPoints");
values!(biz_locations, EventField::BizLocation, "bizLocations");
