//! Configuration: a TOML file (`--config`), overridden by `IDNODE_*` variables and flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The documented default configuration (`idnode config default`).
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// The whole configuration.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Storage.
    pub database: DatabaseConfig,
    /// HTTP front end.
    pub http: HttpConfig,
    /// Binary Handle protocol front end.
    pub handle: HandleSection,
    /// Secrets at rest.
    pub secrets: SecretsSection,
    /// Per-enterprise allowances.
    pub quotas: QuotasSection,
    /// The SNMS-compatible API.
    pub snms: SnmsSection,
    /// DNS front end.
    pub dns: DnsSection,
    /// Connection to the top-level node.
    pub upstream: crate::upstream::UpstreamSection,
    /// Daily escrow deposits.
    pub escrow: crate::escrow::EscrowSection,
    /// Statistics reports.
    pub reports: crate::reports::ReportsSection,
    /// Traceability.
    pub epcis: crate::traceability::EpcisSection,
    /// Resolver cache.
    pub cache: CacheSection,
    /// HTTPS.
    pub tls: crate::tls::TlsSection,
    /// Logging.
    pub log: LogConfig,
}

/// `[database]`.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Longest wait for a database connection, milliseconds; beyond it a request fails fast
    /// (REST 503, Handle RC 2, DNS SERVFAIL).
    pub acquire_timeout_ms: u64,
    /// The audit log's hash chain for new entries.
    pub audit_algorithm: idnode_store::AuditAlgorithm,
    /// Streaming replicas of the PostgreSQL database for resolution misses.
    pub replicas: Vec<String>,
    /// Most lag, milliseconds, of a replica that is read (and how long a written handle is
    /// read from the primary).
    pub replica_max_lag_ms: u64,
}

impl DatabaseConfig {
    /// The default settings for the database at `url`.
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The store options these settings give.
    pub fn options(&self) -> idnode_store::StoreOptions {
        idnode_store::StoreOptions {
            acquire_timeout: std::time::Duration::from_millis(self.acquire_timeout_ms.max(1)),
            audit_algorithm: self.audit_algorithm,
            replica: false,
        }
    }
}

/// `[http]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// REST PUT body limit.
    pub max_body_bytes: usize,
    /// Batch body limit.
    pub max_batch_bytes: usize,
    /// Request bodies buffered at once, bytes.
    pub max_buffered_body_bytes: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections per client address.
    pub max_connections_per_client: usize,
    /// Seconds to send a request head.
    pub header_timeout_secs: u64,
    /// Seconds a kept-alive connection may idle.
    pub idle_timeout_secs: u64,
    /// Seconds to send a request body.
    pub body_timeout_secs: u64,
    /// Seconds a response may wait to be read.
    pub write_timeout_secs: u64,
    /// Lifetime of a web console session, seconds.
    pub console_session_secs: u64,
}

impl HttpConfig {
    /// The connection limits of the HTTP front end.
    pub fn conn_limits(&self) -> idnode_http::ConnLimits {
        let secs = |s: u64| std::time::Duration::from_secs(s.max(1));
        idnode_http::ConnLimits {
            max_connections: self.max_connections.max(1),
            max_connections_per_client: self.max_connections_per_client.max(1),
            header_timeout: secs(self.header_timeout_secs),
            idle_timeout: secs(self.idle_timeout_secs),
            body_timeout: secs(self.body_timeout_secs),
            write_timeout: secs(self.write_timeout_secs),
        }
    }

    /// The request size limits of the HTTP front end.
    pub fn limits(&self) -> idnode_http::Limits {
        idnode_http::Limits {
            max_body_bytes: self.max_body_bytes,
            max_batch_bytes: self.max_batch_bytes,
            max_buffered_body_bytes: self.max_buffered_body_bytes,
            console_session: std::time::Duration::from_secs(self.console_session_secs.max(1)),
            ..idnode_http::Limits::default()
        }
    }
}

/// The binary Handle protocol front end.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct HandleSection {
    /// TCP and UDP address.
    pub listen: SocketAddr,
    /// Address published in HS_SITE (default: the listen address).
    pub public_address: Option<std::net::IpAddr>,
    /// TCP connections served at once.
    pub max_connections: usize,
    /// Idle TCP connection lifetime, seconds.
    pub idle_timeout_secs: u64,
    /// Time allowed to send one message, seconds.
    pub read_timeout_secs: u64,
    /// Time allowed to answer a challenge, seconds.
    pub challenge_ttl_secs: u64,
    /// Idle lifetime of a login session, seconds.
    pub session_idle_secs: u64,
    /// Challenge answers per client address per second.
    pub answers_per_second: u32,
    /// Requests per client address per day (0: no limit).
    pub daily_requests_per_client: u32,
    /// Known sites of other prefixes.
    pub referral: Vec<ReferralConfig>,
}

