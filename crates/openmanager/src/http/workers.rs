//! Thread-per-core serving: `server.workers` threads, each with its own single-threaded tokio runtime,
//! all accepting from one listening socket, the way nginx's worker processes do. A request is then
//! handled start to finish on the thread that accepted it, with no cross-thread wake-ups; on the 2-vCPU
//! target this answers about 30% more small requests per second than tokio's work-stealing runtime
//! (measured with `bench/http.sh`). Background jobs run on the main runtime, not here.
//!
//! Each connection is served by hyper (HTTP/1.1, and HTTP/2 by prior knowledge) under bounds a
//! stranger cannot stretch: a connection must send a complete request head within
//! `server.header_timeout_ms` (the first one, and on HTTP/1.1 every later one, counted from its
//! first byte: see [`HeadClock`]), a connection without requests for `server.idle_timeout_ms` is
//! closed, and admission goes through the connection table (`connections.rs`), which sheds the
//! oldest idle connection instead of letting newcomers wait.
//!
//! hyper's own `header_read_timeout` is off: it starts when hyper begins waiting for the next
//! request, so it also closed idle keep-alive connections after `header_timeout_ms` (10 s), and a
//! browser polling every few seconds past that reconnected, paying a TCP and TLS handshake each time.
//!
//! With `[tls]` on, every admitted connection first goes through the `tls` crate's handshaker (a
//! bounded handshake, at most 128 at once per address; plain HTTP sent to this port gets a redirect to
//! `https://`), and its responses
//! carry `Strict-Transport-Security`. The same bounds and timeouts then apply to the TLS stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::{Service, ServiceExt};

use super::connections::{Admitted, Conn, ConnectionTable};

/// The kernel send buffer of a connection (Linux doubles it for bookkeeping): far above any one
/// chunk of an answer, far below what autotuning would let a stalled client pin.
const SEND_BUFFER: usize = 128 * 1024;

pub struct Workers {
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// How serving stops: first `accepting` (no new connections; a hand-over stops here first and lets
/// keep-alive clients finish), then `serving` (idle connections close, in-flight requests finish).
#[derive(Clone, Default)]
pub struct Stop {
    pub accepting: CancellationToken,
    pub serving: CancellationToken,
}

impl Stop {
    /// Both at once: a plain shutdown.
    pub fn all(&self) {
        self.accepting.cancel();
        self.serving.cancel();
    }
}

/// Time limits per connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a complete request head (on HTTP/1.1, a later one counts from its first byte).
    pub header: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/1.1 keep-alive too).
    pub idle: Duration,
}

/// What every worker shares.
#[derive(Clone)]
pub struct Serving {
    pub app: super::App,
    pub table: ConnectionTable,
    pub timeouts: Timeouts,
    pub stop: Stop,
    /// HTTPS on this port (`[tls]` on); `None` serves plain HTTP.
    pub tls: Option<Arc<TlsPort>>,
}

/// Handshakes one address may have in progress at once: half the handshaker's cap (256), so one
/// address holding slow ClientHellos cannot lock every other client out until they time out, while a
/// load balancer, a NAT or a load generator opening many connections at once still gets through.
const HANDSHAKES_PER_IP: usize = 128;

/// The TLS side of a listening port: the bounded handshaker and the handshakes in progress per address.
pub struct TlsPort {
    handshaker: tls::Handshaker,
    in_progress: parking_lot::Mutex<HashMap<IpAddr, usize>>,
}

impl TlsPort {
    pub fn new(handshaker: tls::Handshaker) -> Self {
        Self { handshaker, in_progress: parking_lot::Mutex::default() }
    }

    /// A handshake slot for `ip`, or `None` when that address already has its share in progress.
    fn slot(self: &Arc<Self>, ip: IpAddr) -> Option<HandshakeSlot> {
        let mut map = self.in_progress.lock();
        let n = map.entry(ip).or_default();
        if *n >= HANDSHAKES_PER_IP {
            return None;
        }
        *n += 1;
        Some(HandshakeSlot { port: self.clone(), ip })
    }
}

