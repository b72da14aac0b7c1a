//! `http` checks against a real HTTP server on loopback: status ranges, a hanging server, redirect
//! chains and loops, a huge body, keywords, JSON paths, headers across redirects, and HTTPS with a
//! certificate that verifies and one that does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{DAY, HUGE_BYTES, TestCa, check, http_server, prober, tls_server};
use probe::MAX_REDIRECTS;
use serde_json::json;

fn http(url: String, http: serde_json::Value) -> probe::Check {
    check(json!({"kind": "http", "target": url, "timeoutMs": 5000, "http": http}))
}

#[tokio::test]
async fn status_ranges_decide_up_and_down() {
    let (addr, _) = http_server(None).await;
    let p = prober(vec![]);
    let ok = p.probe(&http(format!("http://{addr}/ok"), json!({}))).await;
    assert!(ok.up, "{ok:?}");
    assert_eq!(ok.status_code, Some(200));
    assert!(ok.error.is_none() && ok.cert_days_left.is_none());

    let fail = p.probe(&http(format!("http://{addr}/fail"), json!({}))).await;
    assert!(!fail.up);
    assert_eq!(fail.status_code, Some(500));
    assert_eq!(fail.error.as_deref(), Some("status 500 is not in 200-399"));

    let expected_500 = p.probe(&http(format!("http://{addr}/fail"), json!({"expectStatus": "500-599"}))).await;
    assert!(expected_500.up, "{expected_500:?}");

    let missing = p.probe(&http(format!("http://{addr}/nothing"), json!({"method": "HEAD"}))).await;
    assert_eq!((missing.up, missing.status_code), (false, Some(404)));
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let (addr, _) = http_server(None).await;
    let c = check(json!({"kind": "http", "target": format!("http://{addr}/hang"), "timeoutMs": 300}));
    let out = prober(vec![]).probe(&c).await;
    assert!(!out.up);
    assert_eq!(out.error.as_deref(), Some("timed out after 300 ms"));
    assert!(out.latency_ms >= 300.0, "{out:?}");
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_bound() {
    let (addr, _) = http_server(None).await;
    let p = prober(vec![]);
    let within = p.probe(&http(format!("http://{addr}/hop/{MAX_REDIRECTS}"), json!({"keyword": "arrived"}))).await;
    assert!(within.up, "{within:?}");
    assert_eq!(within.status_code, Some(200));

    let beyond = p.probe(&http(format!("http://{addr}/hop/{}", MAX_REDIRECTS + 1), json!({}))).await;
    assert!(!beyond.up);
    assert_eq!(
        beyond.error.as_deref(),
        Some(format!("more than {MAX_REDIRECTS} redirects (the last to /hop/0)").as_str())
    );

    let looped = p.probe(&http(format!("http://{addr}/loop"), json!({}))).await;
    assert!(!looped.up);
    assert!(looped.error.as_deref().unwrap().starts_with("more than 5 redirects"), "{looped:?}");

    // Not following: the redirect itself is the answer, and 3xx is in the default range.
    let unfollowed = p.probe(&http(format!("http://{addr}/loop"), json!({"followRedirects": false}))).await;
    assert_eq!((unfollowed.up, unfollowed.status_code), (true, Some(307)));
}

#[tokio::test]
async fn a_huge_body_is_read_only_to_the_bound() {
    let (addr, served) = http_server(None).await;
    let p = prober(vec![]);
    let out = p.probe(&http(format!("http://{addr}/huge"), json!({"keyword": "NEEDLE"}))).await;
    assert!(!out.up);
    assert_eq!(out.error.as_deref(), Some("keyword \"NEEDLE\" not found in the first 64 KiB of the body"));
    let found = p.probe(&http(format!("http://{addr}/huge"), json!({"keyword": "aaaa"}))).await;
    assert!(found.up, "{found:?}");
    let json_path =
        p.probe(&http(format!("http://{addr}/huge"), json!({"jsonPath": {"path": "a", "expect": "b"}}))).await;
    assert!(json_path.error.as_deref().unwrap().contains("larger than 64 KiB"), "{json_path:?}");
    // The server stops producing once the probe hangs up: far less than the body was ever made.
    assert!(served.bytes() < HUGE_BYTES / 2, "{} bytes produced", served.bytes());
}

#[tokio::test]
async fn keywords_present_and_absent() {
    let (addr, _) = http_server(None).await;
    let p = prober(vec![]);
    let present = p.probe(&http(format!("http://{addr}/ok"), json!({"keyword": "systems ok"}))).await;
    assert!(present.up, "{present:?}");
    let absent = p.probe(&http(format!("http://{addr}/ok"), json!({"keyword": "degraded"}))).await;
    assert!(!absent.up);
    assert_eq!(absent.status_code, Some(200));
    assert_eq!(absent.error.as_deref(), Some("keyword \"degraded\" not found in the body"));
}

#[tokio::test]
async fn json_paths_match_and_mismatch() {
    let (addr, _) = http_server(None).await;
    let p = prober(vec![]);
    let url = format!("http://{addr}/json");
    for (path, expect) in [("status", "ok"), ("db.up", "true"), ("db.lag", "3"), ("items.0.state", "ready")] {
        let out = p.probe(&http(url.clone(), json!({"jsonPath": {"path": path, "expect": expect}}))).await;
        assert!(out.up, "{path}: {out:?}");
    }
    let wrong = p.probe(&http(url.clone(), json!({"jsonPath": {"path": "status", "expect": "degraded"}}))).await;
    assert_eq!(wrong.error.as_deref(), Some("JSON path status is \"ok\", expected \"degraded\""));
    let missing = p.probe(&http(url, json!({"jsonPath": {"path": "db.replica", "expect": "x"}}))).await;
    assert_eq!(missing.error.as_deref(), Some("JSON path db.replica has no value"));
    let not_json = p.probe(&http(format!("http://{addr}/ok"), json!({"jsonPath": {"path": "a", "expect": "b"}}))).await;
    assert!(not_json.error.as_deref().unwrap().starts_with("the body is not JSON"), "{not_json:?}");
}

#[tokio::test]
async fn headers_are_sent_and_credentials_stay_with_their_origin() {
    let (other, _) = http_server(None).await;
    let (addr, _) = http_server(Some(format!("http://{other}/headers"))).await;
    let p = prober(vec![]);
    let headers = json!({"Authorization": "Bearer t0k", "Cookie": "s=1", "User-Agent": "mine"});
    let auth = |path: &str, expect: &str, field: &str| {
        http(
            format!("http://{addr}{path}"),
            json!({"headers": headers.clone(), "jsonPath": {"path": field, "expect": expect}}),
        )
    };
    assert!(p.probe(&auth("/headers", "Bearer t0k", "auth")).await.up);
    assert!(p.probe(&auth("/headers", "mine", "ua")).await.up);
    // A redirect within the origin keeps them; one to another origin drops the credentials.
    assert!(p.probe(&auth("/here", "Bearer t0k", "auth")).await.up);
    let away = p.probe(&auth("/away", "none", "auth")).await;
    assert!(away.up, "{away:?}");
    assert!(p.probe(&auth("/away", "none", "cookie")).await.up);
    assert!(p.probe(&auth("/away", "mine", "ua")).await.up);
    // Without headers in the definition, nothing but our User-Agent is sent.
    let plain = http(format!("http://{addr}/headers"), json!({"jsonPath": {"path": "auth", "expect": "none"}}));
    assert!(p.probe(&plain).await.up);
    let ua = http(
        format!("http://{addr}/headers"),
        json!({"jsonPath": {"path": "ua", "expect": "OpenManager-Probe/0.1.0"}}),
    );
    assert!(p.probe(&ua).await.up);
}

#[tokio::test]
async fn https_reports_the_certificate_and_verifies_unless_told_not_to() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(-DAY, 30 * DAY + 3600);
    let addr = tls_server(chain, key).await;
    let url = format!("https://localhost:{}/", addr.port());

    let trusted = prober(vec![ca.der()]).probe(&http(url.clone(), json!({}))).await;
    assert!(trusted.up, "{trusted:?}");
    assert_eq!(trusted.status_code, Some(200));
    assert_eq!(trusted.cert_days_left, Some(30));
    assert_eq!(trusted.cert_verified, Some(true));

    let untrusted = prober(vec![TestCa::new().der()]);
    let refused = untrusted.probe(&http(url.clone(), json!({}))).await;
    assert!(!refused.up);
    let error = refused.error.unwrap();
    assert!(error.contains("certificate") && error.contains("UnknownIssuer"), "{error}");

    let unverified = untrusted.probe(&http(url, json!({"verifyTls": false}))).await;
    assert!(unverified.up, "{unverified:?}");
    assert_eq!((unverified.cert_days_left, unverified.cert_verified), (Some(30), None));
}