/// A prefix served elsewhere and the servers of its site.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReferralConfig {
    /// The prefix, e.g. `88.200`.
    pub prefix: String,
    /// `ip:port` of each server (TCP and UDP).
    pub servers: Vec<SocketAddr>,
}

impl Default for HandleSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 2641)),
            public_address: None,
            max_connections: 1024,
            idle_timeout_secs: 60,
            read_timeout_secs: 10,
            challenge_ttl_secs: 60,
            session_idle_secs: 1800,
            answers_per_second: 20,
            daily_requests_per_client: 0,
            referral: Vec::new(),
        }
    }
}

/// `[secrets]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsSection {
    /// The sealing key file (see [`Config::seal_key_path`] for the default).
    pub seal_key_file: Option<std::path::PathBuf>,
    /// The Handle server key file (see [`Config::server_key_path`] for the default).
    pub server_key_file: Option<std::path::PathBuf>,
}

/// `[dns]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DnsSection {
    /// UDP and TCP address; None: no DNS front end.
    pub listen: Option<SocketAddr>,
    /// The zone (`id.example.`).
    pub zone: String,
    /// Name servers of the zone (default `ns.<zone>`).
    pub nameservers: Vec<String>,
    /// SOA RNAME (default `hostmaster.<zone>`).
    pub hostmaster: Option<String>,
    /// SRV target (default: the first name server).
    pub target: Option<String>,
    /// TTL of SOA, NS and SRV records, seconds.
    pub ttl: u32,
    /// TTL of negative answers, seconds.
    pub negative_ttl: u32,
    /// UDP responses per second per client address (0: no limit).
    pub responses_per_second: u32,
    /// Prefixes delegated to other nodes' name servers.
    pub delegation: Vec<DelegationConfig>,
    /// Service mappings published as NAPTR records.
    pub naptr: Vec<NaptrConfig>,
}

/// A service mapping published as NAPTR records at identifier names.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NaptrConfig {
    /// Only identifiers under this prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// NAPTR SERVICES, e.g. `x-idnode+http`.
    pub services: String,
    /// The URI, `{handle}` standing for the identifier.
    pub template: String,
    /// NAPTR ORDER.
    #[serde(default = "default_naptr_order")]
    pub order: u16,
    /// NAPTR PREFERENCE.
    #[serde(default = "default_naptr_preference")]
    pub preference: u16,
}

fn default_naptr_order() -> u16 {
    100
}

fn default_naptr_preference() -> u16 {
    10
}

/// A prefix whose names another node's name servers answer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DelegationConfig {
    /// The prefix, e.g. `88.118.9`.
    pub prefix: String,
    /// Its name servers.
    pub nameservers: Vec<String>,
}

impl Default for DnsSection {
    fn default() -> Self {
        Self {
            listen: None,
            zone: "id.example.".into(),
            nameservers: Vec::new(),
            hostmaster: None,
            target: None,
            ttl: 3600,
            negative_ttl: 60,
            responses_per_second: 1000,
            delegation: Vec::new(),
            naptr: Vec::new(),
        }
    }
}

/// `[quotas]` (0: no limit).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct QuotasSection {
    /// Identifiers one enterprise may hold.
    pub identifiers_per_enterprise: u64,
    /// Prefixes one enterprise may hold.
    pub prefixes_per_enterprise: u64,
}

impl QuotasSection {
    /// The registry's form of these limits.
    pub fn quotas(&self) -> idnode_registry::Quotas {
        let limit = |n: u64| (n > 0).then_some(n);
        idnode_registry::Quotas {
            identifiers_per_enterprise: limit(self.identifiers_per_enterprise),
            prefixes_per_enterprise: limit(self.prefixes_per_enterprise),
        }
    }
}

/// `[snms]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SnmsSection {
    /// Lifetime of a bearer token, seconds.
    pub token_lifetime_secs: u64,
}

impl Default for SnmsSection {
    fn default() -> Self {
        Self {
            token_lifetime_secs: idnode_registry::DEFAULT_TOKEN_LIFETIME.as_secs(),
        }
    }
}

