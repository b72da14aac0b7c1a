//! `files` mode on real files and a real TLS port: a changed pair is picked up without a restart and
//! without dropping an established connection; a bad pair (mismatched key, garbage, an expired
//! certificate) keeps the current one and says why; unusable files at start are a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use rcgen::{CertificateParams, KeyPair};
use tls::{HubTrust, Mode, Settings, State, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A self-signed pair for 127.0.0.1 (PEM), optionally with validity in the past.
fn pair(expired: bool) -> (String, String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 6, 1);
    }
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem(), tls::fingerprint(cert.der()))
}

fn settings(dir: &Path) -> Settings {
    Settings {
        mode: Mode::Files,
        cert_path: Some(dir.join("cert.pem")),
        key_path: Some(dir.join("key.pem")),
        ..Settings::default()
    }
}

fn install(dir: &Path, cert: &str, key: &str) {
    // As an operator's tool would: key, then certificate.
    write(&dir.join("key.pem"), key);
    write(&dir.join("cert.pem"), cert);
}

#[tokio::test]
async fn a_new_pair_is_served_without_a_restart_or_a_dropped_connection() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (cert_a, key_a, fp_a) = pair(false);
    install(files.path(), &cert_a, &key_a);
    let tls = Tls::new(settings(files.path()), data.path(), fast_options()).await.unwrap();
    assert_eq!(tls.status().sha256.as_deref(), Some(fp_a.as_str()));
    assert_eq!(tls.status().state, State::Ok);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, _) = run_counting(&tls);
    serve_https(listener, &tls, stop.clone());

    // A connection established before the swap...
    let config = tls::client_config(&HubTrust::PinSha256(fp_a.clone())).unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut early = connector.connect("127.0.0.1".try_into().unwrap(), tcp).await.unwrap();

    let (cert_b, key_b, fp_b) = pair(false);
    install(files.path(), &cert_b, &key_b);
    let status = wait_for("the reload", async || {
        let s = tls.status();
        (s.sha256.as_deref() == Some(fp_b.as_str())).then_some(s)
    })
    .await;
    assert_eq!(status.reloads, 1);
    assert_eq!(
        tls::fingerprint(&served_cert(addr, "127.0.0.1", &HubTrust::PinSha256(fp_b.clone())).await.unwrap()),
        fp_b
    );

    // ...still works after it.
    early.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    early.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    stop.cancel();
}

#[tokio::test]
async fn a_bad_pair_keeps_the_current_certificate_and_says_why() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (cert_a, key_a, fp_a) = pair(false);
    install(files.path(), &cert_a, &key_a);
    let tls = Tls::new(settings(files.path()), data.path(), fast_options()).await.unwrap();
    let (stop, _) = run_counting(&tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    serve_https(listener, &tls, stop.clone());

    let kept = async |expect: &str| {
        let status = wait_for(expect, async || {
            let s = tls.status();
            s.last_error.as_deref().is_some_and(|e| e.contains(expect)).then_some(s)
        })
        .await;
        assert_eq!(status.sha256.as_deref(), Some(fp_a.as_str()), "{status:?}");
        let served = served_cert(addr, "127.0.0.1", &HubTrust::PinSha256(fp_a.clone())).await.unwrap();
        assert_eq!(tls::fingerprint(&served), fp_a);
    };

    // A certificate with someone else's key.
    let (cert_b, _, _) = pair(false);
    let (_, key_c, _) = pair(false);
    install(files.path(), &cert_b, &key_c);
    kept("does not match").await;
    // Garbage.
    install(files.path(), "not a certificate", &key_a);
    kept("no PEM certificate").await;
    // An expired certificate while the current one is valid.
    let (cert_old, key_old, _) = pair(true);
    install(files.path(), &cert_old, &key_old);
    kept("expired").await;
    // A missing file.
    std::fs::remove_file(files.path().join("key.pem")).unwrap();
    kept("cannot read").await;

    // A good pair again is taken.
    let (cert_d, key_d, fp_d) = pair(false);
    install(files.path(), &cert_d, &key_d);
    wait_for("the good pair", async || (tls.status().sha256.as_deref() == Some(fp_d.as_str())).then_some(())).await;
    assert_eq!(tls.status().last_error, None);
    stop.cancel();
}

#[tokio::test]
async fn unusable_files_at_start_are_an_error_naming_the_key() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let err = Tls::new(settings(files.path()), data.path(), fast_options()).await.err().unwrap().to_string();
    assert!(err.starts_with("tls.cert_path: cannot read"), "{err}");
    let (cert, _, _) = pair(false);
    let (_, other_key, _) = pair(false);
    install(files.path(), &cert, &other_key);
    let err = Tls::new(settings(files.path()), data.path(), fast_options()).await.err().unwrap().to_string();
    assert!(err.contains("tls.cert_path") && err.contains("does not match"), "{err}");
    let missing_key = Settings { key_path: None, ..settings(files.path()) };
    let err = Tls::new(missing_key, data.path(), fast_options()).await.err().unwrap().to_string();
    assert!(err.starts_with("tls.key_path:"), "{err}");
}

#[tokio::test]
async fn an_expired_pair_at_start_is_served_and_reported_expired() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (cert, key, fp) = pair(true);
    install(files.path(), &cert, &key);
    let tls = Tls::new(settings(files.path()), data.path(), fast_options()).await.unwrap();
    let status = tls.status();
    assert_eq!(status.state, State::Expired);
    assert_eq!(status.sha256, Some(fp));
    assert_eq!(status.expiry_timestamp_seconds(), Some(jiff::Timestamp::from_second(1590969600).unwrap().as_second()));
    assert_eq!(tls::offline_status(&settings(files.path()), data.path()).state, State::Expired);
}
