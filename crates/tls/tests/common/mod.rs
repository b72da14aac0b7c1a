//! Shared test harness: Debian's pebble (an RFC 8555 test CA) and pebble-challtestsrv (its DNS) on
//! loopback with generated configs and free ports, a TLS server and a plain-HTTP server built from the
//! crate's own serving pieces (so pebble validates against the real resolver and http-01 code), and a
//! client that reports the certificate served.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::ServerName;
use tls::{Accepted, HandshakeLimits, Handshaker, HubTrust, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const DEADLINE: Duration = Duration::from_secs(90);

/// Polls `check` until it returns `Some`, or panics with `what` after [`DEADLINE`].
pub async fn wait_for<T>(what: &str, check: impl AsyncFnMut() -> Option<T>) -> T {
    match poll_until(check).await {
        Some(v) => v,
        None => panic!("timed out waiting for {what}"),
    }
}

/// Polls `check` until it returns `Some`; `None` after [`DEADLINE`].
pub async fn poll_until<T>(mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if start.elapsed() > DEADLINE {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A port free for TCP and UDP, below the ephemeral range (see [`testkit::free_port`]).
pub fn free_tcp_port() -> u16 {
    testkit::free_port()
}

/// A test CA and a certificate for `127.0.0.1`/`localhost` signed by it (pebble's own HTTPS).
pub struct MiniCa {
    pub ca_pem: String,
    pub leaf_pem: String,
    pub leaf_key_pem: String,
}

pub fn mini_ca() -> MiniCa {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "tls test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    MiniCa { ca_pem: ca.pem(), leaf_pem: leaf.pem(), leaf_key_pem: leaf_key.serialize_pem() }
}

/// A running pebble (and its DNS), killed on drop.
pub struct Pebble {
    pub dir: tempfile::TempDir,
    pub directory_url: String,
    pub management: String,
    /// The CA file that makes pebble's own HTTPS trusted (`tls.ca_roots`).
    pub https_ca: PathBuf,
    /// The port pebble validates tls-alpn-01 on; the test's HTTPS server listens here.
    pub tls_listener: Option<TcpListener>,
    /// The port pebble validates http-01 on.
    pub http_listener: Option<TcpListener>,
    children: Vec<Child>,
}

impl Pebble {
    /// Starts pebble with `validity` (seconds) for its certificates, or its default. `None` (after a
    /// skip line) when pebble is not installed. A pebble or DNS server that exits before it answers
    /// (a port taken between the draw and its bind) is started again on new ports, up to three times.
    pub async fn start(test: &str, validity: Option<u64>) -> Option<Pebble> {
        let pebble = testkit::tool(test, "pebble", "pebble", &[])?;
        let challtestsrv = testkit::tool(test, "pebble-challtestsrv", "pebble", &[])?;
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::start_once(&pebble, &challtestsrv, validity).await {
                Ok(me) => return Some(me),
                Err(why) => failures.push(why),
            }
        }
        panic!("pebble did not come up in three attempts: {failures:#?}");
    }

    async fn start_once(pebble: &Path, challtestsrv: &Path, validity: Option<u64>) -> Result<Pebble, String> {
        let dir = tempfile::tempdir().unwrap();
        let ca = mini_ca();
        let https_ca = dir.path().join("pebble-https-ca.pem");
        std::fs::write(&https_ca, &ca.ca_pem).unwrap();
        std::fs::write(dir.path().join("cert.pem"), &ca.leaf_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &ca.leaf_key_pem).unwrap();
        // Held by the test; a hub that takes them over binds the same port right after (below the
        // ephemeral range, so no outgoing connection can take it in between).
        let tls_listener = bind_free().await;
        let http_listener = bind_free().await;
        let (acme_port, mgmt_port, dns_port, dns_mgmt) =
            (free_tcp_port(), free_tcp_port(), free_tcp_port(), free_tcp_port());
        let mut config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": http_listener.local_addr().unwrap().port(),
            "tlsPort": tls_listener.local_addr().unwrap().port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        if let Some(v) = validity {
            config["pebble"]["certificateValidityPeriod"] = v.into();
        }
        let config_path = dir.path().join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let dns = Command::new(challtestsrv)
            .args(["-dns01", &format!("127.0.0.1:{dns_port}"), "-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{dns_mgmt}"), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(log("challtestsrv.log"))
            .stderr(log("challtestsrv.err"))
            .spawn()
            .unwrap();
        let ca_proc = Command::new(pebble)
            .args(["-config", config_path.to_str().unwrap(), "-dnsserver", &format!("127.0.0.1:{dns_port}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .stdin(Stdio::null())
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .unwrap();
        let mut me = Pebble {
            directory_url: format!("https://127.0.0.1:{acme_port}/dir"),
            management: format!("https://127.0.0.1:{mgmt_port}"),
            https_ca,
            tls_listener: Some(tls_listener),
            http_listener: Some(http_listener),
            children: vec![dns, ca_proc],
            dir,
        };
        let client = me.client();
        let url = me.directory_url.clone();
        let start = Instant::now();
        loop {
            if let Some(gone) = me.exited() {
                return Err(gone); // dropping `me` stops the other one
            }
            let directory = client.get(&url).send().await.ok().filter(|r| r.status().is_success());
            if directory.is_some() && dns_answers(dns_port) {
                return Ok(me);
            }
            if start.elapsed() > DEADLINE {
                return Err(format!("no directory or DNS answer in {DEADLINE:?}; {}", me.log_tail()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What happened when pebble or its DNS server has exited, with their logs; `None` while both run.
    fn exited(&mut self) -> Option<String> {
        let status = self.children.iter_mut().find_map(|c| c.try_wait().ok().flatten())?;
        Some(format!("a process exited with {status}; {}", self.log_tail()))
    }

    /// The last lines of pebble's and its DNS server's logs, for a failure message.
    pub fn log_tail(&self) -> String {
        ["pebble.log", "pebble.err", "challtestsrv.log", "challtestsrv.err"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
                let tail: String =
                    text.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
                format!("{name}: {tail}")
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// An HTTPS client trusting pebble's own certificate.
    pub fn client(&self) -> reqwest::Client {
        let config = tls::client_config(&HubTrust::CaFile(self.https_ca.clone())).unwrap();
        reqwest::Client::builder().tls_backend_preconfigured(config).build().unwrap()
    }

    /// Pebble's issuing root (regenerated each start), saved to a file for `HubTrust::CaFile`.
    pub async fn issuing_root(&self) -> PathBuf {
        let pem = self.client().get(format!("{}/roots/0", self.management)).send().await.unwrap().text().await.unwrap();
        let path = self.dir.path().join("issuing-root.pem");
        std::fs::write(&path, pem).unwrap();
        path
    }

    /// Stops pebble (the CA goes down; its DNS too).
    pub fn stop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback listener on a port below the ephemeral range (see [`testkit::free_port`]).
async fn bind_free() -> TcpListener {
    loop {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", free_tcp_port())).await {
            return l;
        }
    }
}

/// Whether a DNS server answers a query for `hub.test` on `127.0.0.1:port` (UDP).
fn dns_answers(port: u16) -> bool {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    // Header (id 0x1234, recursion desired, one question) + QNAME hub.test + QTYPE A + QCLASS IN.
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["hub", "test"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    if sock.send_to(&q, ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[0] == 0x12 && buf[1] == 0x34)
}

/// The hub's HTTPS port in miniature: every connection goes through the crate's handshaker (sniffing,
/// tls-alpn-01, redirect); a TLS session gets a one-line HTTP/1.1 answer.
pub fn serve_https(listener: TcpListener, tls: &Tls, cancel: CancellationToken) -> Arc<Handshaker> {
    let port = listener.local_addr().unwrap().port();
    let handshaker = Arc::new(Handshaker::new(tls.server_config(), port, HandshakeLimits::default()));
    let hs = handshaker.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                r = listener.accept() => r.unwrap(),
                _ = cancel.cancelled() => return,
            };
            let hs = hs.clone();
            tokio::spawn(async move {
                if let Ok(Accepted::Tls(mut s)) = hs.accept_tcp(stream).await {
                    let mut buf = [0u8; 1024];
                    if let Ok(n) = s.read(&mut buf).await
                        && n > 0
                    {
                        let _ =
                            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
                    }
                    let _ = s.shutdown().await;
                }
            });
        }
    });
    handshaker
}

/// The hub's plain-HTTP port in miniature: `Tls::answer_http_port` for every connection.
pub fn serve_http(listener: TcpListener, tls: &Tls, https_port: u16, cancel: CancellationToken) {
    let tls = tls.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                r = listener.accept() => r.unwrap(),
                _ = cancel.cancelled() => return,
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                let _ = tls.answer_http_port(stream, https_port, &HandshakeLimits::default()).await;
            });
        }
    });
}

/// Like [`serve_http`], answering from the manager the watch channel holds now.
pub fn serve_http_switchable(
    listener: TcpListener,
    current: tokio::sync::watch::Receiver<Tls>,
    https_port: u16,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = tokio::select! {
                r = listener.accept() => r.unwrap(),
                _ = cancel.cancelled() => return,
            };
            let tls = current.borrow().clone();
            tokio::spawn(async move {
                let head = tls::read_head(&mut stream, 8192).await.unwrap_or_default();
                let _ = stream.write_all(&tls.http_port_response(&head, https_port)).await;
                let _ = stream.shutdown().await;
            });
        }
    });
}

/// Connects with TLS to `addr` as `server_name` and returns the certificate it was shown (DER).
pub async fn served_cert(
    addr: SocketAddr,
    server_name: &str,
    trust: &HubTrust,
) -> Result<rustls::pki_types::CertificateDer<'static>, String> {
    let config = tls::client_config(trust).map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let stream = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (_, conn) = stream.get_ref();
    conn.peer_certificates().and_then(|c| c.first()).cloned().ok_or_else(|| "no certificate".to_owned())
}

/// Settings for `acme` mode against `pebble`.
pub fn acme_settings(pebble: &Pebble, identifiers: &[&str], challenge: tls::Challenge) -> tls::Settings {
    tls::Settings {
        mode: tls::Mode::Acme,
        directory_url: pebble.directory_url.clone(),
        identifiers: identifiers.iter().map(|s| s.to_string()).collect(),
        challenge,
        ca_roots: vec![pebble.https_ca.clone()],
        ..tls::Settings::default()
    }
}

/// Options with short intervals for tests (no timing is asserted on them).
pub fn fast_options() -> tls::Options {
    tls::Options {
        reload_interval: Duration::from_millis(100),
        backoff: tls::Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(2) },
        ..tls::Options::default()
    }
}

