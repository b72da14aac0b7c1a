//! Shared by the probe tests: checks from JSON, probers, a loopback HTTP server with the behaviours
//! the tests need, generated certificates and a loopback TLS server.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use probe::{Check, CheckDef, Prober, ProberConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A validated check from JSON; `id` defaults to `t`, `name` to `test`.
pub fn check(mut v: Value) -> Check {
    let obj = v.as_object_mut().unwrap();
    obj.entry("id").or_insert(json!("t"));
    obj.entry("name").or_insert(json!("test"));
    let def: CheckDef = serde_json::from_value(v).unwrap();
    def.validate().unwrap_or_else(|e| panic!("invalid test check: {e:?}"))
}

/// A prober that trusts only `roots` (no system store, so results do not depend on the machine).
pub fn prober(roots: Vec<CertificateDer<'static>>) -> Prober {
    Prober::new(ProberConfig { system_roots: false, extra_roots: roots, ..ProberConfig::default() }).unwrap()
}

/// Bytes the `/huge` route produced, to show the probe stopped reading.
#[derive(Clone, Default)]
pub struct Served(pub Arc<AtomicU64>);

impl Served {
    pub fn bytes(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub const HUGE_BYTES: u64 = 100 * 1024 * 1024;

/// An HTTP server on loopback. `/away` redirects to `away_to` (another origin) when given.
pub async fn http_server(away_to: Option<String>) -> (SocketAddr, Served) {
    let served = Served::default();
    let counter = served.0.clone();
    let app = Router::new()
        .route("/ok", get(|| async { "all systems ok" }))
        .route("/fail", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/hang", get(|| async { std::future::pending::<&'static str>().await }))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route(
            "/hop/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    "arrived".into_response()
                } else {
                    Redirect::to(&format!("/hop/{}", n - 1)).into_response()
                }
            }),
        )
        .route("/huge", get(move || huge(counter.clone())))
        .route(
            "/json",
            get(|| async {
                Json(json!({"status": "ok", "db": {"up": true, "lag": 3}, "items": [{"state": "ready"}]}))
            }),
        )
        .route(
            "/headers",
            get(|headers: HeaderMap| async move {
                let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("none").to_string();
                Json(json!({"auth": text("authorization"), "ua": text("user-agent"), "cookie": text("cookie")}))
            }),
        )
        .route("/here", get(|| async { Redirect::to("/headers") }))
        .route(
            "/away",
            get(move || {
                let to = away_to.clone().unwrap_or_else(|| "/headers".into());
                async move { Redirect::to(&to) }
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, served)
}

/// 100 MiB of `a` with `NEEDLE` at the very end, produced lazily and counted.
async fn huge(counter: Arc<AtomicU64>) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunks = HUGE_BYTES as usize / CHUNK;
    let stream = futures_util::stream::unfold(0usize, move |i| {
        let counter = counter.clone();
        async move {
            if i == chunks {
                return None;
            }
            let mut chunk = vec![b'a'; CHUNK];
            if i == chunks - 1 {
                chunk[CHUNK - 6..].copy_from_slice(b"NEEDLE");
            }
            counter.fetch_add(CHUNK as u64, Ordering::Relaxed);
            Some((Ok::<_, std::io::Error>(chunk), i + 1))
        }
    });
    Body::from_stream(stream).into_response()
}

/// A test CA and the leaf certificates it signs.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

pub const DAY: i64 = 86_400;

fn at(offset_secs: i64) -> time::OffsetDateTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    time::OffsetDateTime::from_unix_timestamp(now + offset_secs).unwrap()
}

impl TestCa {
    pub fn new() -> Self {
        static SERIAL: AtomicU64 = AtomicU64::new(1);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // A name of its own: verifiers find an issuer by name, so two test CAs must not share one.
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        params.distinguished_name.push(DnType::CommonName, format!("probe test CA {n}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = at(-30 * DAY);
        params.not_after = at(3650 * DAY);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A leaf for `localhost` and 127.0.0.1 valid from `from` to `until` (seconds from now), with
    /// its chain (leaf, CA) and key.
    pub fn leaf(&self, from: i64, until: i64) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.not_before = at(from);
        params.not_after = at(until);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone(), self.der()], key)
    }
}

/// A TLS server on loopback: completes handshakes and answers any request with `200 ok`.
pub async fn tls_server(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut buf = [0u8; 4096];
                if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf)).await
                    && n > 0
                {
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}
