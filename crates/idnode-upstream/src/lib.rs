//! The connection to the national top-level node (Chongqing).
//!
//! * [`Session`]: an EPP client session (RFC 5730 over RFC 5734: TLS, 4-byte length
//!   framing; greeting, login, commands, `<hello>` keep-alive, logout).
//! * [`Worker`]: delivers the outbox the registry fills (`idnode_store::Action`) in
//!   order, one EPP command per step, with exponential backoff and jitter; polls the
//!   review results of prefix applications. Each action's client transaction id is derived
//!   from its row, so a redelivery after a crash is recognised upstream and not applied
//!   twice.
//! * [`make_deposit`]: the daily escrow deposit of the node's data (signed, reported,
//!   recorded and queued for the escrow agent in one registry write).
//! * [`write_report`]: the daily and monthly statistics reports, from the history and the
//!   [`Usage`] counters.

mod deliver;
mod deposit;
mod error;
mod http;
mod report;
mod session;
mod tls;
mod worker;

use std::path::PathBuf;
use std::time::Duration;

pub use deposit::{make_deposit, today, DepositRequest, DepositSettings};
pub use error::UpstreamError;
pub use http::HttpTargets;
pub use idnode_epp::Namespaces;
pub use report::{write_report, Period, Usage};
pub use session::Session;
pub use worker::{Worker, WorkerHandle};

/// Where and how to reach the top-level node's EPP server.
#[derive(Clone)]
pub struct EppConfig {
    /// Host name (also the TLS server name unless `server_name` is set).
    pub host: String,
    /// Port (IANA: 700).
    pub port: u16,
    /// Name the server's certificate must carry, when it differs from `host`.
    pub server_name: Option<String>,
    /// PEM file of the CA certificates the server's certificate must chain to.
    pub ca_file: PathBuf,
    /// PEM certificate chain and private key presented to the server (mutual TLS).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Client id (`clID`).
    pub client_id: String,
    /// Password (`pw`); never logged.
    pub password: String,
    /// Object namespace URIs.
    pub namespaces: Namespaces,
    /// Time allowed to connect and for each answer.
    pub timeout: Duration,
    /// Largest frame accepted from the server.
    pub max_frame: usize,
}

impl std::fmt::Debug for EppConfig {
    /// Everything but the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EppConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("server_name", &self.server_name)
            .field("ca_file", &self.ca_file)
            .field("client_id", &self.client_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The node's prefix (`shrPrefix`).
    pub node_prefix: String,
    /// The node's user in charge of enterprises upstream (`shrUserId`).
    pub shr_user_id: String,
    /// This node's HS_SITE, registered upstream for its prefixes.
    pub site: idnode_core::SiteInfo,
    /// First retry delay.
    pub backoff_initial: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How often review results are polled.
    pub poll_interval: Duration,
    /// Idle time after which a `<hello>` keeps the session open.
    pub keepalive: Duration,
    /// Steps acknowledged between two progress commits (a crash redelivers at most these).
    pub commit_every: u32,
    /// Where HTTPS actions (escrow, reports) go.
    pub http: HttpTargets,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            node_prefix: String::new(),
            shr_user_id: String::new(),
            site: idnode_core::SiteInfo::primary(Vec::new()),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            poll_interval: Duration::from_secs(60),
            keepalive: Duration::from_secs(120),
            commit_every: 256,
            http: HttpTargets::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_password_never_shows_in_debug_output() {
        let c = super::EppConfig {
            host: "h".into(),
            port: 700,
            server_name: None,
            ca_file: "ca.pem".into(),
            client_cert: None,
            client_id: "snms".into(),
            password: "s3cret-pw".into(),
            namespaces: Default::default(),
            timeout: std::time::Duration::from_secs(1),
            max_frame: 1,
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
