//! The stand-in's HTTPS interfaces: the escrow agent's upload (`PUT /escrow/{file}`), the
//! report interface (`PUT /report/sln-escrow-report/{prefix}/{id}`, `PUT
//! /report/statistics/{prefix}/{kind}/{label}`), monitoring (`/info/report/…`) and the IIIDAP
//! bootstrap registry (`PUT /iiidap/bootstrap/{prefix}`, `GET /iiidap/bootstrap.json`).
//! Clients authenticate with HTTP Basic and their EPP credentials.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State as AxState};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use base64::Engine as _;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::state::{Client, State};

/// Largest upload (one deposit file).
const MAX_UPLOAD: usize = 1 << 30;

#[derive(Clone)]
struct App {
    state: Arc<State>,
    dir: PathBuf,
}

fn result(status: StatusCode, code: u16, msg: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><response xmlns="urn:ietf:params:xml:ns:indea-1.0"><result code="{code}"><msg>{}</msg></result></response>"#,
        quick_escape(msg)
    );
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn quick_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain")],
        msg.to_owned(),
    )
        .into_response()
}

async fn client(app: &App, headers: &HeaderMap) -> Result<Client, Response> {
    let unauthorized = || plain(StatusCode::UNAUTHORIZED, "credentials required");
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(unauthorized)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| unauthorized())?;
    let text = String::from_utf8(raw).map_err(|_| unauthorized())?;
    let (user, pw) = text.split_once(':').ok_or_else(unauthorized)?;
    match app.state.authenticate(user, pw).await {
        Ok(Some(c)) => Ok(c),
        _ => Err(unauthorized()),
    }
}

impl FromRequestParts<App> for Client {
    type Rejection = Response;

    /// The client whose credentials (HTTP Basic) the request carries: 401 without good ones.
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        client(app, &parts.headers).await
    }
}

/// A request to a `{prefix}` route from the client whose prefix it is.
struct Owner;

impl FromRequestParts<App> for Owner {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let c = Client::from_request_parts(parts, app).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        if params.get("prefix") != Some(&c.prefix) {
            return Err(plain(
                StatusCode::UNAUTHORIZED,
                "credentials do not authorize this prefix",
            ));
        }
        Ok(Self)
    }
}

