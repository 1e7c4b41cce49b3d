//! Named queries: `GET`/`POST /epcis/queries`, `GET`/`DELETE /epcis/queries/{name}`, and
//! `GET /epcis/queries/{name}/events`, the query's events page by page or, over a
//! WebSocket, as they are captured.

use axum::body::Bytes;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idnode_store::NamedQuery;
use idnode_trace::{Live, TraceError};
use serde_json::{json, Value};

use super::query::{document, pairs};
use super::{extensions_header, json_answer, versions, Problem, Reader};
use crate::AppState;

/// A named query as the standard shows it: its name and its definition.
fn query_json(q: &NamedQuery) -> Value {
    let definition: Value = serde_json::from_str(&q.definition).unwrap_or(Value::Null);
    json!({"name": q.name, "query": definition})
}

/// `GET /epcis/queries`.
pub(crate) async fn list(State(s): State<AppState>, r: Reader) -> Result<Response, Problem> {
    let queries = s.trace().named_queries(&r.principal).await?;
    let list: Vec<Value> = queries.iter().map(query_json).collect();
    Ok(json_answer(StatusCode::OK, Value::Array(list)))
}

/// `POST /epcis/queries` with `{"name": …, "query": {…}}`: 201 with its `Location`.
pub(crate) async fn create(
    State(s): State<AppState>,
    r: Reader,
    body: Bytes,
) -> Result<Response, Problem> {
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| Problem::bad_query(format!("not JSON: {e}")))?;
    let (Some(name), Some(definition)) =
        (body.get("name").and_then(Value::as_str), body.get("query"))
    else {
        return Err(Problem::bad_query(
            "a named query is {\"name\": …, \"query\": {…}}",
        ));
    };
    let ext = extensions_header(&r.caller.headers);
    let q = s
        .trace()
        .create_query(&r.principal, name, definition, &ext)
        .await?;
    let mut resp = json_answer(StatusCode::CREATED, query_json(&q));
    if let Ok(v) = HeaderValue::from_str(&format!("/epcis/queries/{}", q.name)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET /epcis/queries/{name}`.
pub(crate) async fn get(
    State(s): State<AppState>,
    r: Reader,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let q = s.trace().named_query(&r.principal, &name).await?;
    Ok(json_answer(StatusCode::OK, query_json(&q)))
}

/// `DELETE /epcis/queries/{name}`: 204.
pub(crate) async fn delete(
    State(s): State<AppState>,
    r: Reader,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    s.trace().delete_query(&r.principal, &name).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    versions(resp.headers_mut());
    Ok(resp)
}

/// `GET /epcis/queries/{name}/events`: a page of the query's events (`perPage`,
/// `nextPageToken`; the definition holds every other parameter), or, asked with
/// `Upgrade: websocket` and `stream=true`, a WebSocket subscription: each capture's events
/// the query selects, as EPCISQueryDocuments, from now on.
pub(crate) async fn events(
    State(s): State<AppState>,
    // Before `Reader`, which takes the headers.
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    r: Reader,
    Path(name): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, Problem> {
    let transport = pairs(&uri, None)?;
    if let Ok(ws) = ws {
        return live(s, r, &name, &transport, ws).await;
    }
    if let Some((k, _)) = transport
        .iter()
        .find(|(k, _)| k != "perPage" && k != "nextPageToken")
    {
        return Err(Problem::bad_query(format!(
            "{k}: a named query's parameters are in its definition; a request gives perPage and nextPageToken only"
        )));
    }
    let page = s.trace().run_query(&r.principal, &name, &transport).await?;
    document(&r, &uri, &name, page)
}

/// A WebSocket subscription: `stream=true` only (scheduled ones are not offered yet).
async fn live(
    s: AppState,
    r: Reader,
    name: &str,
    params: &[(String, String)],
    ws: WebSocketUpgrade,
) -> Result<Response, Problem> {
    let streamed = params == [("stream".to_owned(), "true".to_owned())];
    if !streamed {
        return Err(TraceError::Subscription(
            "a WebSocket subscription takes stream=true (and nothing else)".into(),
        )
        .into());
    }
    let live = s.trace().live(&r.principal, name).await?;
    Ok(ws.on_upgrade(move |socket| pump(s, live, socket)))
}

/// Sends each document as a text message until the client goes; pings every 30 s. The
/// documents are made by a task of their own, so that nothing the client sends (a pong)
/// interrupts one half made.
async fn pump(s: AppState, mut live: Live, mut socket: WebSocket) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Value>(16);
    let maker = tokio::spawn(async move {
        loop {
            let docs = match s.trace().next_live(&mut live).await {
                Ok(Some(docs)) => docs,
                Ok(None) => return,
                Err(e) => vec![serde_json::to_value(Problem::from(e)).unwrap_or_default()],
            };
            for d in docs {
                if tx.send(d).await.is_err() {
                    return;
                }
            }
        }
    });
    let period = std::time::Duration::from_secs(30);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            doc = rx.recv() => match doc {
                Some(d) => {
                    if socket.send(Message::Text(d.to_string().into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            msg = socket.recv() => match msg {
                None | Some(Err(_) | Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    maker.abort();
}
