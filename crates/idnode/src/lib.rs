//! The `idnode` binary's library: configuration, wiring of stores and services, the
//! command implementations. `main.rs` only parses the command line.

pub mod audit;
pub mod cli;
pub mod config;
mod demo;
mod dns;
pub mod escrow;
pub mod files;
pub mod import;
mod instance;
pub mod keys;
pub mod maintenance;
mod over_http;
pub mod reports;
mod snapshot;
pub mod templates;
pub mod tls;
pub mod traceability;
pub mod transfer;
pub mod upstream;
mod webhooks;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use idnode_core::{address_bytes, SiteInfo, SiteInterface, SiteServer};
use idnode_handle::server_key::ServerKey;
use idnode_handle::{serve_tcp, serve_udp, HandleService, ServiceConfig, TcpLimits};
use idnode_http::AppState;
use idnode_registry::{Principal, Registry};
use idnode_resolver::{CacheConfig, Resolver};
use idnode_store::{Store, StoreError};
use idnode_store_postgres::PgStore;
use idnode_store_sqlite::SqliteStore;
pub use keys::{load_sealing_key, load_server_key, rotate_server_key};
use tokio::net::TcpListener;
use tokio::net::UdpSocket;
use tokio::sync::watch;

pub use config::Config;

/// Opens the store named by the database settings. A SQLite database file (and its WAL and
/// shared-memory files, which SQLite creates with the database's mode) is readable by its
/// owner only, since it holds secret hashes; a new directory for it is made mode 0700.
pub async fn open_store(db: &config::DatabaseConfig) -> anyhow::Result<Arc<dyn Store>> {
    let url = db.url.as_str();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if !file.starts_with(':') {
            files::private_file(Path::new(file))?;
        }
        Ok(Arc::new(
            SqliteStore::connect_with(url, &db.options())
                .await
                .with_context(|| format!("opening {}", config::redact_url(url)))?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            PgStore::connect_with(url, &db.options())
                .await
                .with_context(|| format!("connecting to {}", config::redact_url(url)))?,
        ))
    } else {
        bail!("database URL must start with sqlite:// or postgres://")
    }
}

/// [`open_store`], except that an unreachable PostgreSQL is not waited for: the store
/// reaches (and migrates) it when it first answers, every call failing as unavailable
/// until then. For a node that may start from its cache snapshot.
pub async fn open_store_later(db: &config::DatabaseConfig) -> anyhow::Result<Arc<dyn Store>> {
    let url = db.url.as_str();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            PgStore::connect_later(url, &db.options())
                .await
                .with_context(|| format!("connecting to {}", config::redact_url(url)))?,
        ))
    } else {
        open_store(db).await
    }
}

/// Whether `e` says the database did not answer.
pub fn is_unavailable(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<StoreError>(),
        Some(StoreError::Unavailable(_))
    )
}

/// The read-only stores of `[database] replicas` (PostgreSQL streaming replicas).
async fn open_replicas(db: &config::DatabaseConfig) -> anyhow::Result<Vec<Arc<dyn Store>>> {
    let options = idnode_store::StoreOptions {
        replica: true,
        ..db.options()
    };
    let mut out: Vec<Arc<dyn Store>> = Vec::new();
    for url in &db.replicas {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("[database] replicas are postgres:// URLs");
        }
        // Not waited for: a replica that does not answer is left out of reads until it does.
        let store = PgStore::connect_later(url, &options)
            .await
            .with_context(|| format!("connecting to replica {}", config::redact_url(url)))?;
        out.push(Arc::new(store));
    }
    Ok(out)
}

/// The node's own prefix as recorded by `idnode init`, if any.
pub async fn node_prefix(store: &Arc<dyn Store>) -> anyhow::Result<Option<String>> {
    Ok(store
        .list_prefixes(None)
        .await?
        .into_iter()
        .find(|p| p.enterprise_id.is_none())
        .map(|p| p.prefix))
}

