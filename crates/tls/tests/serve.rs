//! The serving side on a real TLS port with a self-signed certificate: kept across restarts, pinned
//! by agents (accepted, and refused with both fingerprints named), the default certificate for an
//! unknown SNI, plain HTTP redirected, garbage and truncated ClientHellos refused within the bounds,
//! a flood of half-open handshakes capped; and `auto-ip` against a loopback metadata server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tls::{Accepted, HandshakeError, HandshakeLimits, Handshaker, HubTrust, Mode, Settings, State, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn self_signed(identifiers: &[&str]) -> Settings {
    Settings {
        mode: Mode::SelfSigned,
        identifiers: identifiers.iter().map(|s| s.to_string()).collect(),
        ..Settings::default()
    }
}

async fn hub() -> (tempfile::TempDir, Tls, std::net::SocketAddr, tokio_util::sync::CancellationToken) {
    let data = tempfile::tempdir().unwrap();
    let tls = Tls::new(self_signed(&[]), data.path(), fast_options()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    serve_https(listener, &tls, stop.clone());
    (data, tls, addr, stop)
}

#[tokio::test]
async fn a_self_signed_certificate_is_generated_once_and_kept() {
    let data = tempfile::tempdir().unwrap();
    let first = Tls::new(self_signed(&[]), data.path(), fast_options()).await.unwrap().status();
    assert_eq!(first.state, State::Ok);
    assert_eq!(first.identifiers, ["localhost", "127.0.0.1"]);
    assert_eq!(first.sha256.as_ref().unwrap().len(), 64);
    let again = Tls::new(self_signed(&[]), data.path(), fast_options()).await.unwrap().status();
    assert_eq!(again.sha256, first.sha256);
    assert_eq!(tls::offline_status(&self_signed(&[]), data.path()).sha256, first.sha256);
    for name in ["self-signed-cert.pem", "self-signed-key.pem"] {
        let meta = std::fs::metadata(data.path().join("tls").join(name)).unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o600);
    }
    // Configured names go into a new certificate (another data directory).
    let other = tempfile::tempdir().unwrap();
    let named = Tls::new(self_signed(&["hub.internal", "10.0.0.5"]), other.path(), fast_options()).await.unwrap();
    assert_eq!(named.status().identifiers, ["hub.internal", "10.0.0.5"]);
}

#[tokio::test]
async fn a_pinned_fingerprint_is_accepted_and_a_wrong_one_refused_by_name() {
    let (_data, tls, addr, stop) = hub().await;
    let fp = tls.status().sha256.unwrap();
    let served = served_cert(addr, "127.0.0.1", &HubTrust::PinSha256(fp.clone())).await.unwrap();
    assert_eq!(tls::fingerprint(&served), fp);

    // Through reqwest, as the agent will use it (HTTP/1.1 only here: the test server is not h2).
    let mut config = tls::client_config(&HubTrust::PinSha256(fp.to_uppercase())).unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client = reqwest::Client::builder().tls_backend_preconfigured(config).build().unwrap();
    let body = client.get(format!("https://127.0.0.1:{}/", addr.port())).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "ok");

    let wrong = "00".repeat(32);
    let err = served_cert(addr, "127.0.0.1", &HubTrust::PinSha256(wrong.clone())).await.unwrap_err();
    assert!(err.contains(&fp) && err.contains(&wrong) && err.contains("--pin-sha256"), "{err}");
    // The system roots do not know a self-signed certificate.
    assert!(served_cert(addr, "127.0.0.1", &HubTrust::SystemRoots).await.is_err());
    stop.cancel();
}

#[tokio::test]
async fn the_server_picks_aes_128_gcm_whatever_the_client_prefers() {
    let (data, _tls, addr, stop) = hub().await;
    // The self-signed certificate is its own root.
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(data.path().join("tls/self-signed-cert.pem")).unwrap();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    // A client that lists AES-256/SHA-384 first, as OpenSSL's defaults do.
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_256_GCM_SHA384);
    assert_eq!(provider.cipher_suites[0].suite(), rustls::CipherSuite::TLS13_AES_256_GCM_SHA384);
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    let suite = stream.get_ref().1.negotiated_cipher_suite().unwrap().suite();
    assert_eq!(suite, rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    stop.cancel();
}

/// A TLS 1.3 session to the self-signed hub from a client with `provider`, or the handshake's error.
async fn connect_with(
    data: &tempfile::TempDir,
    addr: std::net::SocketAddr,
    provider: rustls::crypto::CryptoProvider,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    connect(addr, client_config(data, provider, None)).await
}

async fn connect(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await
}

