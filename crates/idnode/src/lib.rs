//! The `idnode` binary's library: configuration, wiring of stores and services, the
//! command implementations. `main.rs` only parses the command line.

pub mod cli;
pub mod config;
mod demo;
pub mod transfer;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use idnode_http::{AppState, Limits};
use idnode_registry::{Principal, Registry};
use idnode_resolver::{CacheConfig, Resolver};
use idnode_store::Store;
use idnode_store_postgres::PgStore;
use idnode_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use config::Config;

/// Opens the store named by a database URL (creating the SQLite directory when needed).
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = Path::new(file)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(Arc::new(SqliteStore::connect(url).await.with_context(
            || format!("opening {}", config::redact_url(url)),
        )?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await.with_context(
            || format!("connecting to {}", config::redact_url(url)),
        )?))
    } else {
        bail!("database URL must start with sqlite:// or postgres://")
    }
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
}

impl Services {
    /// Wires resolver and registry over `store` for the node prefix.
    pub fn new(store: Arc<dyn Store>, node_prefix: &str, cache: &config::CacheSection) -> Self {
        // The recorder must exist before the services register their counters.
        idnode_http::install_prometheus();
        let resolver = Arc::new(Resolver::new(
            store.clone(),
            vec![node_prefix.to_owned()],
            &CacheConfig {
                capacity_bytes: cache.capacity_bytes,
                max_age: Duration::from_secs(cache.max_age_secs.max(1)),
                negative_ttl: Duration::from_secs(cache.negative_ttl_secs),
                ..CacheConfig::default()
            },
        ));
        let registry = Arc::new(Registry::new(store.clone(), resolver.clone(), node_prefix));
        Self {
            store,
            resolver,
            registry,
        }
    }

    /// Wires the services of an initialised node.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let store = open_store(&config.database.url).await?;
        let Some(prefix) = node_prefix(&store).await? else {
            bail!(
                "the node is not initialised: run `idnode init --node-prefix 88.xxx` \
                 (or `idnode serve --demo`)"
            );
        };
        Ok(Self::new(store, &prefix, &config.cache))
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
    /// Where HTTP listens.
    pub http_addr: SocketAddr,
    /// The services behind it.
    pub services: Arc<Services>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningNode {
    /// Stops serving and waits for in-flight requests.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
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
    let state = AppState::new(
        services.resolver.clone(),
        services.registry.clone(),
        Some(prometheus),
    );
    let router = idnode_http::router(
        state.clone(),
        &Limits {
            max_body_bytes: config.http.max_body_bytes,
            max_batch_bytes: config.http.max_batch_bytes,
        },
    );
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(idnode_http::serve(listener, state, router, async {
        let _ = rx.await;
    }));
    Ok(RunningNode {
        http_addr,
        services,
        stop: Some(tx),
        task,
    })
}
