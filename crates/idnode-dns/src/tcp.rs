//! DNS over TCP (RFC 7766, on the shared transport, `idnode-transport`): two-octet length,
//! then the message; several queries may share a connection and are answered in order.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use idnode_transport::{Connection, Protocol, Start, TcpLimits};
use tokio::net::TcpListener;

use crate::{DnsService, Transport};

/// Connections served at once, and how long they may idle or take over a query.
const LIMITS: TcpLimits = TcpLimits {
    max_connections: 1024,
    idle_timeout: Duration::from_secs(10),
    read_timeout: Duration::from_secs(5),
};

/// Serves DNS queries on `listener` until `shutdown` completes.
pub async fn serve_tcp(
    listener: TcpListener,
    service: Arc<DnsService>,
    shutdown: impl Future<Output = ()>,
) {
    idnode_transport::serve_tcp(listener, Arc::new(Tcp(service)), LIMITS, "dns", shutdown).await;
}

struct Tcp(Arc<DnsService>);

impl Protocol for Tcp {
    async fn connection(&self, mut c: Connection) -> std::io::Result<()> {
        let mut len = [0u8; 2];
        let mut msg = Vec::new();
        loop {
            if c.read_start(&mut len).await? != Start::Read {
                return Ok(());
            }
            msg.resize(usize::from(u16::from_be_bytes(len)), 0);
            if c.read_rest(&mut msg).await? != Start::Read {
                return Ok(());
            }
            let out = self.0.answer(&msg, Transport::Tcp, c.peer.ip()).await;
            if out.is_empty() {
                continue;
            }
            let n = u16::try_from(out.len()).unwrap_or(u16::MAX);
            let mut framed = Vec::with_capacity(out.len() + 2);
            framed.extend_from_slice(&n.to_be_bytes());
            framed.extend_from_slice(&out[..usize::from(n)]);
            c.write_all(&framed).await?;
        }
    }
}
