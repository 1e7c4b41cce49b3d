//! The TCP transport: envelope, then the message; pipelined requests are answered in order.
//! The connection stays open until the client closes it or it idles out, whether or not the
//! requests carry KC: the national ID-SDK sends every request of a channel on one connection
//! without ever setting KC, and CNRI's servers keep such connections open too.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use idnode_handle_proto::{Envelope, ProtoError, ENVELOPE_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::{Client, HandleService};

/// Connection limits of the TCP server.
#[derive(Clone, Copy, Debug)]
pub struct TcpLimits {
    /// Connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// How long an open connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a client may take to send the rest of a message once it started.
    pub read_timeout: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves Handle requests on `listener` until `shutdown` completes.
pub async fn serve_tcp(
    listener: TcpListener,
    service: Arc<HandleService>,
    limits: TcpLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refused = metrics::counter!("idnode_handle_connections_refused_total");
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("handle tcp accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            refused.increment(1);
            drop(stream);
            continue;
        };
        let service = service.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if let Err(e) = connection(stream, peer, &service, limits).await {
                tracing::debug!("handle tcp {peer}: {e}");
            }
            drop(permit);
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    service: &HandleService,
    limits: TcpLimits,
) -> std::io::Result<()> {
    let mut client = Client::new(peer.ip());
    let mut env_buf = [0u8; ENVELOPE_LEN];
    let mut msg = Vec::new();
    let mut out = Vec::new();
    loop {
        // Idle: wait for the first byte of the next envelope.
        match timeout(limits.idle_timeout, stream.read(&mut env_buf[..1])).await {
            Err(_) | Ok(Ok(0)) => return Ok(()),
            Ok(r) => r?,
        };
        if timeout(limits.read_timeout, stream.read_exact(&mut env_buf[1..]))
            .await
            .is_err()
        {
            return Ok(());
        }
        out.clear();
        let env = match Envelope::decode(&env_buf) {
            Ok(e) => e,
            Err(e) => {
                service.reject(&env_buf, &e, &mut out);
                stream.write_all(&out).await?;
                return Ok(());
            }
        };
        msg.resize(env.message_length as usize, 0);
        match timeout(limits.read_timeout, stream.read_exact(&mut msg)).await {
            Ok(r) => r?,
            Err(_) => {
                let e = ProtoError::Truncated("the client did not send the whole message in time");
                service.reject(&env_buf, &e, &mut out);
                let _ = stream.write_all(&out).await;
                return Ok(());
            }
        };
        if !service.answer_cached(peer.ip(), &env, &msg, &mut out) {
            service.answer(&mut client, env, &msg, &mut out).await;
        }
        stream.write_all(&out).await?;
    }
}