#[tokio::test]
async fn https_speaks_http2_when_the_server_chooses_it() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(-DAY, 30 * DAY + 3600);
    let addr = h2_server(chain, key).await;
    let p = prober(vec![ca.der()]);
    let url = format!("https://127.0.0.1:{}/health?x=1", addr.port());
    // The keyword is the version and path the server saw: HTTP/2, with the path sent as :path.
    let out = p.probe(&http(url.clone(), json!({"keyword": "HTTP/2.0 /health"}))).await;
    assert!(out.up, "{out:?}");
    assert_eq!(out.status_code, Some(200));
    assert_eq!((out.cert_days_left, out.cert_verified), (Some(30), Some(true)));
    let missing = p.probe(&http(url, json!({"keyword": "HTTP/1.1"}))).await;
    assert!(!missing.up && missing.error.as_deref().unwrap().contains("not found"), "{missing:?}");
}

#[tokio::test]
async fn a_closed_port_is_down_with_the_reason() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = prober(vec![]).probe(&http(format!("http://127.0.0.1:{port}/"), json!({}))).await;
    assert!(!out.up);
    let error = out.error.unwrap();
    assert!(error.starts_with("connect") && error.to_lowercase().contains("refused"), "{error}");
}

/// An HTTPS server that speaks HTTP/2 only (ALPN `h2`, as many CDNs prefer): answers every request
/// with `200` and a body naming the version and path it saw (`HTTP/2.0 /path`).
async fn h2_server(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> std::net::SocketAddr {
    use http_body_util::Full;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let service = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let text = format!("{:?} {}", req.version(), req.uri().path());
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(bytes::Bytes::from(text))))
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}
