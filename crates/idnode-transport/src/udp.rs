//! The UDP server shared by the binary front ends: one receive loop that answers what it can
//! at once (cache hits, errors) and hands the rest (store reads, signature checks) to tasks,
//! at most [`MAX_PENDING`] at a time, so one slow read never holds up the socket and a flood
//! cannot pile up tasks without bound.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

/// Requests being answered off the receive loop at once; beyond this the protocol's
/// [`Datagrams::overloaded`] answer (or nothing) goes out instead.
pub const MAX_PENDING: usize = 4096;

/// A protocol served over UDP.
pub trait Datagrams: Send + Sync + 'static {
    /// What the receive loop keeps from one datagram to the next (packets of a request
    /// that spans several).
    type State: Default + Send;
    /// A request answered off the receive loop.
    type Deferred: Send + 'static;
    /// Largest datagram read.
    const MAX_DATAGRAM: usize;

    /// Takes one datagram from `peer`: writes what to send at once to `out` (nothing, an
    /// answer or an error) or returns the request to answer in a task.
    fn receive(
        &self,
        state: &mut Self::State,
        packet: &[u8],
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> Option<Self::Deferred>;

    /// Answers a deferred request into `out`.
    fn answer(
        &self,
        request: Self::Deferred,
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> impl Future<Output = ()> + Send;

    /// Too many requests are pending: what to send for `request` instead (nothing drops
    /// it; UDP clients retry).
    fn overloaded(&self, request: &Self::Deferred, out: &mut Vec<u8>);

    /// Calls `emit` with each datagram that carries `out` (by default one).
    fn datagrams(out: &[u8], mut emit: impl FnMut(&[u8])) {
        emit(out);
    }
}

/// Serves `protocol` on `socket` until `shutdown` completes; `name` labels log lines.
pub async fn serve_udp<P: Datagrams>(
    socket: UdpSocket,
    protocol: Arc<P>,
    name: &'static str,
    shutdown: impl Future<Output = ()>,
) {
    let socket = Arc::new(socket);
    let pending = Arc::new(Semaphore::new(MAX_PENDING));
    let mut buf = vec![0u8; P::MAX_DATAGRAM];
    let mut out = Vec::with_capacity(512);
    let mut state = P::State::default();
    tokio::pin!(shutdown);
    loop {
        let (n, peer) = tokio::select! {
            () = &mut shutdown => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!("{name} udp receive: {e}");
                    continue;
                }
            },
        };
        out.clear();
        let Some(request) = protocol.receive(&mut state, &buf[..n], peer, &mut out) else {
            send::<P>(&socket, peer, &out, name).await;
            continue;
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            tracing::debug!("{name} udp: {MAX_PENDING} requests pending");
            protocol.overloaded(&request, &mut out);
            send::<P>(&socket, peer, &out, name).await;
            continue;
        };
        let (socket, protocol) = (socket.clone(), protocol.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let mut out = Vec::new();
            protocol.answer(request, peer, &mut out).await;
            send::<P>(&socket, peer, &out, name).await;
        });
    }
}

/// Sends the datagrams of `out` to `peer`, without a wake-up unless the socket's buffer is
/// full.
async fn send<P: Datagrams>(socket: &UdpSocket, peer: SocketAddr, out: &[u8], name: &str) {
    if out.is_empty() {
        return;
    }
    let mut blocked = Vec::new();
    P::datagrams(out, |d| match socket.try_send_to(d, peer) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::WouldBlock => blocked.push(d.to_vec()),
        Err(e) => tracing::debug!("{name} udp send to {peer}: {e}"),
    });
    for d in blocked {
        if let Err(e) = socket.send_to(&d, peer).await {
            tracing::debug!("{name} udp send to {peer}: {e}");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers `n...` at once with `now`, anything else in a task with the datagram
    /// reversed; when overloaded, `busy`.
    struct Echo;

    impl Datagrams for Echo {
        type State = ();
        type Deferred = Vec<u8>;
        const MAX_DATAGRAM: usize = 512;

        fn receive(
            &self,
            (): &mut (),
            packet: &[u8],
            _: SocketAddr,
            out: &mut Vec<u8>,
        ) -> Option<Vec<u8>> {
            if packet.starts_with(b"n") {
                out.extend_from_slice(b"now");
                return None;
            }
            Some(packet.to_vec())
        }

        async fn answer(&self, mut request: Vec<u8>, _: SocketAddr, out: &mut Vec<u8>) {
            request.reverse();
            out.extend_from_slice(&request);
        }

        fn overloaded(&self, _: &Vec<u8>, out: &mut Vec<u8>) {
            out.extend_from_slice(b"busy");
        }
    }

    #[tokio::test]
    async fn answers_inline_and_in_tasks() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_udp(socket, Arc::new(Echo), "test", async {
            let _ = rx.await;
        }));
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut got = [0u8; 16];
        client.send_to(b"nx", addr).await.unwrap();
        let n = client.recv(&mut got).await.unwrap();
        assert_eq!(&got[..n], b"now");
        client.send_to(b"abc", addr).await.unwrap();
        let n = client.recv(&mut got).await.unwrap();
        assert_eq!(&got[..n], b"cba");
        let _ = tx.send(());
        server.await.unwrap();
    }
}