/// A TLS 1.3 client of the self-signed hub; with `sessions`, it keeps tickets there and resumes.
fn client_config(
    data: &tempfile::TempDir,
    provider: rustls::crypto::CryptoProvider,
    sessions: Option<Arc<dyn rustls::client::ClientSessionStore>>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(data.path().join("tls/self-signed-cert.pem")).unwrap();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    if let Some(sessions) = sessions {
        config.resumption = rustls::client::Resumption::store(sessions);
    }
    Arc::new(config)
}

#[tokio::test]
async fn x25519_is_agreed_first_and_the_nist_curves_remain_for_clients_without_it() {
    use rustls::NamedGroup;
    let (data, _tls, addr, stop) = hub().await;
    // X25519 first, as browsers, curl and OpenSSL offer it.
    let stream = connect_with(&data, addr, rustls::crypto::ring::default_provider()).await.unwrap();
    assert_eq!(stream.get_ref().1.negotiated_key_exchange_group().unwrap().name(), NamedGroup::X25519);
    // A client without X25519 (FIPS-style): one round trip more, then the curve it offered.
    for group in [NamedGroup::secp256r1, NamedGroup::secp384r1] {
        let mut provider = rustls::crypto::ring::default_provider();
        provider.kx_groups.retain(|g| g.name() == group);
        let stream = connect_with(&data, addr, provider).await.unwrap();
        assert_eq!(stream.get_ref().1.negotiated_key_exchange_group().unwrap().name(), group);
    }
    stop.cancel();
}

/// A client session store that counts the TLS 1.3 tickets it is given.
#[derive(Debug)]
struct CountingTickets {
    inner: rustls::client::ClientSessionMemoryCache,
    tickets: std::sync::atomic::AtomicUsize,
}

impl rustls::client::ClientSessionStore for CountingTickets {
    fn set_kx_hint(&self, name: ServerName<'static>, group: rustls::NamedGroup) {
        self.inner.set_kx_hint(name, group)
    }
    fn kx_hint(&self, name: &ServerName<'_>) -> Option<rustls::NamedGroup> {
        self.inner.kx_hint(name)
    }
    fn set_tls12_session(&self, name: ServerName<'static>, value: rustls::client::Tls12ClientSessionValue) {
        self.inner.set_tls12_session(name, value)
    }
    fn tls12_session(&self, name: &ServerName<'_>) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.inner.tls12_session(name)
    }
    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        self.inner.remove_tls12_session(name)
    }
    fn insert_tls13_ticket(&self, name: ServerName<'static>, value: rustls::client::Tls13ClientSessionValue) {
        self.tickets.fetch_add(1, Ordering::SeqCst);
        self.inner.insert_tls13_ticket(name, value)
    }
    fn take_tls13_ticket(&self, name: &ServerName<'static>) -> Option<rustls::client::Tls13ClientSessionValue> {
        self.inner.take_tls13_ticket(name)
    }
}

#[tokio::test]
async fn one_ticket_per_full_handshake_and_it_resumes() {
    let (data, _tls, addr, stop) = hub().await;
    let store = Arc::new(CountingTickets {
        inner: rustls::client::ClientSessionMemoryCache::new(8),
        tickets: std::sync::atomic::AtomicUsize::new(0),
    });
    // One configuration for both connections: rustls resumes only under the verifier that checked
    // the certificate the first time.
    let sessions = Some(store.clone() as Arc<dyn rustls::client::ClientSessionStore>);
    let config = client_config(&data, rustls::crypto::ring::default_provider(), sessions);
    // A request, read to the end: the ticket comes after the handshake, before the answer.
    let exchange = async |mut stream: tokio_rustls::client::TlsStream<TcpStream>| {
        stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        assert!(answer.ends_with(b"ok"), "{}", String::from_utf8_lossy(&answer));
    };
    let first = connect(addr, config.clone()).await.unwrap();
    assert_eq!(first.get_ref().1.handshake_kind(), Some(rustls::HandshakeKind::Full));
    exchange(first).await;
    // One ticket: a browser resumes with one and gets a new one each time; a second would be about
    // 170 bytes of egress and an encryption on every full handshake for nothing.
    assert_eq!(store.tickets.load(Ordering::SeqCst), 1);
    let again = connect(addr, config).await.unwrap();
    assert_eq!(again.get_ref().1.handshake_kind(), Some(rustls::HandshakeKind::Resumed));
    exchange(again).await;
    stop.cancel();
}

#[tokio::test]
async fn a_ca_file_verifies_the_hub() {
    let (data, tls, addr, stop) = hub().await;
    // The self-signed certificate is its own CA file.
    let ca = data.path().join("tls/self-signed-cert.pem");
    let served = served_cert(addr, "localhost", &HubTrust::CaFile(ca.clone())).await.unwrap();
    assert_eq!(tls::fingerprint(&served), tls.status().sha256.unwrap());
    // A name the certificate does not cover fails verification.
    assert!(served_cert(addr, "other.example", &HubTrust::CaFile(ca)).await.is_err());
    stop.cancel();
}

