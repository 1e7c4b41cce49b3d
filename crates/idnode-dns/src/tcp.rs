//! The TCP listener (RFC 7766): two-octet length, then the message; several queries may
//! share a connection and are answered in order.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::{DnsService, Transport};

/// Connections served at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 1024;
/// How long an open connection may wait for its next query.
const IDLE: Duration = Duration::from_secs(10);
/// How long a client may take to send the rest of a query once it started.
const READ: Duration = Duration::from_secs(5);

/// Serves DNS queries on `listener` until `shutdown` completes.
pub async fn serve_tcp(
    listener: TcpListener,
    service: Arc<DnsService>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("dns tcp accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, &service).await {
                tracing::debug!("dns tcp {peer}: {e}");
            }
            drop(permit);
        });
    }
}

async fn connection(mut stream: TcpStream, service: &DnsService) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut len = [0u8; 2];
    let mut msg = Vec::new();
    loop {
        match timeout(IDLE, stream.read(&mut len[..1])).await {
            Err(_) | Ok(Ok(0)) => return Ok(()),
            Ok(r) => r?,
        };
        if timeout(READ, stream.read_exact(&mut len[1..]))
            .await
            .is_err()
        {
            return Ok(());
        }
        msg.resize(usize::from(u16::from_be_bytes(len)), 0);
        match timeout(READ, stream.read_exact(&mut msg)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        };
        let out = service.answer(&msg, Transport::Tcp).await;
        if out.is_empty() {
            continue;
        }
        let n = u16::try_from(out.len()).unwrap_or(u16::MAX);
        let mut framed = Vec::with_capacity(out.len() + 2);
        framed.extend_from_slice(&n.to_be_bytes());
        framed.extend_from_slice(&out[..usize::from(n)]);
        stream.write_all(&framed).await?;
    }
}
