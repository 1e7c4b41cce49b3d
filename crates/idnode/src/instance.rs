//! This process among the instances sharing one database: its name, and the leases of the
//! jobs only one of them may do at a time.

use std::time::Duration;

use idnode_store::Lease;

/// How long a lease of a background job runs before its holder must renew it.
pub(crate) const TERM: Duration = Duration::from_secs(60);

/// The name of the instance serving HTTP on `http` on this host: `host/address`. Unique
/// among running instances (two cannot listen on one address of one host), and the same
/// for an instance restarted after a crash, which so takes its own leases back at once
/// instead of waiting for them to run out.
pub(crate) fn name_of(http: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into());
    format!("{host}/{http}")
}

/// The lease of job `job` for the instance of `services`, `term` at a time.
pub(crate) fn lease(services: &crate::Services, job: &str, term: Duration) -> Lease {
    let name = services.instance.get_or_init(|| {
        let mut r = [0u8; 8];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut r);
        format!("unnamed/{}", hex::encode(r))
    });
    Lease::new(services.store.clone(), job, name, term)
}

/// Runs `job` if this instance holds `lease`, renewing the lease while the job runs (a
/// deposit of many identifiers outlasts a term). `None`: another instance holds it.
pub(crate) async fn while_held<F: std::future::Future>(lease: &Lease, job: F) -> Option<F::Output> {
    if !lease.hold().await {
        return None;
    }
    tokio::pin!(job);
    let mut renew = tokio::time::interval(TERM / 6);
    loop {
        tokio::select! {
            out = &mut job => return Some(out),
            _ = renew.tick() => {
                if !lease.hold().await {
                    tracing::warn!(lease = lease.name(), "lease lost during its job; finishing the job");
                }
            }
        }
    }
}
