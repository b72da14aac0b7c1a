//! Serving pieces for the hub's accept loop: the rustls `ServerConfig` (ring, ALPN, resumption) and a
//! bounded handshake (a timeout and a cap on concurrent handshakes) that also answers plain HTTP sent
//! to the TLS port with a redirect and closes tls-alpn-01 validation connections.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::{ResolvesServerCert, ServerSessionMemoryCache};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::resolver::ACME_TLS_ALPN;
use crate::sniff::{Sniffed, head_end, redirect_response, sniff};

/// Resumption sessions kept in memory (stateful TLS 1.2 resumption; TLS 1.3 uses tickets).
const SESSION_CACHE: usize = 1024;

/// The server configuration: certificates from `resolver`, ALPN `h2` then `http/1.1` (plus
/// `acme-tls/1` when tls-alpn-01 challenges are answered), TLS 1.2 and 1.3 with the `ring` provider,
/// session tickets and a bounded session cache so reconnecting clients skip the full handshake.
pub fn server_config(
    resolver: Arc<dyn ResolvesServerCert>,
    acme_alpn: bool,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.sort_by_key(suite_rank);
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if acme_alpn {
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    // Our order, not the client's (OpenSSL clients put AES-256/SHA-384 first): AES-128-GCM with
    // SHA-256 first, as Go's crypto/tls (Caddy) and Mozilla's guidelines do. Both are strong; the
    // SHA-384 key schedule costs about a tenth of a handshake's CPU (perf, bench/tls.sh).
    config.ignore_client_order = true;
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    // One TLS 1.3 ticket per handshake, not rustls's two (Go's crypto/tls sends one too): a client
    // resuming with it gets a new one, and each ticket is about 170 bytes of egress and an encryption.
    config.send_tls13_tickets = 1;
    // No 0-RTT: early data can be replayed, and the API has non-idempotent requests.
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

/// Preference among the provider's suites (a stable sort keeps the provider's order within a rank):
/// TLS 1.3 AES-128-GCM, then ChaCha20-Poly1305, then AES-256-GCM, then TLS 1.2 the same way.
fn suite_rank(suite: &rustls::SupportedCipherSuite) -> u8 {
    use rustls::CipherSuite as S;
    let by_cipher = match suite.suite() {
        S::TLS13_AES_128_GCM_SHA256
        | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 0,
        S::TLS13_CHACHA20_POLY1305_SHA256
        | S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        | S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => 1,
        _ => 2,
    };
    let tls12 = u8::from(matches!(suite, rustls::SupportedCipherSuite::Tls12(_)));
    tls12 * 3 + by_cipher
}

/// Bounds for [`Handshaker`].
#[derive(Debug, Clone, Copy)]
pub struct HandshakeLimits {
    /// The whole of sniffing and the handshake (or reading a plain-HTTP head) must finish in this.
    pub timeout: Duration,
    /// Handshakes in progress at once; a connection beyond this is closed at once.
    pub max_concurrent: usize,
    /// The longest plain-HTTP request head read before answering with a redirect.
    pub max_request_head: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10), max_concurrent: 256, max_request_head: 8 * 1024 }
    }
}

/// What became of an accepted connection.
pub enum Accepted<IO> {
    /// A TLS session ready for HTTP (check `get_ref().1.alpn_protocol()` for `h2`).
    Tls(Box<TlsStream<IO>>),
    /// Plain HTTP on the TLS port: answered with a redirect to `https://` and closed.
    Redirected,
    /// A tls-alpn-01 validation: the challenge certificate was shown and the connection closed.
    AcmeChallenge,
}

