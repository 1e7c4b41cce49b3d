//! A runnable stand-in for the national top-level node (Chongqing), for development and
//! tests: the real one cannot be reached from here.
//!
//! It implements the top-level side of the secondary node's connection: an EPP server (BMS
//! side: enterprise, prefix and identifier objects, a poll queue with prefix reviews approved
//! automatically or by `idnode-toplevel approve/reject`). Its state lives in SQLite in its
//! data directory and survives restarts; every transform command is recorded with its
//! response, so a redelivery (same clTRID) is answered without being applied twice.

mod commands;
mod epp;
mod handle;
mod http;
pub mod intake;
pub mod password;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use idnode_epp::Namespaces;
pub use state::State;

/// What can go wrong in the stand-in.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The state database failed.
    #[error("state database: {0}")]
    Database(String),
    /// Files or sockets failed.
    #[error("I/O: {0}")]
    Io(String),
    /// The TLS identity is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// An operator request was refused (e.g. reviewing a prefix that is not pending).
    #[error("{0}")]
    Refused(String),
}

/// How to run the stand-in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory (state, TLS identity).
    pub data: PathBuf,
    /// EPP listen address.
    pub epp: SocketAddr,
    /// Handle protocol listen address (TCP and UDP).
    pub handle: SocketAddr,
    /// HTTPS listen address (escrow, reports, IIIDAP bootstrap).
    pub https: SocketAddr,
    /// Approve prefix applications at once (otherwise: `approve`/`reject`).
    pub auto_approve: bool,
    /// Namespace URIs.
    pub namespaces: Namespaces,
}

/// A running stand-in.
pub struct Running {
    /// Its state (shared with the servers).
    pub state: Arc<State>,
    /// Bound EPP address.
    pub epp_addr: SocketAddr,
    /// Bound Handle address (TCP and UDP).
    pub handle_addr: SocketAddr,
    /// Bound HTTPS address.
    pub https_addr: SocketAddr,
    /// The certificate file clients trust.
    pub cert: PathBuf,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops the servers and waits until they are gone (the listeners are closed then).
    pub async fn stop(mut self) {
        for t in std::mem::take(&mut self.tasks) {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Opens the state and starts the servers.
pub async fn start(c: &Config) -> Result<Running, Error> {
    let state = Arc::new(State::open(&c.data, c.namespaces.clone(), c.auto_approve).await?);
    let tls = tls::server_config(&c.data)?;
    let listener = tokio::net::TcpListener::bind(c.epp)
        .await
        .map_err(|e| Error::Io(format!("EPP {}: {e}", c.epp)))?;
    let epp_addr = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?;
    let (handle_addr, tcp, udp) = bind_tcp_udp(c.handle).await?;
    let https = tokio::net::TcpListener::bind(c.https)
        .await
        .map_err(|e| Error::Io(format!("HTTPS {}: {e}", c.https)))?;
    let https_addr = https.local_addr().map_err(|e| Error::Io(e.to_string()))?;
    let tasks = vec![
        tokio::spawn(http::serve(
            https,
            tls.clone(),
            state.clone(),
            c.data.clone(),
        )),
        tokio::spawn(epp::serve(listener, tls, state.clone())),
        tokio::spawn(handle::serve_tcp(tcp, state.clone())),
        tokio::spawn(handle::serve_udp(udp, state.clone())),
    ];
    Ok(Running {
        state,
        epp_addr,
        handle_addr,
        https_addr,
        cert: tls::cert_path(&c.data),
        tasks,
    })
}

/// A TCP listener and a UDP socket on the same port (with port 0, one free for both).
async fn bind_tcp_udp(
    addr: SocketAddr,
) -> Result<(SocketAddr, tokio::net::TcpListener, tokio::net::UdpSocket), Error> {
    let io = |e: std::io::Error| Error::Io(format!("Handle {addr}: {e}"));
    for _ in 0..20 {
        let tcp = tokio::net::TcpListener::bind(addr).await.map_err(io)?;
        let bound = tcp.local_addr().map_err(io)?;
        match tokio::net::UdpSocket::bind(bound).await {
            Ok(udp) => return Ok((bound, tcp, udp)),
            Err(e) if addr.port() != 0 => return Err(io(e)),
            Err(_) => continue,
        }
    }
    Err(Error::Io(format!(
        "no port free for both TCP and UDP on {}",
        addr.ip()
    )))
}