/// The wired services of a node.
pub struct Services {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The resolver.
    pub resolver: Arc<Resolver>,
    /// The registry.
    pub registry: Arc<Registry>,
    /// This instance's name among those sharing the database (holder of its leases), set
    /// when it starts serving ([`instance::name_of`]).
    pub instance: std::sync::OnceLock<String>,
}

impl Services {
    /// Wires resolver and registry over `store` for the node prefix. The sealing key must
    /// agree with the one the database is used with ([`keys::sealing_key`]).
    pub async fn new(
        store: Arc<dyn Store>,
        node_prefix: &str,
        config: &Config,
    ) -> anyhow::Result<Self> {
        let cache = &config.cache;
        let sealing = keys::sealing_key(&store, &config.seal_key_path()).await?;
        // The recorder must exist before the services register their counters.
        idnode_http::install_prometheus();
        let replicas = open_replicas(&config.database).await?;
        let resolver = Arc::new(
            Resolver::new(
                store.clone(),
                vec![node_prefix.to_owned()],
                &CacheConfig {
                    capacity_bytes: cache.capacity_bytes,
                    max_age: Duration::from_secs(cache.max_age_secs.max(1)),
                    negative_ttl: Duration::from_secs(cache.negative_ttl_secs),
                    stale_if_down: Duration::from_secs(cache.stale_if_down_secs),
                    miss_reads: cache.miss_reads_in_flight.clamp(1, 12),
                    ..CacheConfig::default()
                },
            )
            .with_replicas(
                replicas,
                Duration::from_millis(config.database.replica_max_lag_ms),
            ),
        );
        let mut registry = Registry::new(store.clone(), resolver.clone(), node_prefix)
            .with_sealing_key(sealing)
            .with_quotas(config.quotas.quotas())
            .with_token_lifetime(Duration::from_secs(config.snms.token_lifetime_secs.max(1)));
        if let Some(policy) = config.upstream.policy() {
            registry = registry.with_upstream(policy);
        }
        let registry = Arc::new(registry);
        Ok(Self {
            store,
            resolver,
            registry,
            instance: std::sync::OnceLock::new(),
        })
    }

    /// Wires the services of an initialised node.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let store = open_store(&config.database).await?;
        let Some(prefix) = node_prefix(&store).await? else {
            bail!(
                "the node is not initialised: run `idnode init --node-prefix 88.xxx` \
                 (or `idnode serve --demo`)"
            );
        };
        Self::new(store, &prefix, config).await
    }
}

/// The principal of commands run on the node's own machine.
pub fn cli_operator() -> Principal {
    Principal::Operator {
        identity: "cli:operator".into(),
    }
}

/// A node serving HTTP, stopped by [`RunningNode::stop`] or dropping it.
pub struct RunningNode {
    /// Where the Handle protocol front end listens (TCP and UDP).
    pub handle_addr: SocketAddr,
    /// Where HTTP listens.
    pub http_addr: SocketAddr,
    /// Where HTTPS listens, when configured (`[tls]`).
    pub https_addr: Option<SocketAddr>,
    /// Where the DNS front end listens (UDP and TCP), when configured.
    pub dns_addr: Option<SocketAddr>,
    /// The services behind it.
    pub services: Arc<Services>,
    stop: Option<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    handle_tasks: Vec<tokio::task::JoinHandle<()>>,
    upstream: Option<idnode_upstream::WorkerHandle>,
    background: Vec<tokio::task::JoinHandle<()>>,
    /// Where the cache's snapshot is written when the node stops.
    snapshot: Option<std::path::PathBuf>,
    /// Other instances' changes, heard while this is held.
    _changes: Option<idnode_store::ChangeWatch>,
}

impl RunningNode {
    /// Stops serving and waits for in-flight requests.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        (&mut self.task).await??;
        for t in std::mem::take(&mut self.handle_tasks) {
            t.await?;
        }
        if let Some(w) = self.upstream.take() {
            w.shutdown().await;
        }
        for t in std::mem::take(&mut self.background) {
            t.abort();
        }
        if let Some(path) = self.snapshot.take() {
            let s = &self.services;
            let prefix = s.registry.node_prefix().to_owned();
            snapshot::save_logged(s.resolver.clone(), prefix, path).await;
        }
        Ok(())
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        for t in &self.background {
            t.abort();
        }
    }
}

