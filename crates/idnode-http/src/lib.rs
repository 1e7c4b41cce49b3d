//! The HTTP front end: Handle.Net REST (`/api/handles`), the proxy redirect (`/{handle}`),
//! the management API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`), `/metrics`,
//! `/healthz` and `/readyz`. It only translates HTTP to resolver and registry calls.

mod auth;
mod body;
mod browser;
mod conn;
mod console;
mod endpoint;
mod epcis;
mod error;
mod handles;
mod hdl;
mod iiidap;
mod manage;
mod openapi;
mod ops;
mod query;
mod sessions;
mod site;
mod snms;
mod stats;
mod templates;
mod tls;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use idnode_registry::Registry;
use idnode_resolver::Resolver;
use idnode_trace::Traceability;
use metrics::Histogram;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

pub use conn::{BodyTimedOut, ConnLimits};
pub use endpoint::{HandleEndpoint, Proof};
pub use error::{http_status, ApiError};
pub use iiidap::MEDIA_TYPE as IIIDAP_MEDIA_TYPE;
pub use manage::ApiDoc;
pub use tls::{Tls, TlsError};

/// IIIDAP queries one client address may send per second (bursts of three times that).
pub const IIIDAP_PER_SECOND: u32 = 20;

/// Request size limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest body of a REST `PUT` (one handle record).
    pub max_body_bytes: usize,
    /// Largest body of a management batch.
    pub max_batch_bytes: usize,
    /// Request bodies held in memory at once, across all requests.
    pub max_buffered_body_bytes: usize,
    /// Idle lifetime of a REST session (`/api/sessions`).
    pub session_idle: std::time::Duration,
    /// Lifetime of a web console session (`/console`).
    pub console_session: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
            max_buffered_body_bytes: 256 * 1024 * 1024,
            session_idle: std::time::Duration::from_secs(1800),
            console_session: std::time::Duration::from_secs(8 * 3600),
        }
    }
}

/// Shared state of the HTTP front end: one `Arc`, so the per-request clone axum makes is a
/// single reference-count update.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) prometheus: Option<PrometheusHandle>,
    pub(crate) handle: Option<Arc<dyn HandleEndpoint>>,
    pub(crate) iiidap_limiter: idnode_ratelimit::ClientLimiter,
    pub(crate) limits: Limits,
    /// KiB of request bodies that may be buffered at once (`Limits::max_buffered_body_bytes`).
    pub(crate) body_budget: Arc<tokio::sync::Semaphore>,
    /// The served OpenAPI document, made on first request.
    pub(crate) openapi: OnceLock<String>,
    /// Handle.Net REST sessions (`/api/sessions`).
    pub(crate) rest_sessions: sessions::RestSessions,
    /// Traceability (`/epcis`).
    pub(crate) trace: Arc<Traceability>,
    /// The last hour of `/metrics`, for the console's dashboard.
    pub(crate) sampler: Arc<console::Sampler>,
    /// The console's imports under way or done.
    pub(crate) imports: console::ImportJobs,
}

impl AppState {
    /// State over the services; `prometheus` renders `/metrics` when given; `handle`
    /// answers binary Handle messages POSTed to `/` when given.
    pub fn new(
        resolver: Arc<Resolver>,
        registry: Arc<Registry>,
        prometheus: Option<PrometheusHandle>,
        handle: Option<Arc<dyn HandleEndpoint>>,
        trace: Arc<Traceability>,
        limits: Limits,
    ) -> Self {
        // The budget holds at least one largest body.
        let budget = limits
            .max_buffered_body_bytes
            .max(limits.max_batch_bytes)
            .max(limits.max_body_bytes);
        let permits = budget
            .div_ceil(1024)
            .min(tokio::sync::Semaphore::MAX_PERMITS);
        let sampler = console::Sampler::start(prometheus.clone());
        Self(Arc::new(Inner {
            resolver,
            registry,
            sampler,
            imports: console::ImportJobs::default(),
            prometheus,
            handle,
            iiidap_limiter: idnode_ratelimit::ClientLimiter::per_second(IIIDAP_PER_SECOND),
            limits: Limits {
                max_buffered_body_bytes: budget,
                ..limits
            },
            body_budget: Arc::new(tokio::sync::Semaphore::new(permits)),
            openapi: OnceLock::new(),
            rest_sessions: sessions::RestSessions::new(limits.session_idle),
            trace,
        }))
    }

    /// The traceability service.
    pub(crate) fn trace(&self) -> &Traceability {
        &self.0.trace
    }
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
/// Call before building services so their counters register with it. Histogram samples
/// are folded into buckets every five seconds (and at every scrape), so memory stays
/// bounded when nobody scrapes.
pub fn install_prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("seconds".into()),
                    &[
                        0.000_05, 0.0001, 0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                        0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            conn::register_metrics();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .expect("a thread can be spawned");
            handle
        })
        .clone()
}

