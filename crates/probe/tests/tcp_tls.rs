//! `tcp` checks against a listener that stops, and `tls` checks against servers with certificates
//! generated here: valid, expiring within warnDays, expired, and from an unknown CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{DAY, TestCa, check, prober, tls_server};
use serde_json::json;

#[tokio::test]
async fn tcp_is_up_while_the_listener_accepts_and_down_after() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let c = check(json!({"kind": "tcp", "target": addr.to_string(), "timeoutMs": 2000}));
    let p = prober(vec![]);
    let up = p.probe(&c).await;
    assert!(up.up, "{up:?}");
    assert!(up.error.is_none() && up.status_code.is_none());

    drop(listener);
    let down = p.probe(&c).await;
    assert!(!down.up);
    assert_eq!(down.error.as_deref(), Some(format!("connect to {addr}: connection refused").as_str()));
}

#[tokio::test]
async fn tcp_to_a_name_resolves_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = prober(vec![]).probe(&check(json!({"kind": "tcp", "target": format!("localhost:{port}")}))).await;
    // localhost may resolve to ::1 first; the probe tries the next address.
    assert!(out.up, "{out:?}");
}

fn tls(port: u16, warn_days: u32) -> probe::Check {
    check(
        json!({"kind": "tls", "target": format!("localhost:{port}"), "timeoutMs": 5000, "tls": {"warnDays": warn_days}}),
    )
}

#[tokio::test]
async fn a_valid_certificate_is_up_with_its_days_left() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(-DAY, 90 * DAY + 3600);
    let addr = tls_server(chain, key).await;
    let out = prober(vec![ca.der()]).probe(&tls(addr.port(), 14)).await;
    assert!(out.up, "{out:?}");
    assert_eq!(out.cert_days_left, Some(90));
    assert_eq!(out.cert_verified, Some(true));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let not_after = out.cert_not_after.unwrap();
    assert!((not_after - (now + 90 * DAY + 3600)).abs() <= 5, "{not_after}");
}

#[tokio::test]
async fn an_expiring_certificate_is_down_within_warn_days() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(-DAY, 5 * DAY + 3600);
    let addr = tls_server(chain, key).await;
    let p = prober(vec![ca.der()]);
    let out = p.probe(&tls(addr.port(), 14)).await;
    assert!(!out.up);
    assert_eq!((out.cert_days_left, out.cert_verified), (Some(5), Some(true)));
    assert_eq!(out.error.as_deref(), Some("the certificate expires in 5 days (warnDays 14)"));
    // With a smaller margin the same certificate is fine.
    assert!(p.probe(&tls(addr.port(), 3)).await.up);
}

#[tokio::test]
async fn an_expired_certificate_is_down_and_still_read() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(-30 * DAY, -2 * DAY - 3600);
    let addr = tls_server(chain, key).await;
    let out = prober(vec![ca.der()]).probe(&tls(addr.port(), 0)).await;
    assert!(!out.up);
    assert_eq!((out.cert_days_left, out.cert_verified), (Some(-3), Some(false)));
    let error = out.error.unwrap();
    assert!(error.starts_with("the certificate does not verify") && error.contains("expired"), "{error}");
}

#[tokio::test]
async fn an_unknown_issuer_does_not_verify() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(-DAY, 60 * DAY + 3600);
    let addr = tls_server(chain, key).await;
    let out = prober(vec![TestCa::new().der()]).probe(&tls(addr.port(), 14)).await;
    assert!(!out.up);
    assert_eq!((out.cert_days_left, out.cert_verified), (Some(60), Some(false)));
    assert!(out.error.as_deref().unwrap().contains("UnknownIssuer"), "{out:?}");
    // No roots at all: the reason says what is missing.
    let none = prober(vec![]).probe(&tls(addr.port(), 14)).await;
    assert!(none.error.as_deref().unwrap().contains("install ca-certificates"), "{none:?}");
}

#[tokio::test]
async fn a_server_that_speaks_no_tls_fails_the_handshake() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        }
    });
    let out = prober(vec![]).probe(&tls(port, 14)).await;
    assert!(!out.up);
    assert!(out.error.as_deref().unwrap().starts_with(&format!("TLS handshake with localhost:{port}")), "{out:?}");
    assert!(out.cert_days_left.is_none());
}