async fn escrow_put(
    AxState(app): AxState<App>,
    Path(file): Path<String>,
    c: Client,
    body: Bytes,
) -> Response {
    let f = match idnode_escrow::parse_file_name(&file) {
        Ok(f) => f,
        Err(e) => return result(StatusCode::BAD_REQUEST, 2001, &e.to_string()),
    };
    if f.prefix != c.prefix {
        return plain(StatusCode::FORBIDDEN, "not your prefix");
    }
    let dir = app.dir.join("escrow").join(&c.id);
    let written = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(dir.join(&file), &body).await
    };
    if let Err(e) = written.await {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    match app.state.check_deposit(&c.id, &dir, &file).await {
        Ok(Some(check)) => {
            tracing::info!(client = %c.id, deposit = %check.id, status = %check.status, detail = %check.detail, "escrow deposit checked");
            result(
                StatusCode::OK,
                1000,
                &format!("received; deposit {}", check.status),
            )
        }
        Ok(None) => result(StatusCode::OK, 1000, "received"),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn report_put(
    AxState(app): AxState<App>,
    Path((prefix, id)): Path<(String, String)>,
    _: Owner,
    body: Bytes,
) -> Response {
    let r = match idnode_escrow::parse_report(&body) {
        Ok(r) => r,
        Err(e) => return result(StatusCode::BAD_REQUEST, e.code(), &e.to_string()),
    };
    let now = crate::password::now_millis() / 1000;
    let refusal = if r.id != id {
        Some((2004, "the report id differs from the URL"))
    } else if r.prefix != prefix {
        Some((2201, "the header prefix differs from the URL"))
    } else if r.watermark > now + 300 || r.created > now + 300 {
        Some((2002, "a date lies in the future"))
    } else if r.kind == idnode_escrow::Kind::Diff && idnode_escrow::is_sunday(r.watermark) {
        Some((2202, "differential report for a Sunday"))
    } else {
        None
    };
    if let Some((code, msg)) = refusal {
        return result(StatusCode::OK, code, msg);
    }
    match app
        .state
        .put_report(&prefix, &id, r.watermark, &String::from_utf8_lossy(&body))
        .await
    {
        Ok(()) => result(StatusCode::OK, 1000, "report accepted"),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn statistics_put(
    AxState(app): AxState<App>,
    Path((prefix, kind, label)): Path<(String, String, String)>,
    _: Owner,
    body: Bytes,
) -> Response {
    let doc: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return result(StatusCode::BAD_REQUEST, 2001, &e.to_string()),
    };
    if doc["version"] != "1.0" {
        return result(StatusCode::OK, 2003, "unsupported report version");
    }
    if doc["node"] != prefix.as_str()
        || doc["kind"] != kind.as_str()
        || doc["period"]["label"] != label.as_str()
    {
        return result(
            StatusCode::OK,
            2201,
            "node, kind or period differ from the URL",
        );
    }
    for field in [
        "registrations",
        "resolutions",
        "enterprises",
        "availability",
    ] {
        if !doc[field].is_object() {
            return result(StatusCode::BAD_REQUEST, 2001, &format!("no {field}"));
        }
    }
    match app
        .state
        .put_statistics(
            &prefix,
            &format!("{kind}/{label}"),
            &String::from_utf8_lossy(&body),
        )
        .await
    {
        Ok(()) => result(StatusCode::OK, 1000, "statistics accepted"),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn info_report(
    AxState(app): AxState<App>,
    Path((prefix, date)): Path<(String, String)>,
) -> StatusCode {
    match app.state.report_on(&prefix, &date).await {
        Ok(true) => StatusCode::OK,
        Ok(false) => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The base URLs of a bootstrap body `{"urls": [...]}`, each ending with `/`, or why not.
fn base_urls(body: &[u8]) -> Result<Vec<String>, &'static str> {
    let urls: Vec<String> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::from_value(v["urls"].clone()).ok())
        .ok_or("expected {\"urls\": [...]}")?;
    if urls.is_empty() || urls.iter().any(|u| !u.ends_with('/') || u.len() > 512) {
        return Err("base URLs end with /");
    }
    Ok(urls)
}

async fn bootstrap_put(
    AxState(app): AxState<App>,
    _: Owner,
    Path(prefix): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let urls = base_urls(&body).map_err(|why| result(StatusCode::BAD_REQUEST, 2001, why))?;
    Ok(match app.state.put_bootstrap(&prefix, &urls).await {
        Ok(()) => result(StatusCode::OK, 1000, "registered"),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    })
}

async fn bootstrap_get(AxState(app): AxState<App>) -> Response {
    match app.state.bootstrap().await {
        Ok(v) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response(),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn router(state: Arc<State>, dir: PathBuf) -> Router {
    Router::new()
        .route("/escrow/{file}", put(escrow_put))
        .route("/report/sln-escrow-report/{prefix}/{id}", put(report_put))
        .route(
            "/report/statistics/{prefix}/{kind}/{label}",
            put(statistics_put),
        )
        .route(
            "/info/report/sln-escrow-report/{prefix}/{date}",
            get(info_report).head(info_report),
        )
        .route("/iiidap/bootstrap/{prefix}", put(bootstrap_put))
        .route("/iiidap/bootstrap.json", get(bootstrap_get))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .with_state(App { state, dir })
}

/// Serves HTTPS on `listener` until the task is dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<State>,
    dir: PathBuf,
) {
    let mut tls = (*tls).clone();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let app = router(state, dir);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = conns.join_next() => continue,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        conns.spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    /// Writes under a `{prefix}` route need the credentials of that prefix's client.
    #[tokio::test]
    async fn prefix_routes_take_only_their_own_clients() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(
            State::open(dir.path(), Default::default(), false)
                .await
                .unwrap(),
        );
        for (id, prefix, password) in [("a", "88.118", "pw-a"), ("b", "88.119", "pw-b")] {
            state.add_client(id, prefix, password).await.unwrap();
        }
        let app = router(state, dir.path().to_owned());
        let put = |prefix: &str, creds: Option<&str>| {
            let mut req = Request::put(format!("/iiidap/bootstrap/{prefix}"));
            if let Some(c) = creds {
                let basic = base64::engine::general_purpose::STANDARD.encode(c);
                req = req.header(header::AUTHORIZATION, format!("Basic {basic}"));
            }
            let body = r#"{"urls": ["https://rdap.example/"]}"#;
            app.clone().oneshot(req.body(Body::from(body)).unwrap())
        };
        let text = |r: Response| async move {
            let status = r.status();
            let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        };
        let (status, body) = text(put("88.118", None).await.unwrap()).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::UNAUTHORIZED, "credentials required")
        );
        let (status, body) = text(put("88.118", Some("a:wrong")).await.unwrap()).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::UNAUTHORIZED, "credentials required")
        );
        let (status, body) = text(put("88.118", Some("b:pw-b")).await.unwrap()).await;
        assert_eq!(
            (status, body.as_str()),
            (
                StatusCode::UNAUTHORIZED,
                "credentials do not authorize this prefix"
            )
        );
        let (status, body) = text(put("88.118", Some("a:pw-a")).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains(r#"code="1000""#), "{body}");
    }
}