/// The complete router. Handlers read request bodies themselves, after authenticating the
/// caller (`body.rs`), within the state's limits.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/handles/{*handle}",
            get(handles::get_handle)
                .put(handles::put_handle)
                .delete(handles::delete_handle),
        )
        .route("/api/handles", get(handles::list_handles))
        .route("/api/site", get(site::site))
        .route("/api/prefixes", get(site::prefixes))
        .route("/api/sessions", post(sessions::create))
        .route(
            "/api/sessions/this",
            get(sessions::show)
                .put(sessions::authenticate)
                .post(sessions::authenticate)
                .delete(sessions::end),
        )
        .nest("/api/v1", manage::router())
        .nest("/iiidap", iiidap::router())
        .nest("/epcis", epcis::router())
        .merge(snms::router())
        .merge(console::router())
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/api/v1/openapi.json", get(manage::openapi))
        .route("/{*handle}", get(handles::redirect))
        .route("/", get(browser::landing))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            hdl::intercept,
        ))
        .layer(middleware::from_fn(observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            ops::panic_response,
        ))
        .with_state(state)
}

/// Route labels of the request-duration histogram (a small fixed set).
const ROUTES: [&str; 8] = [
    "/api/handles/{handle}",
    "/api/handles",
    "/{handle}",
    "/metrics",
    "/health",
    "/api/v1",
    "/epcis",
    "other",
];
const METHODS: [&str; 5] = ["GET", "PUT", "DELETE", "POST", "other"];

/// Histogram handles registered once, so timing a request costs no registry look-up.
fn histograms() -> &'static [[Histogram; METHODS.len()]; ROUTES.len()] {
    static H: OnceLock<[[Histogram; METHODS.len()]; ROUTES.len()]> = OnceLock::new();
    H.get_or_init(|| {
        ROUTES.map(|route| {
            METHODS.map(|method| {
                metrics::histogram!(
                    "idnode_http_request_duration_seconds",
                    "route" => route,
                    "method" => method,
                )
            })
        })
    })
}

fn route_index(p: &str) -> usize {
    match p {
        "/api/handles/{*handle}" => 0,
        "/api/handles" => 1,
        "/{*handle}" => 2,
        "/metrics" => 3,
        "/healthz" | "/readyz" => 4,
        p if p.starts_with("/api/v1") => 5,
        p if p.starts_with("/epcis") => 6,
        _ => 7,
    }
}

async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(ROUTES.len() - 1, |m| route_index(m.as_str()));
    let method = match *req.method() {
        Method::GET => 0,
        Method::PUT => 1,
        Method::DELETE => 2,
        Method::POST => 3,
        _ => 4,
    };
    let resp = next.run(req).await;
    histograms()[route][method].record(start.elapsed().as_secs_f64());
    resp
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes. Plain
/// anonymous `GET /api/handles/{handle}` requests are answered before routing
/// (`handles::plain_get`): the same answer the router gives, without its layers.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    router: Router,
    limits: ConnLimits,
    tls: Option<Arc<Tls>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use futures_util::FutureExt as _;
    use tower::ServiceExt as _;
    let app = tower::service_fn(move |req: Request| {
        let start = Instant::now();
        let plain = handles::plain_get(&req);
        let ip = auth::peer_ip(req.extensions());
        let hit = plain
            .as_ref()
            .and_then(|id| handles::cached_hit(&state, id, ip));
        if hit.is_some() {
            histograms()[0][0].record(start.elapsed().as_secs_f64());
        }
        let (state, router) = (state.clone(), router.clone());
        async move {
            match (hit, plain) {
                (Some(resp), _) => Ok(resp),
                (None, Some(id)) => {
                    // What the router's panic layer would do.
                    let resp = std::panic::AssertUnwindSafe(handles::plain_miss(&state, id, ip))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(ops::panic_response);
                    histograms()[0][0].record(start.elapsed().as_secs_f64());
                    Ok(resp)
                }
                (None, None) => router.oneshot(req).await,
            }
        }
    });
    conn::serve(listener, conn::App::new(app), limits, tls, shutdown).await
}

/// Whether the request reached the node over TLS: on the HTTPS listener (which sets
/// `X-Forwarded-Proto: https` on every request), or through a proxy that says so.
pub(crate) fn over_tls(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Headers holding one header, for unit tests.
#[cfg(test)]
pub(crate) fn one_header(name: axum::http::HeaderName, value: &str) -> axum::http::HeaderMap {
    let mut h = axum::http::HeaderMap::new();
    h.insert(name, value.parse().unwrap());
    h
}