/// Why a connection was refused (each is logged at debug level by the caller if it wishes).
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("too many TLS handshakes in progress")]
    Busy,
    #[error("TLS handshake timed out")]
    Timeout,
    #[error("neither TLS nor HTTP")]
    NotTls,
    #[error("TLS handshake failed: {0}")]
    Io(#[from] io::Error),
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct HandshakeStats {
    pub completed: AtomicU64,
    pub redirected: AtomicU64,
    pub refused_busy: AtomicU64,
    pub timed_out: AtomicU64,
    pub failed: AtomicU64,
}

/// Accepts TLS connections within [`HandshakeLimits`]. Cheap to share (`Arc`) between accept loops.
pub struct Handshaker {
    acceptor: TlsAcceptor,
    permits: Arc<Semaphore>,
    limits: HandshakeLimits,
    https_port: u16,
    stats: HandshakeStats,
}

impl Handshaker {
    /// `https_port` goes into redirects (`https://host:port/`; omitted when 443).
    pub fn new(config: Arc<ServerConfig>, https_port: u16, limits: HandshakeLimits) -> Self {
        Self {
            acceptor: TlsAcceptor::from(config),
            permits: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
            limits,
            https_port,
            stats: HandshakeStats::default(),
        }
    }

    pub fn stats(&self) -> &HandshakeStats {
        &self.stats
    }

    /// Handshakes in progress now.
    pub fn in_progress(&self) -> usize {
        self.limits.max_concurrent.max(1).saturating_sub(self.permits.available_permits())
    }

    /// Sniffs the first bytes of `tcp` and then: completes a TLS handshake, or answers plain HTTP with a
    /// redirect, or refuses anything else; all within the timeout and the concurrency cap.
    pub async fn accept_tcp(&self, tcp: TcpStream) -> Result<Accepted<TcpStream>, HandshakeError> {
        let _permit = self.permit()?;
        let outcome = tokio::time::timeout(self.limits.timeout, self.sniff_then_accept(tcp)).await;
        self.count(outcome.unwrap_or(Err(HandshakeError::Timeout)))
    }

    /// The TLS handshake alone (no sniffing), for a stream already known to carry TLS.
    pub async fn accept<IO>(&self, io: IO) -> Result<Accepted<IO>, HandshakeError>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let _permit = self.permit()?;
        let outcome = tokio::time::timeout(self.limits.timeout, self.handshake(io)).await;
        self.count(outcome.unwrap_or(Err(HandshakeError::Timeout)))
    }

    fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, HandshakeError> {
        // Refuse rather than queue: a queue of half-open sockets is what a flood wants.
        self.permits.clone().try_acquire_owned().map_err(|_| {
            self.stats.refused_busy.fetch_add(1, Ordering::Relaxed);
            HandshakeError::Busy
        })
    }

    fn count<IO>(&self, outcome: Result<Accepted<IO>, HandshakeError>) -> Result<Accepted<IO>, HandshakeError> {
        let counter = match &outcome {
            Ok(Accepted::Tls(_)) | Ok(Accepted::AcmeChallenge) => &self.stats.completed,
            Ok(Accepted::Redirected) => &self.stats.redirected,
            Err(HandshakeError::Timeout) => &self.stats.timed_out,
            Err(HandshakeError::Busy) => &self.stats.refused_busy,
            Err(_) => &self.stats.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        outcome
    }

    async fn sniff_then_accept(&self, mut tcp: TcpStream) -> Result<Accepted<TcpStream>, HandshakeError> {
        let mut first = [0u8; 8];
        loop {
            let n = tcp.peek(&mut first).await?;
            if n == 0 {
                return Err(HandshakeError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            match sniff(&first[..n]) {
                Sniffed::Tls => return self.handshake(tcp).await,
                Sniffed::PlainHttp => {
                    self.redirect(&mut tcp).await?;
                    return Ok(Accepted::Redirected);
                }
                Sniffed::Unknown => return Err(HandshakeError::NotTls),
                // A few bytes of a method name so far: peek returns at once while data is queued, so
                // wait a moment for the rest (bounded by the caller's timeout).
                Sniffed::Incomplete => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    async fn redirect(&self, tcp: &mut TcpStream) -> Result<(), HandshakeError> {
        let head = read_head(tcp, self.limits.max_request_head).await?;
        tcp.write_all(&redirect_response(&head, self.https_port)).await?;
        tcp.shutdown().await?;
        Ok(())
    }

    async fn handshake<IO>(&self, io: IO) -> Result<Accepted<IO>, HandshakeError>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut stream = self.acceptor.accept(io).await?;
        if stream.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
            // RFC 8737: nothing but the handshake happens on a validation connection.
            let _ = stream.shutdown().await;
            return Ok(Accepted::AcmeChallenge);
        }
        Ok(Accepted::Tls(Box::new(stream)))
    }
}

/// Reads a request head (up to the blank line, at most `max` bytes; what arrived if the peer stops).
pub async fn read_head<R: tokio::io::AsyncRead + Unpin>(io: &mut R, max: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024.min(max));
    let mut chunk = [0u8; 2048];
    while head_end(&head).is_none() && head.len() < max {
        let room = (max - head.len()).min(chunk.len());
        let n = io.read(&mut chunk[..room]).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(head)
}
