//! The HTTP front end: Handle.Net REST (`/api/handles`), the proxy redirect (`/{handle}`),
//! the management API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`), `/metrics`,
//! `/healthz` and `/readyz`. It only translates HTTP to resolver and registry calls.

mod auth;
mod error;
mod handles;
mod manage;
mod ops;
mod query;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use idnode_registry::Registry;
use idnode_resolver::Resolver;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

pub use error::{http_status, ApiError};
pub use manage::ApiDoc;

/// Request size limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest body of a REST `PUT` (one handle record).
    pub max_body_bytes: usize,
    /// Largest body of a management batch.
    pub max_batch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Shared state of the HTTP front end.
#[derive(Clone)]
pub struct AppState {
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) prometheus: Option<PrometheusHandle>,
}

impl AppState {
    /// State over the services; `prometheus` renders `/metrics` when given.
    pub fn new(
        resolver: Arc<Resolver>,
        registry: Arc<Registry>,
        prometheus: Option<PrometheusHandle>,
    ) -> Self {
        Self {
            resolver,
            registry,
            prometheus,
        }
    }
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
/// Call before building services so their counters register with it.
pub fn install_prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("seconds".into()),
                    &[
                        0.000_05, 0.0001, 0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                        0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

/// The complete router.
pub fn router(state: AppState, limits: &Limits) -> Router {
    Router::new()
        .route(
            "/api/handles/{*handle}",
            get(handles::get_handle)
                .put(handles::put_handle)
                .delete(handles::delete_handle)
                .layer(DefaultBodyLimit::max(limits.max_body_bytes)),
        )
        .route("/api/handles", get(handles::list_handles))
        .nest("/api/v1", manage::router(limits))
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/api/v1/openapi.json", get(manage::openapi))
        .route("/{*handle}", get(handles::redirect))
        .route("/", post(ops::not_found).get(ops::not_found))
        .layer(middleware::from_fn(observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            ops::panic_response,
        ))
        .with_state(state)
}

async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| route_label(m.as_str()));
    let method = req.method().clone();
    let resp = next.run(req).await;
    metrics::histogram!(
        "idnode_http_request_duration_seconds",
        "route" => route,
        "method" => method.to_string(),
    )
    .record(start.elapsed().as_secs_f64());
    resp
}

/// Maps matched paths to a small, fixed label set.
fn route_label(p: &str) -> &'static str {
    match p {
        "/api/handles/{*handle}" => "/api/handles/{handle}",
        "/api/handles" => "/api/handles",
        "/{*handle}" => "/{handle}",
        "/metrics" => "/metrics",
        "/healthz" | "/readyz" => "/health",
        p if p.starts_with("/api/v1") => "/api/v1",
        _ => "other",
    }
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