/// `[cache]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSection {
    /// Bytes for cached answers.
    pub capacity_bytes: u64,
    /// Longest life of a cached answer, seconds.
    pub max_age_secs: u64,
    /// Life of a "not found" answer, seconds.
    pub negative_ttl_secs: u64,
    /// How long past `max_age_secs` an answer is still served while the database is
    /// unreachable, seconds.
    pub stale_if_down_secs: u64,
    /// Reads of uncached identifiers in flight at once.
    pub miss_reads_in_flight: usize,
    /// The warm-start snapshot of the cache, if any.
    pub snapshot_file: Option<std::path::PathBuf>,
    /// Seconds between snapshots.
    pub snapshot_interval_secs: u64,
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// tracing filter.
    pub filter: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://./idnode-data/idnode.db".into(),
            acquire_timeout_ms: 500,
            audit_algorithm: idnode_store::AuditAlgorithm::Sm3,
            replicas: Vec::new(),
            replica_max_lag_ms: 1000,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            max_body_bytes: 1024 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
            max_buffered_body_bytes: 256 * 1024 * 1024,
            max_connections: 4096,
            max_connections_per_client: 256,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            body_timeout_secs: 60,
            write_timeout_secs: 30,
            console_session_secs: 8 * 3600,
        }
    }
}

impl Default for CacheSection {
    fn default() -> Self {
        Self {
            capacity_bytes: 256 * 1024 * 1024,
            max_age_secs: 300,
            negative_ttl_secs: 5,
            stale_if_down_secs: 3600,
            miss_reads_in_flight: 4,
            snapshot_file: None,
            snapshot_interval_secs: 300,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
        }
    }
}

impl Config {
    /// Loads `path` (when given) and applies environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut c = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing config {}", p.display()))?
            }
            None => Self::default(),
        };
        if let Ok(v) = std::env::var("IDNODE_DATABASE_URL") {
            c.database.url = v;
        }
        if let Ok(v) = std::env::var("IDNODE_HTTP_ADDR") {
            c.http.listen = v.parse().context("IDNODE_HTTP_ADDR is not an address")?;
        }
        if let Ok(v) = std::env::var("IDNODE_HANDLE_ADDR") {
            c.handle.listen = v.parse().context("IDNODE_HANDLE_ADDR is not an address")?;
        }
        if let Ok(v) = std::env::var("IDNODE_LOG") {
            c.log.filter = v;
        }
        Ok(c)
    }
}

impl Config {
    /// Where the sealing key lives: as configured, else beside the SQLite database, else
    /// `./idnode-data/seal.key`.
    pub fn seal_key_path(&self) -> std::path::PathBuf {
        if let Some(p) = &self.secrets.seal_key_file {
            return p.clone();
        }
        if let Some(path) = self.database.url.strip_prefix("sqlite://") {
            let file = Path::new(path.split('?').next().unwrap_or(path));
            if let Some(dir) = file.parent() {
                return dir.join("seal.key");
            }
        }
        Path::new("idnode-data").join("seal.key")
    }

    /// Where the Handle server key lives: as configured, else `server.key` beside the
    /// sealing key.
    pub fn server_key_path(&self) -> std::path::PathBuf {
        match &self.secrets.server_key_file {
            Some(p) => p.clone(),
            None => self.seal_key_path().with_file_name("server.key"),
        }
    }
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end], &rest[at..])
        }
        None => url.to_owned(),
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .field("audit_algorithm", &self.audit_algorithm)
            .field(
                "replicas",
                &self
                    .replicas
                    .iter()
                    .map(|u| redact_url(u))
                    .collect::<Vec<_>>(),
            )
            .field("replica_max_lag_ms", &self.replica_max_lag_ms)
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("http", &self.http)
            .field("cache", &self.cache)
            .field("upstream", &self.upstream)
            .field("log", &self.log)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_matches_default_values() {
        let parsed: Config = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(parsed.database, DatabaseConfig::default());
        assert_eq!(parsed.http, HttpConfig::default());
        assert_eq!(parsed.cache, CacheSection::default());
        assert_eq!(parsed.log, LogConfig::default());
        assert_eq!(parsed.upstream, crate::upstream::UpstreamSection::default());
        assert_eq!(parsed.escrow, crate::escrow::EscrowSection::default());
        assert_eq!(parsed.reports, crate::reports::ReportsSection::default());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("[http]\nlisten = \"127.0.0.1:1\"\nport = 3\n").is_err());
        assert!(toml::from_str::<Config>("[nope]\n").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://idnode:s3cret@db:5432/idnode"),
            "postgres://idnode:***@db:5432/idnode"
        );
        let c = Config {
            database: DatabaseConfig::with_url("postgres://u:pw@h/d"),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("pw"));
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}