/// Starts the HTTP front end of `services` on `config.http.listen` (port 0 picks one).
pub async fn start(config: &Config, services: Arc<Services>) -> anyhow::Result<RunningNode> {
    let prometheus = idnode_http::install_prometheus();
    let listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http.listen))?;
    let http_addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let _ = services.instance.set(instance::name_of(http_addr));
    let (handle_addr, tcp, udp) = bind_tcp_udp(config.handle.listen, "Handle").await?;
    let server_key = Arc::new(keys::server_key(&services.store, &config.server_key_path()).await?);
    let mut handle_config = handle_config(&config.handle, handle_addr, http_addr, &server_key);
    handle_config.toplevel = config.upstream.handle_server;
    handle_config.upstream_timeout = Duration::from_secs(config.upstream.timeout_secs.max(1));
    let upstream = upstream::start(config, &services, handle_config.site.clone()).await?;
    let mut background = vec![reports::spawn(config.clone(), services.clone())?];
    let prefix = services.registry.node_prefix().to_owned();
    background.extend(snapshot::spawn(config, services.resolver.clone(), prefix));
    if config.escrow.enabled {
        background.push(escrow::spawn_schedule(config.clone(), services.clone())?);
    }
    let handle = Arc::new(HandleService::new(
        services.resolver.clone(),
        services.registry.clone(),
        &handle_config,
    ));
    let trace = Arc::new(config.epcis.service(
        services.store.clone(),
        services.registry.clone(),
        http_addr,
    ));
    if !config.database.replicas.is_empty() {
        background.push(tokio::spawn(measure_replicas(services.resolver.clone())));
    }
    let changes = {
        let (registry, trace) = (services.registry.clone(), trace.clone());
        services
            .store
            .watch_changes(Arc::new(move |change: idnode_store::Change| {
                registry.heard(&change);
                trace.heard(&change);
            }))
    };
    background.push(webhooks::spawn(
        trace.clone(),
        config.epcis.webhook_private,
        instance::lease(&services, "webhooks", instance::TERM),
    )?);
    let state = AppState::new(
        services.resolver.clone(),
        services.registry.clone(),
        Some(prometheus),
        Some(Arc::new(over_http::HandleOverHttp(handle.clone()))),
        trace.clone(),
        idnode_http::Limits {
            session_idle: Duration::from_secs(config.handle.session_idle_secs.max(1)),
            ..config.http.limits()
        },
    );
    let router = idnode_http::router(state.clone());
    let limits = TcpLimits {
        max_connections: config.handle.max_connections,
        idle_timeout: Duration::from_secs(config.handle.idle_timeout_secs),
        read_timeout: Duration::from_secs(config.handle.read_timeout_secs),
    };
    let mut handle_tasks = vec![
        tokio::spawn(serve_tcp(tcp, handle.clone(), limits, stopped(rx.clone()))),
        tokio::spawn(serve_udp(udp, handle.clone(), stopped(rx.clone()))),
    ];
    let ports = (handle_addr.port(), http_addr.port());
    let dns_addr = start_dns(config, &services, ports, &rx, &mut handle_tasks).await?;
    let https_addr = match tls::start(config, &state, &router, stopped(rx.clone())).await? {
        None => None,
        Some((bound, serving, reload)) => {
            handle_tasks.push(serving);
            background.push(reload);
            Some(bound)
        }
    };
    let task = tokio::spawn(idnode_http::serve(
        listener,
        state,
        router,
        config.http.conn_limits(),
        None,
        stopped(rx),
    ));
    Ok(RunningNode {
        handle_addr,
        handle_tasks,
        http_addr,
        https_addr,
        dns_addr,
        services,
        stop: Some(tx),
        task,
        upstream,
        background,
        snapshot: config.cache.snapshot_file.clone(),
        _changes: changes,
    })
}

