//! Inside `serve`: EPCIS subscriptions delivered to their webhooks, a round every second
//! (what is due: new captures, retries).

use std::sync::Arc;
use std::time::Duration;

use idnode_trace::{is_private_ip, Traceability, Webhook, MAX_ATTEMPTS};

/// Posts with reqwest: no redirects followed, 10 s per attempt, and (unless allowed) no
/// destination that resolves to a loopback or private address.
pub(crate) struct HttpHook {
    client: reqwest::Client,
    private_ok: bool,
}

impl HttpHook {
    pub(crate) fn new(private_ok: bool) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
            private_ok,
        })
    }

    async fn check_resolved(&self, url: &reqwest::Url) -> Result<(), String> {
        if self.private_ok {
            return Ok(());
        }
        let host = url.host_str().ok_or("no host")?;
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("{host}: {e}"))?;
        for a in addrs {
            if is_private_ip(a.ip()) {
                return Err(format!("{host} resolves to a private address ({})", a.ip()));
            }
        }
        Ok(())
    }
}

impl Webhook for HttpHook {
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        self.check_resolved(&parsed).await?;
        let mut req = self.client.post(parsed).body(body);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {}", resp.status()))
        }
    }
}

/// Delivers due subscriptions every second, for as long as the node runs, while holding the
/// `webhooks` lease.
pub(crate) fn spawn(
    trace: Arc<Traceability>,
    private_ok: bool,
    lease: idnode_store::Lease,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let hook = HttpHook::new(private_ok)?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if !lease.hold().await {
                continue;
            }
            match trace.deliver(&hook).await {
                Ok(round) => {
                    for (subscription, capture, error) in round.given_up {
                        tracing::warn!(%subscription, capture, %error,
                            "EPCIS delivery given up after {MAX_ATTEMPTS} attempts");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "EPCIS subscription deliveries"),
            }
        }
    }))
}
