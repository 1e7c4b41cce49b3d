//! The transports shared by the binary front ends (Handle, DNS).
//!
//! TCP: one accept loop with a connection limit (more connections are closed on accept and
//! counted), one task per connection, and the read discipline both protocols use: wait up to
//! the idle timeout for the first byte of the next request, then up to the read timeout for
//! the rest of it. Protocols supply only what is theirs: the framing and the answer
//! ([`Protocol`]).
//!
//! UDP: [`serve_udp`] runs one receive loop for a [`Datagrams`] protocol.

mod udp;

pub use udp::{serve_udp, Datagrams, MAX_PENDING};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

/// Connection limits of a TCP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpLimits {
    /// Connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// How long an open connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a client may take to send the rest of a request once it started.
    pub read_timeout: Duration,
}

/// A protocol served over TCP: what one connection does once accepted.
pub trait Protocol: Send + Sync + 'static {
    /// Serves the connection until the client closes it, idles out or misbehaves.
    fn connection(&self, conn: Connection) -> impl Future<Output = std::io::Result<()>> + Send;
}

/// One accepted connection: its stream and peer, and the limits its reads keep to.
pub struct Connection {
    /// The stream.
    pub stream: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    limits: TcpLimits,
}

/// Accepts the next connection on `listener`. A failed accept (out of file descriptors,
/// most likely) is logged under `name` and retried after 50 ms, so that connections can end.
pub async fn accept(listener: &TcpListener, name: &str) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(c) => return c,
            Err(e) => {
                tracing::warn!("{name} tcp accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves `protocol` on `listener` until `shutdown` completes. `name` labels the log lines
/// and the `idnode_tcp_connections_refused_total{server}` counter.
pub async fn serve_tcp<P: Protocol>(
    listener: TcpListener,
    protocol: Arc<P>,
    limits: TcpLimits,
    name: &'static str,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let refused = metrics::counter!("idnode_tcp_connections_refused_total", "server" => name);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            c = accept(&listener, name) => c,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            refused.increment(1);
            drop(stream);
            continue;
        };
        let protocol = protocol.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let conn = Connection {
                stream,
                peer,
                limits,
            };
            if let Err(e) = protocol.connection(conn).await {
                tracing::debug!("{name} tcp {peer}: {e}");
            }
            drop(permit);
        });
    }
}

/// How reading the start of a request ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// `buf` is filled.
    Read,
    /// The client closed the connection, or sent nothing within the idle timeout.
    Closed,
    /// The client started a request but did not finish `buf` within the read timeout.
    Stalled,
}

impl Connection {
    /// Fills `buf` (a request's fixed-size start: a length prefix or an envelope): its first
    /// byte within the idle timeout, the rest within the read timeout.
    pub async fn read_start(&mut self, buf: &mut [u8]) -> std::io::Result<Start> {
        let Some((first, rest)) = buf.split_first_mut() else {
            return Ok(Start::Read);
        };
        let idle = self.limits.idle_timeout;
        match timeout(idle, self.stream.read(std::slice::from_mut(first))).await {
            Err(_) | Ok(Ok(0)) => return Ok(Start::Closed),
            Ok(r) => r?,
        };
        self.read_rest(rest).await
    }

    /// Fills `buf` (the rest of a request) within the read timeout.
    pub async fn read_rest(&mut self, buf: &mut [u8]) -> std::io::Result<Start> {
        match timeout(self.limits.read_timeout, self.stream.read_exact(buf)).await {
            Ok(Ok(_)) => Ok(Start::Read),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Start::Closed),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(Start::Stalled),
        }
    }

    /// Writes all of `bytes`.
    pub async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoes 2-byte-length-framed messages back.
    struct Echo;

    impl Protocol for Echo {
        async fn connection(&self, mut c: Connection) -> std::io::Result<()> {
            let mut len = [0u8; 2];
            loop {
                if c.read_start(&mut len).await? != Start::Read {
                    return Ok(());
                }
                let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if c.read_rest(&mut msg).await? != Start::Read {
                    return Ok(());
                }
                c.write_all(&len).await?;
                c.write_all(&msg).await?;
            }
        }
    }

    #[tokio::test]
    async fn connections_are_limited_and_idle_ones_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = TcpLimits {
            max_connections: 1,
            idle_timeout: Duration::from_millis(300),
            read_timeout: Duration::from_millis(300),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_tcp(listener, Arc::new(Echo), limits, "test", async {
            let _ = rx.await;
        }));
        let mut a = TcpStream::connect(addr).await.unwrap();
        a.write_all(&[0, 2, b'h', b'i']).await.unwrap();
        let mut got = [0u8; 4];
        a.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, &[0, 2, b'h', b'i']);
        // A second connection while the first is open is closed at once.
        let mut b = TcpStream::connect(addr).await.unwrap();
        let mut one = [0u8; 1];
        assert_eq!(b.read(&mut one).await.unwrap(), 0, "refused on accept");
        // The first one idles out and is closed; then a new one is served.
        assert_eq!(a.read(&mut one).await.unwrap(), 0, "closed when idle");
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(&[0, 1, b'x']).await.unwrap();
        let mut got = [0u8; 3];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, &[0, 1, b'x']);
        // A request started and not finished is dropped after the read timeout.
        c.write_all(&[0, 9, b'y']).await.unwrap();
        assert_eq!(c.read(&mut one).await.unwrap(), 0, "stalled request closed");
        let _ = tx.send(());
        server.await.unwrap();
    }
}
