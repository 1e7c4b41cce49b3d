//! Configuration: a TOML file (`--config`), overridden by `IDNODE_*` variables and flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The documented default configuration (`idnode config default`).
pub const DEFAULT_CONFIG: &str = r#"# idnode configuration. Every key is optional; the values shown are the defaults.
# Environment overrides: IDNODE_DATABASE_URL, IDNODE_HTTP_ADDR, IDNODE_HANDLE_ADDR, IDNODE_LOG.

[database]
# sqlite://PATH (embedded, created if missing, mode 0600) or postgres://user:pass@host:port/db.
# Several PostgreSQL hosts, as pg_auto_failover or Patroni hand them out
# (postgres://user@h1:5432,h2:5432/db?target_session_attrs=read-write): idnode uses the one
# taking writes and moves to the promoted standby after a failover, without a restart.
url = "sqlite://./idnode-data/idnode.db"
# Longest wait for a free database connection, milliseconds. With the database stopped or
# unreachable, requests that need it fail after this long (REST 503 with Retry-After, Handle
# RC 2, DNS SERVFAIL) while cached answers keep flowing. SQLite writes queue for its single
# writer longer (30 s).
acquire_timeout_ms = 500
# Hash of the audit log's chain (every write batch appends one entry in its transaction;
# `idnode audit verify` walks it): "sm3" (GB/T 32905) or "sha256". Applies to new entries;
# each entry names its own.
audit_algorithm = "sm3"
# Streaming replicas (hot standbys) of the PostgreSQL database, read by resolution misses:
# a replica is read only while its measured lag is under replica_max_lag_ms, and a handle
# written (through this instance, or another one it heard of) within that time is read
# from the primary, so a writer always reads its own writes.
# replicas = ["postgres://idnode@replica1:5432/idnode"]
replica_max_lag_ms = 1000

[http]
# Address of the HTTP front end (Handle.Net REST, management API, /metrics).
listen = "127.0.0.1:8000"
# Largest body of a REST PUT (one handle record), bytes.
max_body_bytes = 1048576
# Largest body of a management batch (up to 10,000 identifiers), bytes.
max_batch_bytes = 33554432
# Request bodies held in memory at once, across all connections, bytes; a write that would
# exceed it waits (up to body_timeout_secs), then answers 503. Bodies are read only after the
# caller is authenticated.
max_buffered_body_bytes = 268435456
# Connections served at once, and per client address (a connection pool needs far fewer);
# more are closed on accept. Keep max_connections below the process's file limit.
max_connections = 4096
max_connections_per_client = 256
# Seconds a client may take to send a request head (from connecting, or from its first
# byte on a kept-alive connection); seconds a kept-alive connection may idle between
# requests; seconds to send a request body; seconds a response may wait to be read.
header_timeout_secs = 10
idle_timeout_secs = 60
body_timeout_secs = 60
write_timeout_secs = 30
# Seconds a web console session (/console) lives after signing in.
console_session_secs = 28800

[handle]
# Address of the binary Handle protocol front end (TCP and UDP on the same port).
listen = "127.0.0.1:2641"
# Address published in this node's HS_SITE (GET_SITE_INFO); defaults to the listen address.
# public_address = "203.0.113.7"
# TCP connections served at once.
max_connections = 1024
# Seconds an idle TCP connection stays open; seconds a client may take to send a message.
idle_timeout_secs = 60
read_timeout_secs = 10
# Seconds a client has to answer an authentication challenge.
challenge_ttl_secs = 60
# Seconds an idle login session (national SDK LOGIN / LOGIN_ID_SYSTEM) stays valid.
session_idle_secs = 1800
# Challenge answers (signature / MAC checks) one client address may send per second.
answers_per_second = 20
# Requests one client address may send a day; beyond it the answer is RC 603 (the national
# SDK's daily request limit). 0: no limit.
daily_requests_per_client = 0
# Sites of prefixes served elsewhere, for prefix referrals (RC 303). Example:
# [[handle.referral]]
# prefix = "88.200"
# servers = ["198.51.100.4:2641"]

[secrets]
# File holding the node's 32-byte sealing key, created (mode 0600) when missing. Secrets are
# stored as salted hashes and, sealed under this key, as ciphertext, so that Handle protocol
# HS_SECKEY challenges (which need the secret itself) can be verified; a copy of the database
# alone reveals no secret. Instances sharing one PostgreSQL database need the same key file:
# the first records its fingerprint, and an instance without it refuses to start.
# Default: seal.key beside the SQLite database; ./idnode-data/seal.key with PostgreSQL.
# seal_key_file = "./idnode-data/seal.key"
# File holding the node's Handle server key (RSA, PKCS#8 PEM, mode 0600), created by `idnode
# init` or at start when missing. Its public half is published in the node's HS_SITE; it
# signs certified answers and receives session keys. `idnode server-key rotate` replaces it.
# Instances of one node need the same key file (checked like the sealing key). Default:
# server.key beside the sealing key.
# server_key_file = "./idnode-data/server.key"