/// Starts the manager's task; stopped through the returned token.
pub fn run(tls: &Tls) -> CancellationToken {
    run_counting(tls).0
}

/// Starts the manager's task and counts its heartbeats (one per pass of its loop).
pub fn run_counting(tls: &Tls) -> (CancellationToken, Arc<AtomicU64>) {
    let (cancel, beats, _) = run_joinable(tls);
    (cancel, beats)
}

/// Starts the manager's task; its handle resolves when the task ends.
pub fn run_joinable(
    tls: &Tls,
) -> (CancellationToken, Arc<AtomicU64>, tokio::task::JoinHandle<Result<(), tls::TlsError>>) {
    let cancel = CancellationToken::new();
    let beats = Arc::new(AtomicU64::new(0));
    let (t, c, b) = (tls.clone(), cancel.clone(), beats.clone());
    let handle = tokio::spawn(async move {
        t.run(c, move || {
            b.fetch_add(1, Ordering::Relaxed);
        })
        .await
    });
    (cancel, beats, handle)
}

/// Waits until the manager serves a certificate with a serial other than `not`.
pub async fn wait_for_serial(tls: &Tls, not: Option<&str>) -> tls::Status {
    let found = poll_until(async || {
        let s = tls.status();
        s.serial.as_deref().filter(|serial| Some(*serial) != not).map(|_| s.clone())
    })
    .await;
    found.unwrap_or_else(|| panic!("timed out waiting for a certificate; status: {:?}", tls.status()))
}

pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
