//! The HTTP transport (HTTP/1.1 and HTTP/2, over TLS when configured): connections up to a cap (in all and per client address), each
//! served by hyper and cut off when a client holds it without using it:
//! - a request head must be complete within `header_timeout` of the connection opening, or of
//!   its first byte when the connection was idle;
//! - a keep-alive connection idle for `idle_timeout` after a response is closed;
//! - a request body must arrive within `body_timeout` of its head;
//! - a response the client does not take for `write_timeout` ends the connection.
//!
//! What was cut off is counted in `idnode_http_connections_cut_total{reason}`, refused
//! connections in `idnode_http_connections_refused_total{reason}`.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{sleep, Instant, Sleep};

/// Connection limits and timeouts of the HTTP front end.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// Connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// Connections one client address may hold at once; more are closed on accept.
    pub max_connections_per_client: usize,
    /// Time to send a request head (from the connection opening, or its first byte).
    pub header_timeout: Duration,
    /// Time a keep-alive connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// Time to send a request body, from the end of its head.
    pub body_timeout: Duration,
    /// Time a client may leave a response untaken.
    pub write_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_client: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// A request body that did not arrive within `body_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// Why connections are cut off, and refused (the `reason` labels).
const CUT_REASONS: [&str; 4] = [
    "header_timeout",
    "idle_timeout",
    "body_timeout",
    "write_timeout",
];
const REFUSED_REASONS: [&str; 2] = ["limit", "client_limit"];

/// Registers every connection counter at zero: dashboards and `rate()` see them from the
/// start, not from the first cut or refusal.
pub(crate) fn register_metrics() {
    for reason in CUT_REASONS {
        metrics::counter!("idnode_http_connections_cut_total", "reason" => reason).increment(0);
    }
    for reason in REFUSED_REASONS {
        metrics::counter!("idnode_http_connections_refused_total", "reason" => reason).increment(0);
    }
}

fn cut(reason: &'static str) {
    metrics::counter!("idnode_http_connections_cut_total", "reason" => reason).increment(1);
}

fn refused(reason: &'static str) {
    metrics::counter!("idnode_http_connections_refused_total", "reason" => reason).increment(1);
}

/// What one connection is doing, shared by its socket, its service and its bodies.
#[derive(Default)]
struct Shared {
    /// Requests being served (head read, response not yet fully sent; HTTP/2 serves
    /// several at once).
    busy: AtomicU64,
    /// Responses fully sent: a change starts an idle period.
    responses: AtomicU64,
    /// The request body timed out: the connection ends.
    cut: AtomicBool,
    /// The connection switched protocols (a WebSocket): no more HTTP deadlines on reads.
    upgraded: AtomicBool,
    /// The connection task, when its socket read while busy: the end of the response starts
    /// the idle deadline, so the read must be polled again.
    reader: Mutex<Option<Waker>>,
}

impl Shared {
    fn response_done(&self) {
        self.busy.fetch_sub(1, Ordering::AcqRel);
        self.responses.fetch_add(1, Ordering::AcqRel);
        let waker = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// What the socket waits for while no request is being served.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The rest of a request head.
    Head,
    /// The first byte of the next request.
    Idle,
}

/// The socket, with the head, idle and write deadlines.
struct Guarded {
    io: TcpStream,
    shared: Arc<Shared>,
    limits: ConnLimits,
    wait: Wait,
    seen: u64,
    read_deadline: Pin<Box<Sleep>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
}

impl Guarded {
    fn new(io: TcpStream, shared: Arc<Shared>, limits: ConnLimits) -> Self {
        Self {
            io,
            shared,
            limits,
            wait: Wait::Head,
            seen: 0,
            read_deadline: Box::pin(sleep(limits.header_timeout)),
            write_deadline: None,
        }
    }

