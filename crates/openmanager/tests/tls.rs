//! HTTPS end to end against the real binary: a self-signed hub (HTTP/1.1 and HTTP/2, HSTS, plain HTTP
//! redirected, `wss://`, garbage and truncated handshakes refused, agents pinning the certificate
//! right and wrong, `tls status`), `files` mode reloading a new pair without a restart, and ACME
//! against Debian's pebble on loopback (tls-alpn-01 and http-01 for the IP 127.0.0.1, renewal of
//! short-lived certificates seen without a restart while a load runs with zero failed requests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

// The tls crate's own pebble harness (pebble + its DNS on loopback, generated configs, free ports).
#[path = "../../tls/tests/common/mod.rs"]
mod pebble;

use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server, WAIT, wait_until};
use futures_util::StreamExt;
use serde_json::Value;
use tls::HubTrust;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INGEST: &str = "ingest-token-for-agents-0123456789abcdef";
const DEADLINE: Duration = Duration::from_secs(60);

/// A reqwest client trusting the hub as `trust` says (HTTP/2 offered through ALPN).
fn client(trust: &HubTrust) -> reqwest::Client {
    let config = tls::client_config(trust).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `openmanager tls status --json` for the server's config.
fn tls_status(s: &Server) -> Value {
    let out = common::command()
        .args(["tls", "status", "--json", "--config"])
        .arg(s.dir.path().join("config.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Health over HTTPS once the server is ready there.
async fn ready_health(s: &Server, c: &reqwest::Client) -> Value {
    ready_health_within(s, c, WAIT, String::new).await
}

/// [`ready_health`] with a limit of `limit`; a timeout fails with the hub's log and `context()`.
async fn ready_health_within(s: &Server, c: &reqwest::Client, limit: Duration, context: impl Fn() -> String) -> Value {
    let url = s.url("/api/health/ready");
    let deadline = Instant::now() + limit;
    while !c.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for readiness over HTTPS; hub log:\n{}\n{}",
            s.logs(),
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.get(s.url("/api/health")).send().await.unwrap().json().await.unwrap()
}

/// Readiness of a hub in `acme` mode: its first order, or, when pebble refused that one (pebble fails a
/// share of requests by design), the retry after the hub's default back-off of 60 s.
async fn acme_ready_health(s: &Server, c: &reqwest::Client, p: &pebble::Pebble) -> Value {
    ready_health_within(s, c, Duration::from_secs(150), || format!("pebble: {}", p.log_tail())).await
}

/// Sends `bytes` raw and returns what came back before the server closed (bounded by a deadline, so
/// a hang fails the test instead of blocking it).
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut out))
        .await
        .expect("the server neither answered nor closed the connection")
        .ok();
    out
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(hub: &str, extra: &[&str], state: &std::path::Path) -> Agent {
    Agent(
        common::command()
            .args(["agent", "--hub", hub, "--token", INGEST, "--interval", "1s"])
            .args(extra)
            .arg("--state-dir")
            .arg(state)
            .env("OPENMANAGER_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn hub_config() -> String {
    format!(
        "[auth]\nadmin_token = \"{ADMIN_TOKEN}\"\n[[auth.tokens]]\nname = \"agents\"\ntoken = \"{INGEST}\"\nscopes = [\"ingest\"]\n\
         [simulation]\nenabled = false\n[fleet]\nmonitor_self = false\n"
    )
}

#[tokio::test]
async fn a_self_signed_hub_serves_https_end_to_end() {
    let s = Server::builder()
        .server("header_timeout_ms = 1000")
        .config(&hub_config())
        .tls("mode = \"self-signed\"")
        .start_async()
        .await;
    let status = tls_status(&s);
    assert_eq!(status["mode"], "self-signed", "{status}");
    let pin = status["sha256"].as_str().unwrap().to_owned();
    let c = client(&HubTrust::PinSha256(pin.clone()));

    // HTTP/2 through ALPN, HSTS, and the certificate's state in health.
    let health = ready_health(&s, &c).await;
    assert_eq!(health["checks"]["tls"], "ok", "{health}");
    assert_eq!(health["tls"]["state"], "ok", "{health}");
    assert_eq!(health["tls"]["mode"], "self-signed", "{health}");
    assert!(health["tls"]["notAfter"].is_string(), "{health}");
    let res = c.get(s.url("/api/servers")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    let mut h1 = tls::client_config(&HubTrust::PinSha256(pin.clone())).unwrap();
    h1.alpn_protocols = vec![b"http/1.1".to_vec()];
    let c1 = reqwest::Client::builder().tls_backend_preconfigured(h1).build().unwrap();
    let res = c1.get(s.url("/api/health")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.version()), (200, reqwest::Version::HTTP_11));
    assert!(res.headers().contains_key("strict-transport-security"));

    // Prometheus sees the certificate.
    let metrics = c.get(s.url("/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().text().await.unwrap();
    let expiry = metrics
        .lines()
        .find(|l| l.starts_with("openmanager_tls_certificate_expiry_timestamp_seconds "))
        .unwrap_or_else(|| panic!("no expiry series:\n{metrics}"));
    let not_after: jiff::Timestamp = status["notAfter"].as_str().unwrap().parse().unwrap();
    assert_eq!(expiry.split(' ').nth(1).unwrap().parse::<i64>().unwrap(), not_after.as_second());
    assert!(metrics.contains("openmanager_tls_renewals_total{result=\"failure\"} 0"), "{metrics}");

    // Plain HTTP on the TLS port: a redirect, not a broken handshake.
    let answer = raw(s.addr, b"GET /api/health?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 301"), "{answer}");
    let location = format!("location: https://127.0.0.1:{}/api/health?x=1", s.addr.port());
    assert!(answer.to_ascii_lowercase().contains(&location), "{answer}");

    // wss:// from a client (HTTP/1.1 upgrade inside TLS).
    let connector = tokio_rustls::TlsConnector::from(Arc::new(h1_config(&pin)));
    let tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let url = format!("wss://127.0.0.1:{}/ws?token={ADMIN_TOKEN}", s.addr.port());
    let (mut ws, res) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    assert_eq!(res.status(), 101);
    let first = tokio::time::timeout(DEADLINE, ws.next()).await.unwrap().unwrap().unwrap();
    assert!(first.is_text(), "{first:?}");
    drop(ws);

    // Garbage, a bad record, and a ClientHello cut short: each refused cleanly, none hangs.
    assert!(raw(s.addr, b"\x00\x01\x02 garbage that is neither TLS nor HTTP\r\n\r\n").await.is_empty());
    let bad_record = raw(s.addr, b"\x16\x03\x01\x00\x05hello").await;
    assert!(bad_record.is_empty() || bad_record[0] == 0x15, "an alert or nothing: {bad_record:?}");
    // A record header announcing 512 bytes of ClientHello, then silence: closed at the timeout.
    assert!(raw(s.addr, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").await.is_empty());
    // An unknown SNI still gets the one certificate (agents pin it whatever the name).
    let unknown = tokio_rustls::TlsConnector::from(Arc::new(h1_config(&pin)))
        .connect(
            rustls::pki_types::ServerName::try_from("unknown.example").unwrap(),
            tokio::net::TcpStream::connect(s.addr).await.unwrap(),
        )
        .await;
    assert!(unknown.is_ok(), "{unknown:?}");
    assert_eq!(c.get(s.url("/api/health/ready")).send().await.unwrap().status(), 200);

    // Agents: the right pin reports; a wrong pin is refused with a clear message.
    let hub = format!("https://127.0.0.1:{}", s.addr.port());
    let right_state = tempfile::tempdir().unwrap();
    let _right = agent(&hub, &["--pin-sha256", &pin], right_state.path());
    wait_until("the pinned agent's report", WAIT, || async {
        let body: Value = match c.get(s.url("/api/servers?source=agent")).bearer_auth(ADMIN_TOKEN).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => return false,
        };
        body["data"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let wrong_state = tempfile::tempdir().unwrap();
    let wrong_pin = "ab".repeat(32);
    let mut wrong = agent(&hub, &["--pin-sha256", &wrong_pin], wrong_state.path());
    let stderr = wrong.0.stderr.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr).lines().map_while(Result::ok).find(|l| l.contains("fingerprint"))
    });
    let line = tokio::time::timeout(DEADLINE, line).await.unwrap().unwrap().expect("a log line naming the fingerprint");
    assert!(line.contains(&pin) && line.contains(&wrong_pin), "{line}");
    drop(wrong);
    assert!(!s.logs().contains("panicked"), "{}", s.logs());
}

/// The pinned client configuration with HTTP/1.1 only (a WebSocket upgrade is an HTTP/1.1 request).
fn h1_config(pin: &str) -> rustls::ClientConfig {
    let mut config = tls::client_config(&HubTrust::PinSha256(pin.to_owned())).unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

#[test]
fn an_agent_refuses_plain_http_to_a_remote_hub() {
    let state = tempfile::tempdir().unwrap();
    let out = common::command()
        .args(["agent", "--hub", "http://192.0.2.10:10000", "--token", INGEST, "--state-dir"])
        .arg(state.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("192.0.2.10") && err.contains("--insecure-http"), "{err}");
    let out = common::command()
        .args(["agent", "--hub", "http://192.0.2.10:10000", "--token", INGEST, "--pin-sha256", "zz"])
        .arg("--state-dir")
        .arg(state.path())
        .arg("--insecure-http")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pin-sha256"), "{out:?}");
}

/// Whether a TLS handshake with `addr` succeeds trusting only the certificate `pin`.
async fn serves(addr: std::net::SocketAddr, pin: &str) -> bool {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(h1_config(pin)));
    let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else { return false };
    connector.connect(rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap(), tcp).await.is_ok()
}

#[tokio::test]
async fn files_mode_reloads_a_new_pair_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let pair = || tls::generate_self_signed(&["127.0.0.1".to_string()]).unwrap();
    let fingerprint = |pem: &str| {
        let path = dir.path().join("probe.pem");
        std::fs::write(&path, pem).unwrap();
        tls::describe_pem_file(&path).unwrap().sha256
    };
    let (a_cert, a_key) = pair();
    std::fs::write(&cert, &a_cert).unwrap();
    std::fs::write(&key, &a_key).unwrap();
    let s = Server::builder()
        .tls(&format!("mode = \"files\"\ncert_path = \"{}\"\nkey_path = \"{}\"", cert.display(), key.display()))
        .start_async()
        .await;
    let a = fingerprint(&a_cert);
    assert!(serves(s.addr, &a).await);
    // A keep-alive connection opened on the old certificate stays usable across the swap.
    let c = client(&HubTrust::PinSha256(a.clone()));
    assert_eq!(c.get(s.url("/api/health")).send().await.unwrap().status(), 200);

    let (b_cert, b_key) = pair();
    let b = fingerprint(&b_cert);
    // Key first, then the certificate: the pair is mismatched for a moment, which must not stick.
    std::fs::write(&key, &b_key).unwrap();
    std::fs::write(&cert, &b_cert).unwrap();
    wait_until("the new pair to be served", WAIT, || serves(s.addr, &b)).await;
    assert_eq!(c.get(s.url("/api/health")).send().await.unwrap().status(), 200);

    // A bad file keeps the current certificate and says why.
    std::fs::write(&cert, "not a certificate").unwrap();
    s.until_log("new TLS files not used").await;
    assert!(serves(s.addr, &b).await);
    let status = tls_status(&s);
    assert!(status["lastError"].is_string(), "{status}");
}

/// A self-signed pair for 127.0.0.1 valid from `from` to `until` (seconds from now), as PEM.
fn pair_valid(from: i64, until: i64) -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_before = now + time::Duration::seconds(from);
    params.not_after = now + time::Duration::seconds(until);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn an_expired_pair_is_served_but_reported_as_expired() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (c, k) = pair_valid(-30 * 86_400, -86_400);
    std::fs::write(&cert, &c).unwrap();
    std::fs::write(&key, &k).unwrap();
    let s = Server::builder()
        .tls(&format!("mode = \"files\"\ncert_path = \"{}\"\nkey_path = \"{}\"", cert.display(), key.display()))
        .start_async()
        .await;
    // Still served (an operator who pinned it keeps access to renew it), and said loudly.
    let pin = tls::describe_pem_file(&cert).unwrap().sha256;
    assert!(serves(s.addr, &pin).await);
    let health: Value =
        client(&HubTrust::PinSha256(pin)).get(s.url("/api/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["tls"]["state"], "expired", "{health}");
    assert!(health["checks"]["tls"].as_str().unwrap().starts_with("expired (expires "), "{health}");
    assert_eq!(tls_status(&s)["state"], "expired");
}

#[tokio::test]
async fn an_unreachable_ca_leaves_the_hub_up_and_says_why() {
    // Nothing listens on the directory's port: every ACME request is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = Server::builder()
        .tls(&format!(
            "mode = \"acme\"\ndirectory_url = \"https://127.0.0.1:{closed}/dir\"\nidentifiers = [\"127.0.0.1\"]"
        ))
        .start_async()
        .await;
    // The hub runs (plain HTTP on its port is redirected) and the status names the failure.
    wait_until("the failed issuance in `tls status`", WAIT, || async { tls_status(&s)["lastError"].is_string() }).await;
    let status = tls_status(&s);
    assert_eq!(status["state"], "missing", "{status}");
    let answer = raw(s.addr, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 301"), "{}", String::from_utf8_lossy(&answer));
    // With no certificate a handshake is refused at once (an alert), not left hanging.
    let refused =
        tokio::time::timeout(DEADLINE, client(&HubTrust::PinSha256("00".repeat(32))).get(s.url("/api/health")).send())
            .await;
    assert!(refused.expect("the handshake hung").is_err());
}

/// A hub in `acme` mode against pebble, HTTPS on pebble's tls-alpn-01 port (and the plain-HTTP port
/// on its http-01 port), trusting pebble's own HTTPS; `None` when pebble is not installed.
async fn acme_hub(test: &str, validity: Option<u64>, challenge: &str) -> Option<(pebble::Pebble, Server)> {
    acme_hub_with(test, validity, challenge, "").await
}

/// [`acme_hub`] with more configuration (TOML sections other than `[tls]`).
async fn acme_hub_with(
    test: &str,
    validity: Option<u64>,
    challenge: &str,
    config: &str,
) -> Option<(pebble::Pebble, Server)> {
    let mut p = pebble::Pebble::start(test, validity).await?;
    let https = p.tls_listener.take().unwrap().local_addr().unwrap().port();
    let http = p.http_listener.take().unwrap().local_addr().unwrap().port();
    let s = Server::builder()
        .config(config)
        .env("PORT", &https.to_string())
        .tls(&format!(
            "mode = \"acme\"\ndirectory_url = \"{}\"\nidentifiers = [\"127.0.0.1\"]\nchallenge = \"{challenge}\"\n\
             ca_roots = [\"{}\"]\nhttp_port = {http}",
            p.directory_url,
            p.https_ca.display()
        ))
        .start_async()
        .await;
    Some((p, s))
}

async fn acme_issues(test: &str, challenge: &str) {
    let Some((p, s)) = acme_hub(test, None, challenge).await else { return };
    let root = p.issuing_root().await;
    let c = client(&HubTrust::CaFile(root));
    let health = acme_ready_health(&s, &c, &p).await;
    assert_eq!(health["checks"]["tls"], "ok", "{health}");
    // API.md: `tls: {notAfter, issuer, identifiers}` in the health answer.
    assert!(health["tls"]["issuer"].as_str().is_some_and(|i| i.contains("Pebble")), "{health}");
    assert_eq!(health["tls"]["identifiers"], serde_json::json!(["127.0.0.1"]), "{health}");
    let status = tls_status(&s);
    assert!(status["issuer"].as_str().unwrap().contains("Pebble"), "{status}");
    assert_eq!(status["identifiers"], serde_json::json!(["127.0.0.1"]), "{status}");
    // The plain-HTTP port redirects.
    let http = p_http_port(&s);
    let answer = raw(([127, 0, 0, 1], http).into(), b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 301"), "{}", String::from_utf8_lossy(&answer));
}

/// The `http_port` of the server's config.
fn p_http_port(s: &Server) -> u16 {
    let config = std::fs::read_to_string(s.dir.path().join("config.toml")).unwrap();
    let line = config.lines().find(|l| l.starts_with("http_port")).unwrap();
    line.split('=').nth(1).unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn acme_issues_for_an_ip_with_tls_alpn_01() {
    acme_issues("acme_issues_for_an_ip_with_tls_alpn_01", "tls-alpn-01").await;
}

/// The status page's own domain joins the certificate (pebble's DNS answers 127.0.0.1 for any
/// name), and a browser going there gets the page at `/` over HTTPS, the name verified.
#[tokio::test]
async fn acme_covers_the_status_page_s_domain_and_serves_the_page_there() {
    let test = "acme_covers_the_status_page_s_domain_and_serves_the_page_there";
    let config = "[status_page]\nenabled = true\ntitle = \"Pebble status\"\ndomain = \"status.acme.test\"\n";
    let Some((p, s)) = acme_hub_with(test, None, "tls-alpn-01", config).await else { return };
    let root = p.issuing_root().await;
    let health = acme_ready_health(&s, &client(&HubTrust::CaFile(root.clone())), &p).await;
    let mut names: Vec<&str> =
        health["tls"]["identifiers"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["127.0.0.1", "status.acme.test"], "{health}");
    let by_name = reqwest::Client::builder()
        .tls_backend_preconfigured(tls::client_config(&HubTrust::CaFile(root)).unwrap())
        .resolve("status.acme.test", s.addr)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let url = format!("https://status.acme.test:{}/", s.addr.port());
    let page = common::poll("the status page at its domain", Duration::from_secs(20), async || {
        let res = by_name.get(&url).send().await.ok()?;
        let body = res.text().await.ok()?;
        body.contains("Pebble status").then_some(body)
    })
    .await;
    assert!(page.contains("<html"), "{page}");
}

#[tokio::test]
async fn acme_issues_for_an_ip_with_http_01() {
    acme_issues("acme_issues_for_an_ip_with_http_01", "http-01").await;
}

#[tokio::test]
async fn short_lived_certificates_renew_under_load_with_no_failed_request() {
    let test = "short_lived_certificates_renew_under_load_with_no_failed_request";
    // 30-second certificates: renewal is due 20 seconds after each issuance.
    let Some((p, s)) = acme_hub(test, Some(30), "tls-alpn-01").await else { return };
    let root = p.issuing_root().await;
    let trust = HubTrust::CaFile(root);
    let c = client(&trust);
    acme_ready_health(&s, &c, &p).await;
    let first = tls_status(&s)["serial"].as_str().unwrap().to_owned();

    // Load: keep-alive requests and a new connection (a full handshake) per request, all verified.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for fresh in [false, true, true] {
        let (stop, ok, failed, url) = (stop.clone(), ok.clone(), failed.clone(), s.url("/api/health"));
        let keep = client(&trust);
        let trust = trust.clone();
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let c = if fresh { client(&trust) } else { keep.clone() };
                match c.get(&url).send().await {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        eprintln!("failed request: {other:?}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    // The served certificate changes without a restart.
    let addr = s.addr;
    let served = |trust: HubTrust| async move {
        pebble::served_cert(addr, "127.0.0.1", &trust).await.ok().and_then(|d| tls::describe(&d).ok()).map(|i| i.serial)
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if served(trust.clone()).await.is_some_and(|serial| serial != first) {
            break;
        }
        assert!(Instant::now() < deadline, "no renewed certificate served; logs:\n{}", s.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A little more load on the new certificate, then stop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(ok > 0);
    assert_eq!(failed, 0, "{failed} of {} requests failed", ok + failed);
    assert_eq!(s.listening_pids().len(), 1, "served by the same process throughout");
    let status = tls_status(&s);
    assert!(status["renewalsSucceeded"].as_u64().unwrap() >= 2, "{status}");
}

/// Socket activation passing two sockets (HTTPS, then the plain-HTTP port, as `install --https`
/// writes them), then a SIGUSR2 hand-over: the successor gets both sockets and serves the same
/// certificate on the first, redirects on the second.
#[tokio::test]
async fn both_ports_survive_socket_activation_and_a_hand_over() {
    let Some(activator) = testkit::tool(
        "tls_socket_activation",
        "systemd-socket-activate",
        "systemd",
        &["/usr/lib/systemd/systemd-activate"],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nhost = \"127.0.0.1\"\nport = 0\ndata_dir = \"{}\"\n[tls]\nmode = \"self-signed\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let port = |l: std::net::TcpListener| l.local_addr().unwrap().port();
    let (https, http) = (
        port(std::net::TcpListener::bind("127.0.0.1:0").unwrap()),
        port(std::net::TcpListener::bind("127.0.0.1:0").unwrap()),
    );
    let mut cmd = std::process::Command::new(activator);
    common::clean_env(&mut cmd);
    cmd.arg("-l")
        .arg(format!("127.0.0.1:{https}"))
        .arg("-l")
        .arg(format!("127.0.0.1:{http}"))
        .args(["-E", "OPENMANAGER_LOG_FORMAT=json", "-E", "OPENMANAGER_LOG=info"])
        .arg("-E")
        .arg(format!("OPENMANAGER_ADMIN_TOKEN={ADMIN_TOKEN}"))
        .arg(common::binary())
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let logs = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = logs.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    struct Cleanup(Arc<std::sync::Mutex<Vec<String>>>, u32);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let mut pids = common::listening_pids(&self.0.lock().unwrap());
            pids.push(self.1);
            for pid in pids {
                let _ =
                    std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
            }
        }
    }
    let _cleanup = Cleanup(logs.clone(), pid);
    let text = || logs.lock().unwrap().join("\n");

    // The first connection starts the server; the certificate is made at its start.
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], https).into();
    wait_until("the activator's sockets", WAIT, || async { tokio::net::TcpStream::connect(addr).await.is_ok() }).await;
    let first = raw(addr, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(
        String::from_utf8_lossy(&first).starts_with("HTTP/1.1 301"),
        "{}\n{}",
        String::from_utf8_lossy(&first),
        text()
    );
    let status = common::command().args(["tls", "status", "--json", "--config"]).arg(&config).output().unwrap();
    let pin = serde_json::from_slice::<Value>(&status.stdout).unwrap()["sha256"].as_str().unwrap().to_owned();
    let c = client(&HubTrust::PinSha256(pin.clone()));
    let health = format!("https://127.0.0.1:{https}/api/health");
    wait_until("HTTPS on the activated socket", WAIT, || async {
        c.get(&health).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    let redirect = raw(([127, 0, 0, 1], http).into(), b"GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    let redirect = String::from_utf8_lossy(&redirect).to_string();
    assert!(redirect.to_ascii_lowercase().contains(&format!("location: https://127.0.0.1:{https}/a")), "{redirect}");
    assert!(text().contains(r#""socket":"systemd""#), "{}", text());

    common::signal_pid(pid, "USR2");
    let deadline = Instant::now() + DEADLINE;
    let successor = loop {
        if let Some(&p) = common::listening_pids(&logs.lock().unwrap()).iter().find(|&&p| p != pid) {
            break p;
        }
        assert!(Instant::now() < deadline, "no successor; logs:\n{}", text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "{exit:?}\n{}", text());
    assert!(common::pid_running(successor));
    // The successor serves the same certificate and still answers the plain-HTTP port.
    assert!(serves(addr, &pin).await, "{}", text());
    assert_eq!(c.get(&health).send().await.unwrap().status(), 200);
    let redirect = raw(([127, 0, 0, 1], http).into(), b"GET /b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(String::from_utf8_lossy(&redirect).starts_with("HTTP/1.1 301"), "{}", text());
}

/// 300 half-open handshakes from one address (a ClientHello's first bytes, then silence) hold at most
/// that address's share of handshakes: a client from another address still gets through at once.
#[tokio::test]
async fn half_open_handshakes_from_one_address_do_not_lock_others_out() {
    let s = Server::builder().tls("mode = \"self-signed\"").start_async().await;
    let pin = tls_status(&s)["sha256"].as_str().unwrap().to_owned();
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        tcp.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").await.unwrap();
        held.push(tcp);
    }
    let other = reqwest::Client::builder()
        .tls_backend_preconfigured(tls::client_config(&HubTrust::PinSha256(pin)).unwrap())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let res = other.get(s.url("/api/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    drop(held);
}