#[tokio::test]
async fn an_unknown_sni_gets_the_default_certificate() {
    let (_data, tls, addr, stop) = hub().await;
    let fp = tls.status().sha256.unwrap();
    for name in ["unknown.example", "localhost", "127.0.0.1"] {
        let served = served_cert(addr, name, &HubTrust::PinSha256(fp.clone())).await.unwrap();
        assert_eq!(tls::fingerprint(&served), fp, "{name}");
    }
    stop.cancel();
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_redirected() {
    let (_data, _tls, addr, stop) = hub().await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let port = addr.port();
    tcp.write_all(format!("GET /api/health?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 301 "), "{answer}");
    assert!(answer.contains(&format!("\r\nLocation: https://127.0.0.1:{port}/api/health?x=1\r\n")), "{answer}");

    // A real client sees the same.
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls::client_config(&HubTrust::PinSha256("00".repeat(32))).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let rsp = client.get(format!("http://127.0.0.1:{port}/x")).send().await.unwrap();
    assert_eq!(rsp.status(), 301);
    assert_eq!(rsp.headers()["location"], format!("https://127.0.0.1:{port}/x").as_str());
    stop.cancel();
}

/// The first bytes a real client sends: a ClientHello record.
fn client_hello() -> Vec<u8> {
    let config = tls::client_config(&HubTrust::PinSha256("00".repeat(32))).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("127.0.0.1").unwrap()).unwrap();
    let mut out = Vec::new();
    conn.write_tls(&mut out).unwrap();
    out
}

/// A handshaker with short bounds on its own port; connections are accepted one task each.
async fn bounded(limits: HandshakeLimits) -> (Arc<Handshaker>, std::net::SocketAddr, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let tls = Tls::new(self_signed(&[]), data.path(), fast_options()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hs = Arc::new(Handshaker::new(tls.server_config(), addr.port(), limits));
    let h = hs.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let h = h.clone();
            tokio::spawn(async move {
                let outcome = h.accept_tcp(tcp).await;
                if let Ok(Accepted::Tls(mut s)) = outcome {
                    let _ = s.shutdown().await;
                }
            });
        }
    });
    (hs, addr, data)
}

/// Reads until the server closes the connection (bounded by the harness deadline).
async fn closed_by_server(tcp: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut got)).await.expect("the server never closed");
    let _ = read; // a reset is a close too
    got
}