    fn wrote<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.write_deadline = None;
            return r;
        }
        let limit = self.limits.write_timeout;
        let deadline = self
            .write_deadline
            .get_or_insert_with(|| Box::pin(sleep(limit)));
        if deadline.as_mut().poll(cx).is_ready() {
            cut("write_timeout");
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        Poll::Pending
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.shared.cut.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        if this.shared.upgraded.load(Ordering::Acquire) {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        if this.shared.busy.load(Ordering::Acquire) > 0 {
            // A body being read (`TimedBody` bounds it), or the next request read early.
            *this.shared.reader.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(cx.waker().clone());
            if this.shared.busy.load(Ordering::Acquire) > 0 {
                return Pin::new(&mut this.io).poll_read(cx, buf);
            }
        }
        let done = this.shared.responses.load(Ordering::Acquire);
        if done != this.seen {
            this.seen = done;
            this.wait = Wait::Idle;
            let at = Instant::now() + this.limits.idle_timeout;
            this.read_deadline.as_mut().reset(at);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.wait == Wait::Idle && buf.filled().len() > before {
                    this.wait = Wait::Head;
                    let at = Instant::now() + this.limits.header_timeout;
                    this.read_deadline.as_mut().reset(at);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.read_deadline.as_mut().poll(cx).is_ready() => {
                cut(match this.wait {
                    Wait::Head => "header_timeout",
                    Wait::Idle => "idle_timeout",
                });
                Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.wrote(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A request body that must arrive before its deadline.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    shared: Arc<Shared>,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                if !this.shared.cut.swap(true, Ordering::AcqRel) {
                    cut("body_timeout");
                }
                Poll::Ready(Some(Err(BodyTimedOut.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that ends the connection's busy period when it is sent (or dropped).
struct SentBody {
    inner: Body,
    shared: Option<Arc<Shared>>,
}

impl SentBody {
    fn finish(&mut self) {
        if let Some(s) = self.shared.take() {
            s.response_done();
        }
    }
}

impl Drop for SentBody {
    fn drop(&mut self) {
        self.finish();
    }
}

impl http_body::Body for SentBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(r, Poll::Ready(None)) {
            self.finish();
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Connections per client address.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One connection counted against its client address until dropped.
struct ClientSlot(Arc<PerClient>, IpAddr);

impl PerClient {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot(self.clone(), ip))
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.0 .0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.1);
            }
        }
    }
}

/// How connections are served: HTTP/1.1 with keep-alive, upgrades allowed (WebSocket
/// subscriptions at `/epcis/queries/{name}/events`), or HTTP/2 when the client starts with
/// its preface (negotiated by ALPN over TLS). One for all connections.
fn builder() -> &'static hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor> {
    static BUILDER: std::sync::OnceLock<
        hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    > = std::sync::OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        b.http1().keep_alive(true);
        b.http2().max_concurrent_streams(256);
        b
    })
}

/// The service every connection runs: a request in, a response out.
pub(crate) type App = tower::util::BoxCloneSyncService<
    axum::extract::Request,
    axum::response::Response,
    std::convert::Infallible,
>;

/// One connection served by hyper (HTTP/1.1 or HTTP/2, as the client speaks).
fn connection<I>(
    io: I,
    service: ConnService,
) -> impl hyper_util::server::graceful::GracefulConnection<
    Output = Result<(), Box<dyn std::error::Error + Send + Sync>>,
>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    builder().serve_connection_with_upgrades(TokioIo::new(io), service)
}

/// Serves `app` on `listener` within `limits` (over TLS with `tls`) until `shutdown`
/// completes, then lets open connections finish their requests (for at most ten seconds).
pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    limits: ConnLimits,
    tls: Option<Arc<crate::tls::Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(PerClient::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = metrics::gauge!("idnode_http_connections_open");
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            c = idnode_transport::accept(&listener, "http") => c,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            refused("limit");
            continue;
        };
        let Some(client) = clients.take(peer.ip(), limits.max_connections_per_client) else {
            refused("client_limit");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::new(Shared::default());
        // The deadlines apply to the socket: a TLS handshake must end within the head's.
        let io = Guarded::new(stream, shared.clone(), limits);
        let service = ConnService {
            app: app.clone(),
            shared,
            peer,
            body_timeout: limits.body_timeout,
            tls: tls.is_some(),
        };
        let watcher = graceful.watcher();
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        let open = open.clone();
        open.increment(1.0);
        tokio::spawn(async move {
            let served = match acceptor {
                None => watcher.watch(connection(io, service)).await,
                Some(acceptor) => match acceptor.accept(io).await {
                    Ok(tls) => watcher.watch(connection(tls, service)).await,
                    Err(e) => Err(e.into()),
                },
            };
            if let Err(e) = served {
                tracing::debug!("http {peer}: {e}");
            }
            open.decrement(1.0);
            drop((permit, client));
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = sleep(Duration::from_secs(10)) => tracing::warn!("http: connections still open at shutdown"),
    }
    Ok(())
}

/// One connection's service: records the busy period, bounds the body, names the peer.
struct ConnService {
    app: App,
    shared: Arc<Shared>,
    peer: SocketAddr,
    body_timeout: Duration,
    /// Over TLS: the request says so (`X-Forwarded-Proto: https`, whatever the client
    /// sent).
    tls: bool,
}

type Reply = hyper::Response<SentBody>;

impl hyper::service::Service<hyper::Request<Incoming>> for ConnService {
    type Response = Reply;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Self::Error>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        use tower::ServiceExt as _;
        self.shared.busy.fetch_add(1, Ordering::AcqRel);
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        if self.tls {
            parts.headers.insert(
                "x-forwarded-proto",
                axum::http::HeaderValue::from_static("https"),
            );
        }
        let body = if http_body::Body::is_end_stream(&body) {
            Body::empty()
        } else {
            Body::new(TimedBody {
                inner: body,
                deadline: Box::pin(sleep(self.body_timeout)),
                shared: self.shared.clone(),
            })
        };
        let req = axum::extract::Request::from_parts(parts, body);
        let app = self.app.clone();
        let shared = self.shared.clone();
        // The request's writes record where they came from (the audit log).
        let client = self.peer.ip();
        Box::pin(idnode_registry::origin::scope(client, async move {
            // Ends the busy period however the request ends: sent, or dropped unanswered
            // (an HTTP/2 stream the client reset).
            let mut sent = SentBody {
                inner: Body::empty(),
                shared: Some(shared.clone()),
            };
            let resp = app.oneshot(req).await?;
            if resp.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
                shared.upgraded.store(true, Ordering::Release);
            }
            Ok(resp.map(|inner| {
                sent.inner = inner;
                sent
            }))
        }))
    }
}