[dns]
# The DNS front end (off unless `listen` is set): identifiers as names under `zone`, e.g.
# 88.118.8/GBX-1 as GBX-1.8.118.88.id.example. (UDP and TCP on the same port).
# listen = "127.0.0.1:5300"
zone = "id.example."
# Name servers of the zone (NS at the apex; the first is the SOA MNAME). Default: ns.<zone>
# nameservers = ["ns1.id.example.", "ns2.id.example."]
# The SOA RNAME. Default: hostmaster.<zone>
# hostmaster = "hostmaster.id.example."
# The host SRV records name for this node's Handle and HTTP ports. Default: the first name
# server.
# target = "node.id.example."
# TTL of SOA, NS and SRV records; TTL of negative answers (SOA MINIMUM), seconds.
ttl = 3600
negative_ttl = 60
# UDP responses per second one client address gets; beyond it answers "slip": empty, with
# TC=1, so real clients retry over TCP and spoofed floods are not amplified. 0: no limit.
responses_per_second = 1000
# Services identifiers resolve with, published as NAPTR records (RFC 3403, flags "U") at
# identifier names; {handle} in the template stands for the identifier. Example:
# [[dns.naptr]]
# services = "x-idnode+http"
# template = "https://node.example/api/handles/{handle}"
# prefix = "88.118.8"      # optional: only identifiers under it
# order = 100
# preference = 10
# Prefixes served by another node, delegated to its name servers. Example:
# [[dns.delegation]]
# prefix = "88.118.9"
# nameservers = ["ns1.valve.example."]

[quotas]
# Identifiers one enterprise may hold; registering beyond it is refused with RC 604 (HTTP
# 403), whoever writes under its prefixes (the operator and `idnode import` too; the node's
# own prefix is not limited). Prefixes one enterprise may hold; allocating beyond it: RC 605.
# 0: no limit.
identifiers_per_enterprise = 0
prefixes_per_enterprise = 0

[snms]
# The SNMS-compatible API enterprise systems call (POST /identity/token, /snms/api/v3|v5/
# template, /identityv2/data…), on the HTTP listener. Lifetime of its bearer tokens, seconds
# (SNMS: 24 hours); a token is void earlier when revoked or when its identity's secret changes.
token_lifetime_secs = 86400

[upstream]
# The connection to the national top-level node (EPP over TLS, RFC 5730/5734). When enabled,
# onboarding creates the enterprise upstream and applies for its prefix, which stays pending
# (no identifiers) until the top-level node approves it; changes are queued in the database
# and delivered in order, retried with backoff while the top-level node is unreachable.
# `idnode upstream status` shows the queue.
enabled = false
# The top-level node's Handle service (TCP): a handle under a prefix this node does not serve
# is looked up there as 0.NA/<prefix> (cached for the TTL of its values) and answered with a
# prefix referral (RC 303), or resolved at that site when the client asks for recursion.
# Used even when `enabled` is false.
# handle_server = "203.0.113.1:2641"
# The top-level node's report interface (HTTPS): escrow reports go to
# <report_url>report/sln-escrow-report/<prefix>/<id>, statistics reports to
# <report_url>report/statistics/<prefix>/<daily|monthly>/<period>.
# report_url = "https://inde-api.example/"
# This node's IIIDAP base URL, published in the top-level node's bootstrap registry
# (<report_url>iiidap/bootstrap/<prefix>) at every start.
# iiidap_url = "https://node.example/iiidap/"
host = "127.0.0.1"
port = 700
# server_name = "epp.toplevel.example"   # name on the server certificate, if not host
# ca_file = "./toplevel-cert.pem"        # required: the CA the server certificate chains to
# client_cert = "./snms.pem"             # mutual TLS (both or neither)
# client_key = "./snms.key"
client_id = ""
# The password: IDNODE_UPSTREAM_PASSWORD, else password_file, else password.
# password_file = "./upstream.pw"
# shr_user_id = ""                       # default: client_id
# Report every identifier change (identifier:create/update/delete), not only prefixes.
sync_identifiers = true
timeout_secs = 30
poll_interval_secs = 60
keepalive_secs = 120
backoff_initial_ms = 1000
backoff_max_secs = 300
# The drafts disagree on namespace URIs: every URI listed is accepted, the first is written.
ent_namespaces = ["urn:ietf:params:xml:ns:idis-ent-1.0", "urn:ietf:params:xml:ns:enterprise-1.0"]
prefix_namespaces = ["urn:ietf:params:xml:ns:idis-entprefix-1.0", "urn:ietf:params:xml:ns:prefix-1.0"]
identifier_namespaces = ["urn:ietf:params:xml:ns:identifier-1.0"]