/// Resolves when the node is told to stop.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Measures the read replicas' lag, every 100 ms, for as long as the node runs.
async fn measure_replicas(resolver: Arc<Resolver>) {
    loop {
        resolver.measure_replicas().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts the DNS front end when `[dns] listen` is set: its UDP and TCP serving tasks join
/// `tasks`, and its bound address is returned. `ports` are the Handle and HTTP ports its
/// SRV records name.
async fn start_dns(
    config: &Config,
    services: &Services,
    ports: (u16, u16),
    rx: &watch::Receiver<bool>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(addr) = config.dns.listen else {
        return Ok(None);
    };
    let service = Arc::new(dns::service(
        &config.dns,
        services.resolver.clone(),
        ports.0,
        ports.1,
    )?);
    let (bound, tcp, udp) = bind_tcp_udp(addr, "DNS").await?;
    tasks.push(tokio::spawn(idnode_dns::serve_udp(
        udp,
        service.clone(),
        stopped(rx.clone()),
    )));
    tasks.push(tokio::spawn(idnode_dns::serve_tcp(
        tcp,
        service,
        stopped(rx.clone()),
    )));
    Ok(Some(bound))
}

/// Binds a TCP listener and a UDP socket on the same port for the `what` front end (with
/// port 0, the port the TCP listener got).
pub(crate) async fn bind_tcp_udp(
    addr: SocketAddr,
    what: &str,
) -> anyhow::Result<(SocketAddr, TcpListener, UdpSocket)> {
    for _ in 0..20 {
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {what} TCP on {addr}"))?;
        let bound = tcp.local_addr()?;
        match UdpSocket::bind(bound).await {
            Ok(udp) => return Ok((bound, tcp, udp)),
            Err(e) if addr.port() != 0 => {
                return Err(e).with_context(|| format!("binding {what} UDP on {bound}"))
            }
            Err(_) => continue,
        }
    }
    bail!("no port free for both {what} TCP and UDP on {}", addr.ip())
}

fn site(id: u32, ip: std::net::IpAddr, interfaces: Vec<SiteInterface>) -> SiteServer {
    SiteServer {
        id,
        address: address_bytes(ip),
        public_key: Vec::new(),
        interfaces,
    }
}

fn site_info(servers: Vec<SiteServer>, desc: &str) -> SiteInfo {
    SiteInfo {
        attributes: vec![("desc".into(), desc.into())],
        ..SiteInfo::primary(servers)
    }
}

/// This node's HS_SITE (its Handle TCP/UDP and HTTP interfaces) and the referral sites.
fn handle_config(
    c: &config::HandleSection,
    handle: SocketAddr,
    http: SocketAddr,
    server_key: &Arc<ServerKey>,
) -> ServiceConfig {
    let ip = c.public_address.unwrap_or(handle.ip());
    let both = |protocol, port: u16| SiteInterface {
        kind: 3,
        protocol,
        port: u32::from(port),
    };
    let mut own = site(
        1,
        ip,
        vec![
            both(1, handle.port()),
            both(0, handle.port()),
            both(2, http.port()),
        ],
    );
    own.public_key = server_key.public_key().encode();
    let referrals = c
        .referral
        .iter()
        .map(|r| {
            let servers = r
                .servers
                .iter()
                .zip(1..)
                .map(|(a, id)| site(id, a.ip(), vec![both(1, a.port()), both(0, a.port())]))
                .collect();
            (
                r.prefix.clone(),
                site_info(servers, &format!("site of {}", r.prefix)),
            )
        })
        .collect();
    ServiceConfig {
        site: site_info(vec![own], "idnode secondary node"),
        referrals,
        toplevel: None,
        upstream_timeout: Duration::from_secs(5),
        challenge_ttl: Duration::from_secs(c.challenge_ttl_secs.max(1)),
        session_idle: Duration::from_secs(c.session_idle_secs.max(1)),
        answers_per_second: c.answers_per_second,
        daily_requests_per_client: std::num::NonZeroU32::new(c.daily_requests_per_client),
        server_key: Some(server_key.clone()),
    }
}
