//! The UDP listener: answers from the caches inline, and hands queries whose facts must be
//! read from the store to a task, so one slow read never holds up the socket.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::{DnsService, Step, Transport};

async fn send(socket: &UdpSocket, peer: SocketAddr, out: &[u8]) {
    if out.is_empty() {
        return;
    }
    if let Err(e) = socket.send_to(out, peer).await {
        tracing::debug!("dns udp send to {peer}: {e}");
    }
}

/// Queries waiting for the store at once; beyond this, new ones get SERVFAIL at once, so a
/// flood of unknown names cannot pile up tasks without bound.
const MAX_PENDING: usize = 4096;

/// Serves DNS queries on `socket` until `shutdown` completes.
pub async fn serve_udp(
    socket: UdpSocket,
    service: Arc<DnsService>,
    shutdown: impl Future<Output = ()>,
) {
    let socket = Arc::new(socket);
    let pending = Arc::new(Semaphore::new(MAX_PENDING));
    let mut buf = vec![0u8; 4096];
    tokio::pin!(shutdown);
    loop {
        let (n, peer) = tokio::select! {
            () = &mut shutdown => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!("dns udp receive: {e}");
                    continue;
                }
            },
        };
        if !service.within_rate(peer.ip()) {
            if let Some(out) = crate::slip(&buf[..n]) {
                send(&socket, peer, &out).await;
            }
            continue;
        }
        match service.prepare(&buf[..n], Transport::Udp) {
            Step::Done(out) => send(&socket, peer, &out).await,
            Step::Needs(p) => {
                if let Some(f) = service.cached_facts(&p) {
                    send(&socket, peer, &service.respond(&p, &f)).await;
                    continue;
                }
                let Ok(permit) = pending.clone().try_acquire_owned() else {
                    send(&socket, peer, &service.servfail(&p)).await;
                    continue;
                };
                let (socket, service) = (socket.clone(), service.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    let out = match service.facts(&p).await {
                        Ok(f) => service.respond(&p, &f),
                        Err(e) => {
                            tracing::warn!("dns: {e}");
                            service.servfail(&p)
                        }
                    };
                    send(&socket, peer, &out).await;
                });
            }
        }
    }
}
