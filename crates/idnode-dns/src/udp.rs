//! DNS over UDP, on the shared transport (`idnode-transport`): answers from the caches in
//! the receive loop; queries whose facts must be read from the store are answered in tasks,
//! and get SERVFAIL at once when too many are pending.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use idnode_transport::Datagrams;
use tokio::net::UdpSocket;

use crate::{DnsService, Prepared, Step, Transport};

/// Serves DNS queries on `socket` until `shutdown` completes.
pub async fn serve_udp(
    socket: UdpSocket,
    service: Arc<DnsService>,
    shutdown: impl Future<Output = ()>,
) {
    idnode_transport::serve_udp(socket, service, "dns", shutdown).await;
}

impl Datagrams for DnsService {
    type State = ();
    type Deferred = Box<Prepared>;
    const MAX_DATAGRAM: usize = 4096;

    fn receive(
        &self,
        (): &mut (),
        packet: &[u8],
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> Option<Box<Prepared>> {
        if !self.within_rate(peer.ip()) {
            if let Some(slipped) = crate::slip(packet) {
                *out = slipped;
            }
            return None;
        }
        match self.prepare(packet, Transport::Udp) {
            Step::Done(answer) => *out = answer,
            Step::Needs(p) => match self.cached_facts(&p) {
                Some(f) => *out = self.respond(&p, &f, peer.ip()),
                None => return Some(p),
            },
        }
        None
    }

    async fn answer(&self, p: Box<Prepared>, peer: SocketAddr, out: &mut Vec<u8>) {
        *out = match self.facts(&p).await {
            Ok(f) => self.respond(&p, &f, peer.ip()),
            Err(e) => {
                tracing::warn!("dns: {e}");
                self.servfail(&p)
            }
        };
    }

    fn overloaded(&self, p: &Box<Prepared>, out: &mut Vec<u8>) {
        *out = self.servfail(p);
    }
}