/// One handshake in progress for an address; freed on drop.
struct HandshakeSlot {
    port: Arc<TlsPort>,
    ip: IpAddr,
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut map = self.port.in_progress.lock();
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Sent on every answer over TLS: browsers then use `https://` for this host for a year.
const HSTS: &str = "max-age=31536000";

/// Starts `count` serving threads on `listener` (bound or inherited; the caller keeps its own handle).
/// They stop as `serving.stop` says and finish when their in-flight requests have.
pub fn spawn(listener: &std::net::TcpListener, count: usize, serving: Serving) -> std::io::Result<Workers> {
    listener.set_nonblocking(true)?;
    let mut handles = Vec::with_capacity(count);
    for i in 0..count.max(1) {
        let socket = listener.try_clone()?;
        let serving = serving.clone();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(socket) {
                    Ok(l) => serve(l, serving).await,
                    Err(e) => tracing::error!(error = %e, "HTTP worker cannot use the listening socket"),
                }
            });
        })?;
        handles.push(handle);
    }
    Ok(Workers { handles })
}

impl Workers {
    /// Waits for every worker to finish, at most `limit`. Returns false if some were still busy.
    pub async fn join(self, limit: Duration) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            for h in self.handles {
                let _ = h.join();
            }
            let _ = tx.send(());
        });
        tokio::time::timeout(limit, rx).await.is_ok()
    }
}

/// Accepts on `listener` until `stop.accepting`, serving each connection on this thread; returns
/// once `stop.serving` fired and every connection has finished.
pub async fn serve(listener: tokio::net::TcpListener, serving: Serving) {
    let connections = TaskTracker::new();
    let stop = serving.stop.clone();
    loop {
        let accepted = tokio::select! {
            // Biased: a connection is never taken from the queue after the stop.
            biased;
            _ = stop.accepting.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small JSON answers should not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        // A client that stops reading fills its socket's send buffer; a fixed size (instead of
        // autotuning up to megabytes) bounds that kernel memory and lets the WebSocket stall
        // timeout notice the client within a few messages.
        let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER);
        match serving.table.admit(peer.ip().to_canonical(), Instant::now()) {
            Ok(place) => match &serving.tls {
                Some(port) => {
                    connections.spawn(serve_tls(port.clone(), tcp, peer, place, serving.clone()));
                }
                None => {
                    connections.spawn(serve_plain(tcp, peer, place, serving.clone()));
                }
            },
            Err(why) => {
                tracing::debug!(%peer, ?why, "connection refused: every connection is busy");
                connections.spawn(refuse(tcp));
            }
        }
    }
    // Stopped accepting: serve what is open until told to stop, then let it finish.
    connections.close();
    connections.wait().await;
}

/// A short answer to a connection that cannot be let in, instead of silence in the backlog.
async fn refuse(mut tcp: tokio::net::TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 92\r\n\r\n{\"success\":false,\"error\":\"UNAVAILABLE\",\"message\":\"too many open connections; retry shortly\"}";
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(BUSY)).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.shutdown()).await;
}

/// The TLS handshake (bounded by the handshaker's timeout and concurrency cap, and given up if the
/// table sheds this connection or the server stops), then the connection served as any other.
async fn serve_tls(
    port: Arc<TlsPort>,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    place: Admitted,
    serving: Serving,
) {
    let Some(slot) = port.slot(peer.ip().to_canonical()) else {
        tracing::debug!(%peer, "TLS connection refused: too many handshakes in progress from this address");
        return;
    };
    let accepted = tokio::select! {
        a = port.handshaker.accept_tcp(tcp) => a,
        _ = place.conn.shed_signal().cancelled() => return,
        _ = serving.stop.serving.cancelled() => return,
    };
    drop(slot);
    match accepted {
        Ok(tls::Accepted::Tls(stream)) => {
            let protocol = Protocol::from_alpn(stream.get_ref().1.alpn_protocol());
            let head_deadline = tokio::time::Instant::now() + serving.timeouts.header;
            serve_connection(stream, peer, place, true, protocol, head_deadline, serving).await
        }
        Ok(tls::Accepted::Redirected) => tracing::debug!(%peer, "plain HTTP on the TLS port; redirected to https://"),
        Ok(tls::Accepted::AcmeChallenge) => tracing::debug!(%peer, "answered a tls-alpn-01 validation"),
        Err(e) => tracing::debug!(%peer, error = %e, "TLS connection refused"),
    }
}

