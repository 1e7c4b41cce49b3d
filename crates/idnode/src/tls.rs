//! `[tls]`: the HTTPS listener (the same routes as `[http] listen`, over TLS, HTTP/2 where
//! the client offers it) and the reload of its certificate on SIGHUP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use idnode_http::Tls;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

/// `[tls]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// Address of the HTTPS listener; None: no HTTPS.
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain, the server's certificate first.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

impl TlsSection {
    /// The TLS identity, when HTTPS is configured.
    pub fn load(&self) -> anyhow::Result<Option<Arc<Tls>>> {
        let Some(listen) = self.listen else {
            return Ok(None);
        };
        let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) else {
            bail!("[tls] listen = {listen} needs cert_file and key_file");
        };
        let tls = Tls::load(cert, key).context("loading the HTTPS certificate")?;
        Ok(Some(Arc::new(tls)))
    }
}

/// Serves the HTTPS listener, when configured, until `stopped`: its address, the serving
/// task and the task reloading the certificate on SIGHUP.
pub(crate) async fn start(
    config: &crate::Config,
    state: &idnode_http::AppState,
    router: &axum::Router,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>, JoinHandle<()>)>> {
    let Some(tls) = config.tls.load()? else {
        return Ok(None);
    };
    let addr = config.tls.listen.context("[tls] listen")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding HTTPS on {addr}"))?;
    let bound = listener.local_addr()?;
    let reload = reload_on_hangup(tls.clone())?;
    let serving = idnode_http::serve(
        listener,
        state.clone(),
        router.clone(),
        config.http.conn_limits(),
        Some(tls),
        stopped,
    );
    let serving = tokio::spawn(async move {
        if let Err(e) = serving.await {
            tracing::error!(error = %e, "HTTPS front end failed");
        }
    });
    Ok(Some((bound, serving, reload)))
}

/// Reloads the certificate and key of `tls` on every SIGHUP, for as long as the node runs.
fn reload_on_hangup(tls: Arc<Tls>) -> anyhow::Result<JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!("HTTPS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "HTTPS certificate not reloaded; the old one stays")
                }
            }
        }
    }))
}