[escrow]
# Daily data escrow (inside `serve`; `idnode escrow run` on demand): the state at 00:00:00 UTC
# as an inde deposit, FULL on Sundays and on the first run, DIFF on other days, gzip-compressed
# and signed (detached binary OpenPGP signature, SHA-256; the public key to give the escrow
# agent: `idnode escrow public-key`).
# With [upstream] enabled, the files are uploaded to `url` and the report sent to report_url.
enabled = false
# dir = "./idnode-data/escrow"      # default: escrow/ beside the SQLite database
# key_file = "./idnode-data/escrow/escrow.key"
# url = "https://escrow-agent.example/upload/"
run_at = "00:10"
full_every_day = false

[reports]
# Statistics reports to the top-level node (JSON, documented in docs/reports.md): a daily
# report after `run_at` UTC and the monthly operations report on the first of each month.
# Sent through [upstream] (report_url); `idnode report run` makes one on demand.
enabled = false
run_at = "00:20"
# Statistics per day, prefix and enterprise (/api/v1/stats, the console, the reports):
# seconds between two flushes of the node's counters to the database, and days kept.
stats_flush_secs = 60
stats_keep_days = 400

[epcis]
# Traceability (GS1 EPCIS 2.0 at /epcis on the HTTP listener). URL bases under which this
# node's identifiers resolve: an event naming https://id.example.cn/88.118.8/X is found
# under 88.118.8/X as well as under hdl:88.118.8/X (hdl.handle.net is always recognised).
base_urls = []
# Most events, and bytes, in one capture document (GS1-EPCIS-Capture-Limit,
# GS1-EPCIS-Capture-File-Size-Limit); beyond them 413.
capture_events = 10000
capture_bytes = 16777216
# Deepest trace (steps) and most nodes in one trace answer; a deeper or larger genealogy is
# answered cut short, marked "truncated".
trace_depth = 64
trace_nodes = 50000
# Trace links held in memory (a 10,000-node genealogy is ~20,000: its links and its keys;
# measured by loadtest/epcis.sh, the node's resident memory grows ~0.85 KB per held link, so
# the default is up to ~170 MB): traces of held genealogies never reach the database.
# Captures through this node update them at once, captures through another instance on the
# same PostgreSQL database when their announcement arrives. 0 turns it off.
trace_cache_links = 200000
trace_cache_secs = 300
# Subscription webhooks on loopback or private addresses (refused by default: the node
# posts nowhere inside its own network).
webhook_private = false
# A scheduled subscription's run delivers what was recorded until this long before it, ms
# (a capture still committing is not missed).
schedule_settle_ms = 10000

[tls]
# HTTPS: the same routes as [http] listen (REST, the Handle.Net session API, the console),
# over TLS 1.2/1.3 with HTTP/2 where the client offers it (ALPN). Off unless listen is set.
# The certificate and key are read again on SIGHUP (a renewed certificate needs no
# restart; a pair that fails to load keeps the old one). Its expiry is exported as
# idnode_tls_certificate_expiry_timestamp_seconds.
# listen = "0.0.0.0:8443"
# cert_file = "/etc/idnode/tls/fullchain.pem"
# key_file = "/etc/idnode/tls/privkey.pem"

[cache]
# Memory for cached resolution answers, bytes. See README "Sizing the cache".
capacity_bytes = 268435456
# Longest time a cached answer is served without re-reading the store, seconds. Writes made
# through this node invalidate at once, writes through other instances on the same
# PostgreSQL when their announcement arrives; this bounds staleness from writes nothing
# announces (`idnode import` into SQLite while serving).
max_age_secs = 300
# How long "not found" answers are cached, seconds.
negative_ttl_secs = 5
# While the database is unreachable, cached answers are served past max_age_secs for up to
# this many seconds more (counted in idnode_cache_stale_answers_total); answers not cached
# fail at once, and one read a second tries the database again. 0: never stale.
stale_if_down_secs = 3600
# Reads of uncached identifiers in flight at once, each holding a database connection
# (of 16 on PostgreSQL); misses arriving meanwhile wait and are read together in one
# statement by the next free read. More help when the database reads from disk. 1 to 12
# (PostgreSQL's pool keeps 4 connections for writes); a value outside is taken as the bound.
miss_reads_in_flight = 4
# A warm-start snapshot of the cached public answers, written every snapshot_interval_secs
# and when the node stops, read when it starts: a node that restarts while its PostgreSQL
# is unreachable answers its hot set from it (stale, counted, each answer at most
# max_age_secs + stale_if_down_secs after it was read) and takes up its database when it
# answers. Its key files must be there (they are checked against the database then).
# snapshot_file = "/var/lib/idnode/cache.snapshot"
snapshot_interval_secs = 300

[log]
# tracing filter, e.g. "info", "idnode=debug,info".
filter = "info"
"#;

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