/// Plain TCP: the first bytes say the HTTP version, and the connection is then served by hyper's
/// connection for it. (hyper-util's version detection, used before, cost about 8 KB more per
/// connection kept alive: 1,000 held connections took 19.8 MB against 11.8 MB in a minimal hyper
/// server with the same allocator.) Waiting for those bytes is bounded as a first head is, and ends
/// when the table sheds the connection or the server stops.
async fn serve_plain(tcp: tokio::net::TcpStream, peer: SocketAddr, place: Admitted, serving: Serving) {
    // One deadline for the first head, from the connection's start, sniffing included.
    let head_deadline = tokio::time::Instant::now() + serving.timeouts.header;
    let first = tokio::select! {
        first = first_bytes(&tcp) => first,
        () = tokio::time::sleep_until(head_deadline) => {
            tracing::debug!(%peer, "no request head in time; closing");
            return;
        }
        _ = place.conn.shed_signal().cancelled() => return,
        _ = serving.stop.serving.cancelled() => return,
    };
    match first {
        Ok(Some(protocol)) => serve_connection(tcp, peer, place, false, protocol, head_deadline, serving).await,
        Ok(None) => {} // closed before a byte
        Err(e) => tracing::trace!(%peer, error = %e, "connection ended before its first request"),
    }
}

/// HTTP/2 with prior knowledge opens with this preface; no HTTP/1.1 method starts with `PRI`.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Peeks (reads nothing) until the first bytes tell the version; `None` if the peer closed first.
async fn first_bytes(tcp: &tokio::net::TcpStream) -> std::io::Result<Option<Protocol>> {
    let mut first = [0u8; 3];
    loop {
        let n = tcp.peek(&mut first).await?;
        if n == 0 {
            return Ok(None);
        }
        match Protocol::from_first_bytes(&first[..n]) {
            Some(protocol) => return Ok(Some(protocol)),
            // `P` or `PR` so far (POST, PUT, PATCH or the preface): peek returns at once while data
            // is queued, so wait a moment for more (the caller bounds the whole wait).
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// The HTTP version a connection speaks: told by the TLS handshake (ALPN), or read from the first
/// bytes on plain TCP (HTTP/2 by prior knowledge is possible there; TLS without ALPN, as nginx, is
/// HTTP/1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

impl Protocol {
    /// What a TLS session agreed with ALPN.
    fn from_alpn(alpn: Option<&[u8]>) -> Self {
        match alpn {
            Some(b"h2") => Self::Http2,
            _ => Self::Http1,
        }
    }

    /// What the first bytes of a plain connection say; `None` while they could still be either.
    fn from_first_bytes(first: &[u8]) -> Option<Self> {
        let n = first.len().min(3);
        if first[..n] != H2_PREFACE[..n] {
            Some(Self::Http1)
        } else if n == 3 {
            Some(Self::Http2)
        } else {
            None
        }
    }
}

/// Serves one connection (plain TCP, or a TLS stream when `secure`) until it ends, is shed, or the
/// server stops.
pub async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    place: Admitted,
    secure: bool,
    protocol: Protocol,
    head_deadline: tokio::time::Instant,
    serving: Serving,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = place.conn.clone();
    let started = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(HeadClock::default());
    let service = ConnService {
        app: serving.app.clone(),
        peer,
        conn: conn.clone(),
        started: started.clone(),
        clock: clock.clone(),
        secure,
    };
    let io = TokioIo::new(Watched { inner: io, clock: clock.clone(), conn: conn.clone() });
    let hyper_service = hyper_util::service::TowerToHyperService::new(service);
    let watch = Watch { peer, conn: &conn, started: &started, clock: &clock, head_deadline, serving: &serving };
    match protocol {
        Protocol::Http1 => {
            let connection = http1().serve_connection(io, hyper_service).with_upgrades();
            watch.run(std::pin::pin!(connection), |c| c.graceful_shutdown()).await;
        }
        Protocol::Http2 => {
            let connection = http2().serve_connection(io, hyper_service);
            watch.run(std::pin::pin!(connection), |c| c.graceful_shutdown()).await;
        }
    }
    drop(place);
}

/// HTTP/1.1 as served here: hyper's own `header_read_timeout` is off, since it would also time out
/// idle keep-alive connections (see the module's doc); the head of every request after the first
/// is timed by [`HeadClock`] instead, from its first byte.
fn http1() -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new()).header_read_timeout(None);
    b
}

