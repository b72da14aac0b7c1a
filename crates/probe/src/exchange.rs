//! One HTTP request and its answer on a fresh connection, as an `http` probe makes it: resolve,
//! connect, TLS when the URL is `https` (HTTP/2 when ALPN agrees, else HTTP/1.1), send, read the head
//! and, when the caller asks, at most [`MAX_BODY`] bytes of the body; then the connection is dropped.
//!
//! hyper's connection API, not a general client: a probe never reuses a connection (each run
//! measures a fresh one, as blackbox_exporter does), so a pooled client's pool, spawned connection
//! task, connector layers and redirect machinery were work done for nothing on every run. The
//! connection future is driven in the probe's own task, beside the request.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::Url;
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;

use crate::target::{Host, HostPort, connect};
use crate::tls::server_name;

/// Body bytes read for a keyword or a JSON path; the rest is never read.
pub const MAX_BODY: usize = 64 * 1024;

/// What came back.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The server's leaf certificate (HTTPS only).
    pub leaf: Option<CertificateDer<'static>>,
    /// At most [`MAX_BODY`] bytes and whether that was the whole body; `None` when not asked for.
    pub body: Option<(Vec<u8>, bool)>,
}

/// One request to `url`. `want_body` sees the status and headers and says whether to read the body.
pub(crate) async fn exchange(
    tls: &Arc<ClientConfig>,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    want_body: impl FnOnce(StatusCode, &HeaderMap) -> bool,
) -> Result<Answer, String> {
    let target = host_port(url)?;
    let tcp = connect(&target).await?;
    // One small request: it should not wait for Nagle's algorithm.
    let _ = tcp.set_nodelay(true);
    match url.scheme() {
        "http" => {
            let request = request(method, url, headers, &target, false)?;
            over(tcp, false, request, want_body).await.map(|(status, headers, body)| Answer {
                status,
                headers,
                leaf: None,
                body,
            })
        }
        "https" => {
            let name = server_name(&target.host)?;
            let stream = TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {target}: {e}"))?;
            let (_, session) = stream.get_ref();
            let leaf = session.peer_certificates().and_then(|c| c.first()).map(|c| c.clone().into_owned());
            let h2 = session.alpn_protocol() == Some(b"h2");
            let request = request(method, url, headers, &target, h2)?;
            over(stream, h2, request, want_body).await.map(|(status, headers, body)| Answer {
                status,
                headers,
                leaf,
                body,
            })
        }
        other => Err(format!("unsupported scheme {other}")),
    }
}

/// The URL's host and port (the scheme's default when it names none).
fn host_port(url: &Url) -> Result<HostPort, String> {
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) => Host::Ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => Host::Ip(ip.into()),
        Some(url::Host::Domain(name)) => Host::Name(name.to_string()),
        None => return Err("the URL has no host".into()),
    };
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    Ok(HostPort { host, port })
}

/// The request: origin-form with `Host` for HTTP/1.1, absolute for HTTP/2 (its `:authority`). The
/// check's headers as given; `Accept: */*` unless it sets one, as curl and general clients send.
fn request(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    target: &HostPort,
    h2: bool,
) -> Result<Request<Empty<Bytes>>, String> {
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", target.host),
        None => target.host.to_string(),
    };
    let uri: Uri = if h2 { format!("{}://{authority}{path}", url.scheme()).parse() } else { path.parse() }
        .map_err(|e| format!("the URL cannot be sent: {e}"))?;
    let mut request = Request::new(Empty::new());
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers.clone();
    let sent = request.headers_mut();
    if !h2 && !sent.contains_key(HOST) {
        sent.insert(HOST, HeaderValue::from_str(&authority).map_err(|e| format!("the URL's host: {e}"))?);
    }
    if !sent.contains_key(ACCEPT) {
        sent.insert(ACCEPT, HeaderValue::from_static("*/*"));
    }
    Ok(request)
}

type Head = (StatusCode, HeaderMap, Option<(Vec<u8>, bool)>);

/// Speaks HTTP/1.1 or HTTP/2 over `io` for one request.
async fn over<I>(
    io: I,
    h2: bool,
    request: Request<Empty<Bytes>>,
    want_body: impl FnOnce(StatusCode, &HeaderMap) -> bool,
) -> Result<Head, String>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| hyper_text("HTTP/2 handshake", &e))?;
        beside(conn, async move {
            let response = sender.send_request(request).await.map_err(|e| hyper_text("request", &e))?;
            answer(response, want_body).await
        })
        .await
    } else {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(io).await.map_err(|e| hyper_text("HTTP/1.1 handshake", &e))?;
        beside(conn, async move {
            let response = sender.send_request(request).await.map_err(|e| hyper_text("request", &e))?;
            answer(response, want_body).await
        })
        .await
    }
}

/// Runs `work` while driving the connection future `conn` it needs; returns with `work`. A
/// connection that ends first makes `work` fail on its own (its request has nowhere to go).
async fn beside<C, W>(conn: C, work: W) -> Result<Head, String>
where
    C: Future<Output = Result<(), hyper::Error>>,
    W: Future<Output = Result<Head, String>>,
{
    let mut conn = pin!(conn);
    let mut work = pin!(work);
    let mut conn_done = false;
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = &mut conn, if !conn_done => conn_done = true,
        }
    }
}

/// The head, and the body when wanted.
async fn answer(
    response: hyper::Response<Incoming>,
    want_body: impl FnOnce(StatusCode, &HeaderMap) -> bool,
) -> Result<Head, String> {
    let (parts, body) = response.into_parts();
    if !want_body(parts.status, &parts.headers) {
        return Ok((parts.status, parts.headers, None));
    }
    let read = read_bounded(body).await?;
    Ok((parts.status, parts.headers, Some(read)))
}

/// Reads at most [`MAX_BODY`] bytes; `true` when that was the whole body.
async fn read_bounded(mut body: Incoming) -> Result<(Vec<u8>, bool), String> {
    let mut out = Vec::with_capacity(4096);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| hyper_text("reading the body", &e))?;
        let Ok(chunk) = frame.into_data() else { continue };
        let room = MAX_BODY - out.len();
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, false));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, true))
}

/// A hyper error with its causes ("request: connection closed before message completed").
fn hyper_text(what: &str, e: &hyper::Error) -> String {
    let mut text = format!("{what}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