#[tokio::test]
async fn garbage_and_truncated_hellos_are_refused_without_a_hang() {
    let limits = HandshakeLimits { timeout: Duration::from_millis(300), ..HandshakeLimits::default() };
    let (hs, addr, _data) = bounded(limits).await;

    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await.unwrap();
    assert!(closed_by_server(&mut garbage).await.is_empty());
    wait_for("the refusal to be counted", async || (hs.stats().failed.load(Ordering::Relaxed) == 1).then_some(()))
        .await;

    // A ClientHello cut short and never finished: the timeout ends it.
    let hello = client_hello();
    let mut truncated = TcpStream::connect(addr).await.unwrap();
    truncated.write_all(&hello[..hello.len() / 2]).await.unwrap();
    closed_by_server(&mut truncated).await;
    wait_for("the timeout", async || (hs.stats().timed_out.load(Ordering::Relaxed) == 1).then_some(())).await;

    // A malformed record after a valid header is a handshake error, answered with an alert.
    let mut broken = TcpStream::connect(addr).await.unwrap();
    let mut record = vec![0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04];
    record.extend_from_slice(&[0xff; 4]);
    broken.write_all(&record).await.unwrap();
    closed_by_server(&mut broken).await;
    wait_for("the handshake error", async || (hs.stats().failed.load(Ordering::Relaxed) == 2).then_some(())).await;

    // The port still serves.
    let mut ok = TcpStream::connect(addr).await.unwrap();
    ok.write_all(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n").await.unwrap();
    assert!(String::from_utf8(closed_by_server(&mut ok).await).unwrap().starts_with("HTTP/1.1 301 "));
}

#[tokio::test]
async fn concurrent_handshakes_are_capped() {
    let limits = HandshakeLimits { max_concurrent: 2, timeout: Duration::from_secs(60), ..HandshakeLimits::default() };
    let (hs, addr, _data) = bounded(limits).await;
    let hello = client_hello();
    // Two half-open handshakes hold both permits...
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(&hello[..10]).await.unwrap();
        held.push(tcp);
    }
    wait_for("two handshakes in progress", async || (hs.in_progress() == 2).then_some(())).await;
    // ...so a third is closed at once instead of queueing.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(&hello).await.unwrap();
    closed_by_server(&mut third).await;
    assert_eq!(hs.stats().refused_busy.load(Ordering::Relaxed), 1);
    // Closing them frees the permits.
    drop(held);
    wait_for("the permits back", async || (hs.in_progress() == 0).then_some(())).await;
    let mut again = TcpStream::connect(addr).await.unwrap();
    again.write_all(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n").await.unwrap();
    assert!(!closed_by_server(&mut again).await.is_empty());
}

#[tokio::test]
async fn an_acme_tls_handshake_without_a_challenge_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let tls = Tls::new(self_signed(&[]), data.path(), fast_options()).await.unwrap();
    // A configuration that offers acme-tls/1, as in `acme` mode with tls-alpn-01.
    let config = tls::server_config(tls.resolver(), true).unwrap();
    let hs = Handshaker::new(config, 443, HandshakeLimits::default());
    let (client_side, server_side) = tokio::io::duplex(64 * 1024);
    let mut client_config = tls::client_config(&HubTrust::PinSha256(tls.status().sha256.unwrap())).unwrap();
    client_config.alpn_protocols = vec![tls::ACME_TLS_ALPN.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let (client, server) = tokio::join!(
        connector.connect(ServerName::try_from("127.0.0.1").unwrap(), client_side),
        hs.accept(server_side)
    );
    assert!(client.is_err());
    assert!(matches!(server, Err(HandshakeError::Io(_))));

    // With a pending challenge the challenge certificate is shown and the connection closed.
    let challenge = tls::alpn_certificate("127.0.0.1", &[7u8; 32]).unwrap();
    let expected = tls::fingerprint(&challenge.cert[0]);
    tls.challenges().add_alpn("127.0.0.1", challenge);
    let (client_side, server_side) = tokio::io::duplex(64 * 1024);
    // webpki refuses the critical acmeIdentifier extension, so this client only records what it is
    // shown (as a validating CA does with its own parser).
    let shown = Arc::new(std::sync::Mutex::new(None));
    let mut client_config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Recorder(shown.clone())))
            .with_no_client_auth();
    client_config.alpn_protocols = vec![tls::ACME_TLS_ALPN.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let sni = ServerName::try_from(tls::sni_for("127.0.0.1")).unwrap();
    let (client, server) = tokio::join!(connector.connect(sni, client_side), hs.accept(server_side));
    let client = client.unwrap();
    assert_eq!(client.get_ref().1.alpn_protocol(), Some(tls::ACME_TLS_ALPN));
    assert!(matches!(server, Ok(Accepted::AcmeChallenge)));
    assert_eq!(shown.lock().unwrap().as_deref(), Some(expected.as_str()));
}

/// Accepts any certificate and records its fingerprint.
#[derive(Debug)]
struct Recorder(Arc<std::sync::Mutex<Option<String>>>);

impl rustls::client::danger::ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        *self.0.lock().unwrap() = Some(tls::fingerprint(end_entity));
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

/// A loopback stand-in for the GCE metadata server: answers the external-IP path only with the
/// `Metadata-Flavor: Google` header, as the real one does.
async fn metadata_server(ip: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let path_ok = head.starts_with(
                "get /computemetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip http/1.1",
            );
            let answer = if path_ok && head.contains("metadata-flavor: google") {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ip}", ip.len())
            } else {
                "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
            };
            let _ = tcp.write_all(answer.as_bytes()).await;
        }
    });
    base
}

#[tokio::test]
async fn auto_ip_reads_the_metadata_server_or_says_what_to_set() {
    let base = metadata_server("203.0.113.7").await;
    let ip = tls::discover_public_ip(&base, Duration::from_secs(5)).await.unwrap();
    assert_eq!(ip.to_string(), "203.0.113.7");
    // The discovered address goes into the certificate.
    let data = tempfile::tempdir().unwrap();
    let options = tls::Options { metadata_base: base, ..fast_options() };
    let tls = Tls::new(self_signed(&["auto-ip", "localhost"]), data.path(), options).await.unwrap();
    assert_eq!(tls.status().identifiers, ["203.0.113.7", "localhost"]);

    let closed = format!("http://127.0.0.1:{}", free_tcp_port());
    let err = tls::discover_public_ip(&closed, Duration::from_secs(5)).await.unwrap_err().to_string();
    assert!(err.contains("set tls.identifiers"), "{err}");
    let junk = metadata_server("not-an-ip").await;
    let err = tls::discover_public_ip(&junk, Duration::from_secs(5)).await.unwrap_err().to_string();
    assert!(err.contains("not an IP address") && err.contains("set tls.identifiers"), "{err}");
}
