//! `[upstream]`: the connection to the national top-level node, and its wiring.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use idnode_core::SiteInfo;
use idnode_store::StoreError;
use idnode_upstream::{EppConfig, Namespaces, Worker, WorkerConfig, WorkerHandle};
use serde::{Deserialize, Serialize};

use crate::{Config, Services};

/// `idnode upstream …`.
#[derive(Debug, clap::Subcommand)]
pub enum UpstreamCommand {
    /// The queue of upstream actions: depth, oldest age, failures, dead actions, prefixes
    /// awaiting review.
    Status {
        /// Actions listed per state.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Queues the registration of this node's site (HS_SITE) for its prefix upstream: after
    /// its address changed, or when the connection was enabled after `idnode init`.
    RegisterSite,
    /// Puts a dead (refused) action back in the queue, after fixing its cause.
    Retry {
        /// The action's id (from `status`).
        id: i64,
    },
}

fn age(ms: i64) -> String {
    let secs = (idnode_store::now_millis() - ms).max(0) / 1000;
    format!("{}h{:02}m{:02}s", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Runs an `idnode upstream` command.
pub async fn command(config: &Config, command: UpstreamCommand) -> anyhow::Result<()> {
    use idnode_store::OutboxState;
    let store = crate::open_store(&config.database).await?;
    match command {
        UpstreamCommand::Status { limit } => {
            let s = store.outbox_stats().await?;
            println!(
                "upstream: {} ({}:{} as {})",
                if config.upstream.enabled {
                    "enabled"
                } else {
                    "disabled"
                },
                config.upstream.host,
                config.upstream.port,
                config.upstream.client_id
            );
            println!(
                "queue: {} pending, {} dead, {} delivered",
                s.pending, s.dead, s.done
            );
            if let Some(t) = s.oldest_pending_at {
                println!("oldest pending: queued {} ago", age(t));
            }
            for state in [OutboxState::Pending, OutboxState::Dead] {
                for r in store.outbox_list(state, limit).await? {
                    let steps = idnode_store::Action::from_row(&r).map_or(0, |a| a.steps());
                    println!(
                        "  {:<7} #{:<6} {:<17} step {}/{} attempts {} {}",
                        state.as_str(),
                        r.id,
                        r.kind,
                        r.cursor,
                        steps,
                        r.attempts,
                        r.last_error.unwrap_or_default()
                    );
                }
            }
            for p in store.list_prefixes(None).await? {
                if p.review != idnode_store::Review::None
                    && p.review != idnode_store::Review::Approved
                {
                    println!(
                        "prefix {} review {} {}",
                        p.prefix,
                        p.review.as_str(),
                        p.review_note
                    );
                }
            }
        }
        UpstreamCommand::RegisterSite => {
            if !config.upstream.enabled {
                bail!("[upstream] is not enabled");
            }
            let services = Services::open(config).await?;
            services.registry.queue_node_site().await?;
            println!(
                "site registration for {} queued",
                services.registry.node_prefix()
            );
        }
        UpstreamCommand::Retry { id } => {
            let services = Services::open(config).await?;
            services
                .registry
                .requeue_upstream(&crate::cli_operator(), id)
                .await
                .with_context(|| format!("re-queuing upstream action {id}"))?;
            println!("upstream action {id} queued again");
        }
    }
    Ok(())
}

/// `[upstream]`.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSection {
    /// Connect to the top-level node.
    pub enabled: bool,
    /// The top-level node's Handle service (TCP), asked for `0.NA/<prefix>` of prefixes
    /// served elsewhere (referrals and recursive resolution); used even when `enabled` is off.
    pub handle_server: Option<std::net::SocketAddr>,
    /// The top-level node's report interface (HTTPS base URL ending in `/`): deposit reports
    /// and statistics reports are PUT below it.
    pub report_url: Option<String>,
    /// This node's IIIDAP base URL (ending in `/iiidap/`), published in the top-level
    /// node's bootstrap registry at every start.
    pub iiidap_url: Option<String>,
    /// EPP server host.
    pub host: String,
    /// EPP server port.
    pub port: u16,
    /// Name on the server's certificate, when it differs from `host`.
    pub server_name: Option<String>,
    /// CA certificates (PEM) the server's certificate chains to.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub client_key: Option<PathBuf>,
    /// EPP client id.
    pub client_id: String,
    /// EPP password (prefer `IDNODE_UPSTREAM_PASSWORD` or `password_file`).
    pub password: Option<String>,
    /// File holding the EPP password.
    pub password_file: Option<PathBuf>,
    /// The node's user upstream in charge of its enterprises (default: the client id).
    pub shr_user_id: Option<String>,
    /// Report identifiers too, not only enterprises and prefixes.
    pub sync_identifiers: bool,
    /// Seconds to connect and for each answer.
    pub timeout_secs: u64,
    /// Seconds between review polls.
    pub poll_interval_secs: u64,
    /// Idle seconds before a `<hello>` keep-alive.
    pub keepalive_secs: u64,
    /// First retry delay, milliseconds.
    pub backoff_initial_ms: u64,
    /// Longest retry delay, seconds.
    pub backoff_max_secs: u64,
    /// Namespace URIs of the enterprise object (the first is written).
    pub ent_namespaces: Vec<String>,
    /// Namespace URIs of the enterprise-prefix object.
    pub prefix_namespaces: Vec<String>,
    /// Namespace URIs of the identifier object.
    pub identifier_namespaces: Vec<String>,
}

impl Default for UpstreamSection {
    fn default() -> Self {
        let ns = Namespaces::default();
        Self {
            enabled: false,
            handle_server: None,
            report_url: None,
            iiidap_url: None,
            host: "127.0.0.1".into(),
            port: 700,
            server_name: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            client_id: String::new(),
            password: None,
            password_file: None,
            shr_user_id: None,
            sync_identifiers: true,
            timeout_secs: 30,
            poll_interval_secs: 60,
            keepalive_secs: 120,
            backoff_initial_ms: 1000,
            backoff_max_secs: 300,
            ent_namespaces: ns.ent,
            prefix_namespaces: ns.prefix,
            identifier_namespaces: ns.identifier,
        }
    }
}

impl fmt::Debug for UpstreamSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamSection")
            .field("enabled", &self.enabled)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl UpstreamSection {
    /// The registry's policy, when connected.
    pub fn policy(&self) -> Option<idnode_registry::UpstreamPolicy> {
        self.enabled.then_some(idnode_registry::UpstreamPolicy {
            sync_identifiers: self.sync_identifiers,
        })
    }

    fn password(&self) -> anyhow::Result<String> {
        if let Ok(p) = std::env::var("IDNODE_UPSTREAM_PASSWORD") {
            return Ok(p);
        }
        if let Some(f) = &self.password_file {
            let text = String::from_utf8(crate::files::read_key_file(f)?)
                .with_context(|| format!("{} is not text", f.display()))?;
            return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
        }
        self.password.clone().context(
            "[upstream] needs a password (IDNODE_UPSTREAM_PASSWORD, password_file or password)",
        )
    }

    /// The EPP client configuration.
    pub fn epp(&self) -> anyhow::Result<EppConfig> {
        if self.client_id.is_empty() {
            bail!("[upstream] needs client_id");
        }
        let client_cert = match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => {
                crate::files::check_key_file(k)?;
                Some((c.clone(), k.clone()))
            }
            (None, None) => None,
            _ => bail!("[upstream] client_cert and client_key go together"),
        };
        Ok(EppConfig {
            host: self.host.clone(),
            port: self.port,
            server_name: self.server_name.clone(),
            ca_file: self
                .ca_file
                .clone()
                .context("[upstream] needs ca_file: the top-level node's CA certificate")?,
            client_cert,
            client_id: self.client_id.clone(),
            password: self.password()?,
            namespaces: Namespaces {
                ent: self.ent_namespaces.clone(),
                prefix: self.prefix_namespaces.clone(),
                identifier: self.identifier_namespaces.clone(),
            },
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
            max_frame: idnode_epp::MAX_FRAME,
        })
    }

    /// The worker's pacing and targets, for a node whose HS_SITE is `site`.
    pub fn worker(&self, config: &Config, node_prefix: &str, site: SiteInfo) -> WorkerConfig {
        WorkerConfig {
            http: idnode_upstream::HttpTargets {
                escrow_url: config.escrow.url.clone(),
                report_url: self.report_url.clone(),
                escrow_dir: config.escrow.dir(config),
                reports_dir: crate::reports::dir(config),
            },
            node_prefix: node_prefix.to_owned(),
            shr_user_id: self
                .shr_user_id
                .clone()
                .unwrap_or_else(|| self.client_id.clone()),
            site,
            backoff_initial: Duration::from_millis(self.backoff_initial_ms.max(1)),
            backoff_max: Duration::from_secs(self.backoff_max_secs.max(1)),
            poll_interval: Duration::from_secs(self.poll_interval_secs.max(1)),
            keepalive: Duration::from_secs(self.keepalive_secs.max(1)),
            ..WorkerConfig::default()
        }
    }
}

/// Starts the upstream worker when `[upstream]` is enabled (queuing the IIIDAP bootstrap
/// publication first).
pub(crate) async fn start(
    config: &Config,
    services: &Services,
    site: SiteInfo,
) -> anyhow::Result<Option<WorkerHandle>> {
    let c = &config.upstream;
    if !c.enabled {
        return Ok(None);
    }
    if let Some(url) = &c.iiidap_url {
        if !url.ends_with('/') {
            bail!("[upstream] iiidap_url must end with /");
        }
        let registry = services.registry.clone();
        let bootstrap = [idnode_store::Action::Bootstrap {
            urls: vec![url.clone()],
        }];
        match registry.queue_actions(&bootstrap).await {
            Ok(()) => {}
            // Started from the cache snapshot, the database away: queued when it answers.
            Err(idnode_registry::RegistryError::Store(StoreError::Unavailable(_))) => {
                tokio::spawn(async move {
                    while registry.queue_actions(&bootstrap).await.is_err() {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    let worker = Worker::new(
        services.store.clone(),
        Arc::clone(&services.registry),
        c.epp()?,
        c.worker(config, services.registry.node_prefix(), site),
    )
    .with_lease(crate::instance::lease(
        services,
        "upstream",
        crate::instance::TERM.max(Duration::from_secs(c.timeout_secs.saturating_mul(3))),
    ));
    Ok(Some(worker.spawn()))
}