fn http2() -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        // WebSockets over HTTP/2 (RFC 8441), as axum supports them.
        .enable_connect_protocol()
        .keep_alive_interval(Some(HTTP2_PING))
        .keep_alive_timeout(HTTP2_PING_TIMEOUT);
    b
}

/// An HTTP/2 connection is pinged this often, and closed when a ping goes unanswered this long.
const HTTP2_PING: Duration = Duration::from_secs(30);
const HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The bounds one connection lives under while hyper serves it: the first head's deadline, later
/// heads' deadlines, idleness, shedding and the server's stop.
struct Watch<'a> {
    peer: SocketAddr,
    conn: &'a Arc<Conn>,
    started: &'a AtomicBool,
    clock: &'a HeadClock,
    /// When the first request head must be complete.
    head_deadline: tokio::time::Instant,
    serving: &'a Serving,
}

impl Watch<'_> {
    /// Drives `connection` (hyper's, of any version) to its end, or closes it (`graceful` asks it to
    /// finish what is in flight) when a bound says so.
    async fn run<C, E>(self, mut connection: std::pin::Pin<&mut C>, graceful: fn(std::pin::Pin<&mut C>))
    where
        C: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let Watch { peer, conn, started, clock, head_deadline, serving } = self;
        // The first request head must arrive in time (hyper's own header timer is off; see `http1`).
        let first_head = tokio::time::sleep_until(head_deadline);
        let mut first_head = std::pin::pin!(first_head);
        let mut idle_check = tokio::time::interval(serving.timeouts.idle.max(Duration::from_millis(10)));
        idle_check.reset();
        let mut idle_ticks = 0u32;
        let mut begun_at_tick = conn.requests_begun();
        let mut closing = false;
        // The select's conditions are read when it is entered, and one visit lasts as long as the
        // connection is busy: the deadline is checked against the flag when it fires.
        let mut head_deadline_armed = true;
        // A later request's head (HTTP/1.1 keep-alive), armed when its first bytes arrive.
        let next_head = tokio::time::sleep(serving.timeouts.header);
        let mut next_head = std::pin::pin!(next_head);
        let mut next_head_armed = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(%peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = &mut first_head, if head_deadline_armed => {
                    head_deadline_armed = false;
                    if !started.load(Ordering::Acquire) {
                        tracing::debug!(%peer, "no complete request head in time; closing");
                        break;
                    }
                }
                _ = clock.armed.notified() => {
                    if let Some(since) = clock.pending_since() {
                        next_head.as_mut().reset((since + serving.timeouts.header).into());
                        next_head_armed = true;
                    }
                }
                _ = &mut next_head, if next_head_armed => {
                    next_head_armed = false;
                    if clock.pending_since().is_some_and(|since| since.elapsed() >= serving.timeouts.header) {
                        tracing::debug!(%peer, "a later request head not complete in time; closing");
                        break;
                    }
                }
                _ = conn.shed_signal().cancelled() => {
                    tracing::debug!(%peer, "idle connection shed for a newcomer");
                    break;
                }
                _ = idle_check.tick() => {
                    // Idle at a check: no request in flight and none begun since the last check.
                    // Two in a row: idle for at least a whole period. (In flight alone is not
                    // enough: a client that polls every few seconds is idle at almost any instant.)
                    let begun = conn.requests_begun();
                    idle_ticks = if conn.is_idle() && begun == begun_at_tick { idle_ticks + 1 } else { 0 };
                    begun_at_tick = begun;
                    if idle_ticks >= 2 && !closing {
                        closing = true;
                        graceful(connection.as_mut());
                    }
                }
                _ = serving.stop.serving.cancelled(), if !closing => {
                    closing = true;
                    graceful(connection.as_mut());
                }
            }
        }
    }
}

/// The application as one connection sees it: the peer's address in the request (axum's
/// `ConnectInfo`), and the connection marked busy while a request and its response body are in flight.
#[derive(Clone)]
struct ConnService {
    app: super::App,
    peer: SocketAddr,
    conn: Arc<Conn>,
    started: Arc<AtomicBool>,
    clock: Arc<HeadClock>,
    /// Over TLS: answers carry `Strict-Transport-Security`.
    secure: bool,
}

/// Times the heads of an HTTP/1.1 connection's later requests (the first one has its own deadline
/// in `serve_connection`): bytes that arrive while no request is in flight start a head, and the
/// head is complete when hyper hands the request to [`ConnService`]. So a kept-alive connection may
/// stay idle up to `server.idle_timeout_ms`, but a head that has started must be complete within
/// `server.header_timeout_ms`, as the first one (slowloris protection).
#[derive(Default)]
struct HeadClock {
    /// When the pending head's first bytes arrived; `None` when no head is pending.
    pending: parking_lot::Mutex<Option<Instant>>,
    /// Wakes the connection's loop to arm the deadline.
    armed: tokio::sync::Notify,
    /// After the first request, and only for HTTP/1.1 without an upgrade: HTTP/2 frames (pings,
    /// window updates) are not request heads, and an upgraded connection is the WebSocket's.
    on: AtomicBool,
}

impl HeadClock {
    fn pending_since(&self) -> Option<Instant> {
        *self.pending.lock()
    }

    /// Bytes arrived while the connection had no request in flight.
    fn bytes_while_idle(&self) {
        if !self.on.load(Ordering::Acquire) {
            return;
        }
        let mut pending = self.pending.lock();
        if pending.is_none() {
            *pending = Some(Instant::now());
            self.armed.notify_one();
        }
    }

    /// hyper parsed a complete head: `req`.
    fn head_complete<B>(&self, req: &axum::http::Request<B>) {
        *self.pending.lock() = None;
        let http1 = req.version() < axum::http::Version::HTTP_2;
        let upgrade = req.headers().contains_key(axum::http::header::UPGRADE);
        self.on.store(http1 && !upgrade, Ordering::Release);
    }
}

/// The connection's socket as hyper reads it, telling [`HeadClock`] when bytes arrive on an idle
/// connection.
struct Watched<I> {
    inner: I,
    clock: Arc<HeadClock>,
    conn: Arc<Conn>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, std::task::Poll::Ready(Ok(()))) && buf.filled().len() > before && self.conn.is_idle() {
            self.clock.bytes_while_idle();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Service<Request<Incoming>> for ConnService {
    type Response = Response;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        self.started.store(true, Ordering::Release);
        let busy = self.conn.busy();
        self.clock.head_complete(&req);
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let app = self.app.clone();
        let secure = self.secure;
        Box::pin(async move {
            let mut res = app.oneshot(req).await?;
            if secure {
                res.headers_mut()
                    .insert(axum::http::header::STRICT_TRANSPORT_SECURITY, axum::http::HeaderValue::from_static(HSTS));
            }
            // Busy until the body is sent: a stream is never taken for an idle connection.
            Ok(res.map(|body| Body::new(BusyBody { inner: body, _busy: busy })))
        })
    }
}

/// A response body that keeps its connection marked busy until it is done.
struct BusyBody {
    inner: Body,
    _busy: super::connections::Busy,
}

impl http_body::Body for BusyBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol;

    #[test]
    fn alpn_picks_the_connection_and_no_alpn_is_http1_as_with_nginx() {
        assert_eq!(Protocol::from_alpn(Some(b"h2")), Protocol::Http2);
        assert_eq!(Protocol::from_alpn(Some(b"http/1.1")), Protocol::Http1);
        assert_eq!(Protocol::from_alpn(None), Protocol::Http1);
        // Plain TCP: the preface's first three bytes decide; a P alone could be POST or PRI.
        assert_eq!(Protocol::from_first_bytes(b"GET / HTTP/1.1"), Some(Protocol::Http1));
        assert_eq!(Protocol::from_first_bytes(b"PO"), Some(Protocol::Http1));
        assert_eq!(Protocol::from_first_bytes(b"PRI * HTTP/2.0"), Some(Protocol::Http2));
        assert_eq!(Protocol::from_first_bytes(b"P"), None);
        assert_eq!(Protocol::from_first_bytes(b"PR"), None);
    }
}
