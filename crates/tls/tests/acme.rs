//! ACME against Debian's pebble on loopback: issuance for an IP identifier and for a DNS name (resolved
//! by pebble-challtestsrv) with each challenge type, answered by the crate's own resolver and http-01
//! code; renewal with a short validity under a stream of handshakes; the CA going down; restarts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::*;
use jiff::{SignedDuration, Timestamp};
use tls::{Challenge, HubTrust, State, Tls};

/// Issues for `identifiers` with `challenge` and checks the certificate served on the HTTPS port.
async fn issue(test: &str, identifiers: &[&str], challenge: Challenge, server_name: &str) {
    let Some(mut pebble) = Pebble::start(test, None).await else { return };
    let data = tempfile::tempdir().unwrap();
    let tls = Tls::new(acme_settings(&pebble, identifiers, challenge), data.path(), fast_options()).await.unwrap();
    assert_eq!(tls.status().state, State::Missing);
    let tls_listener = pebble.tls_listener.take().unwrap();
    let https = tls_listener.local_addr().unwrap();
    let stop = run(&tls);
    serve_https(tls_listener, &tls, stop.clone());
    serve_http(pebble.http_listener.take().unwrap(), &tls, https.port(), stop.clone());

    let status = wait_for_serial(&tls, None).await;
    assert_eq!(status.state, State::Ok, "{status:?}");
    // The CA orders the names in the certificate as it likes.
    let (mut have, mut want) = (status.identifiers.clone(), identifiers.to_vec());
    have.sort();
    want.sort();
    assert_eq!(have, want, "{status:?}");
    assert!(status.issuer.as_deref().unwrap().contains("Pebble"), "{status:?}");
    assert_eq!(status.renewals_succeeded, 1);
    assert!(status.next_renewal.unwrap() > Timestamp::now());

    // The HTTPS port serves it, verified against pebble's issuing root.
    let root = pebble.issuing_root().await;
    let served = served_cert(https, server_name, &HubTrust::CaFile(root)).await.unwrap();
    assert_eq!(tls::describe(&served).unwrap().serial, status.serial.unwrap());
    // No challenge is left behind.
    assert!(!tls.challenges().has_alpn());
    stop.cancel();
    if std::thread::panicking() {
        eprintln!("{}", pebble.log());
    }
}

#[tokio::test]
async fn an_ip_identifier_with_tls_alpn_01() {
    issue("an_ip_identifier_with_tls_alpn_01", &["127.0.0.1"], Challenge::TlsAlpn01, "127.0.0.1").await;
}

#[tokio::test]
async fn an_ip_identifier_with_http_01() {
    issue("an_ip_identifier_with_http_01", &["127.0.0.1"], Challenge::Http01, "127.0.0.1").await;
}

#[tokio::test]
async fn a_dns_name_with_tls_alpn_01() {
    issue("a_dns_name_with_tls_alpn_01", &["hub.test"], Challenge::TlsAlpn01, "hub.test").await;
}

#[tokio::test]
async fn a_dns_name_and_an_ip_with_http_01() {
    issue("a_dns_name_and_an_ip_with_http_01", &["hub.test", "127.0.0.1"], Challenge::Http01, "hub.test").await;
}

#[tokio::test]
async fn renewal_swaps_in_a_new_serial_without_failing_a_handshake() {
    let test = "renewal_swaps_in_a_new_serial_without_failing_a_handshake";
    // 30-second certificates: renewal is due 20 seconds in.
    let Some(mut pebble) = Pebble::start(test, Some(30)).await else { return };
    let data = tempfile::tempdir().unwrap();
    let tls = Tls::new(acme_settings(&pebble, &["127.0.0.1"], Challenge::TlsAlpn01), data.path(), fast_options())
        .await
        .unwrap();
    let tls_listener = pebble.tls_listener.take().unwrap();
    let https = tls_listener.local_addr().unwrap();
    let stop = run(&tls);
    let handshaker = serve_https(tls_listener, &tls, stop.clone());
    let first = wait_for_serial(&tls, None).await;
    let root = pebble.issuing_root().await;

    // A client making new verified connections the whole time.
    let (ok, failed, done) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let load = {
        let (ok, failed, done, root) = (ok.clone(), failed.clone(), done.clone(), root.clone());
        tokio::spawn(async move {
            let mut serials = Vec::new();
            while !done.load(Ordering::Relaxed) {
                match served_cert(https, "127.0.0.1", &HubTrust::CaFile(root.clone())).await {
                    Ok(der) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        let serial = tls::describe(&der).unwrap().serial;
                        if serials.last() != Some(&serial) {
                            serials.push(serial);
                        }
                    }
                    Err(e) => {
                        eprintln!("handshake failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            serials
        })
    };
    let second = wait_for_serial(&tls, first.serial.as_deref()).await;
    // Handshakes that start after the swap see the new certificate.
    let before = ok.load(Ordering::Relaxed);
    wait_for("more handshakes after the swap", async || (ok.load(Ordering::Relaxed) > before + 5).then_some(())).await;
    done.store(true, Ordering::Relaxed);
    let serials = load.await.unwrap();

    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed handshakes during renewal");
    assert!(serials.len() >= 2, "the client saw one serial only: {serials:?}");
    assert_eq!(serials[0], first.serial.unwrap());
    assert!(second.renewals_succeeded >= 2);
    assert_eq!(handshaker.stats().failed.load(Ordering::Relaxed), 0);
    stop.cancel();
}

#[tokio::test]
async fn a_ca_that_is_down_leaves_the_old_certificate_in_service() {
    let test = "a_ca_that_is_down_leaves_the_old_certificate_in_service";
    // 9-second certificates: renewal is due 6 seconds in, when the CA is already gone.
    let Some(mut pebble) = Pebble::start(test, Some(9)).await else { return };
    let data = tempfile::tempdir().unwrap();
    let settings = acme_settings(&pebble, &["127.0.0.1"], Challenge::TlsAlpn01);
    let tls = Tls::new(settings.clone(), data.path(), fast_options()).await.unwrap();
    let tls_listener = pebble.tls_listener.take().unwrap();
    let https = tls_listener.local_addr().unwrap();
    let stop = run(&tls);
    serve_https(tls_listener, &tls, stop.clone());
    let first = wait_for_serial(&tls, None).await;
    pebble.stop();

    let failing = wait_for("a failed renewal", async || {
        let s = tls.status();
        (s.renewals_failed > 0).then_some(s)
    })
    .await;
    assert_eq!(failing.serial, first.serial, "the old certificate stays in service");
    assert!(failing.last_error.is_some());
    let pin = HubTrust::PinSha256(first.sha256.clone().unwrap());
    let served = served_cert(https, "127.0.0.1", &pin).await.unwrap();
    assert_eq!(tls::fingerprint(&served), first.sha256.clone().unwrap());
    // The state is judged against the time: with a third left it says renewal-failing, after
    // notAfter expired.
    let not_after = first.not_after.unwrap();
    let in_last_third = not_after.checked_sub(SignedDuration::from_secs(1)).unwrap();
    assert_eq!(tls.status_at(in_last_third).state, State::RenewalFailing);
    assert_eq!(tls.status_at(not_after).state, State::Expired);
    stop.cancel();

    // The files are what a restart (or a SIGUSR2 successor) and `openmanager tls status` read.
    let offline = tls::offline_status(&settings, data.path());
    assert_eq!(offline.serial, first.serial);
    assert!(offline.renewals_failed > 0 && offline.last_error.is_some(), "{offline:?}");
    let restarted = Tls::new(settings, data.path(), fast_options()).await.unwrap();
    assert_eq!(restarted.status().serial, first.serial);
    assert!(restarted.status().renewals_failed > 0);
}

#[tokio::test]
async fn a_restart_reuses_the_account_and_certificate() {
    let test = "a_restart_reuses_the_account_and_certificate";
    let Some(mut pebble) = Pebble::start(test, None).await else { return };
    let data = tempfile::tempdir().unwrap();
    let settings = acme_settings(&pebble, &["127.0.0.1"], Challenge::Http01);
    let tls = Tls::new(settings.clone(), data.path(), fast_options()).await.unwrap();
    let https_port = pebble.tls_listener.as_ref().unwrap().local_addr().unwrap().port();
    let stop = run(&tls);
    serve_http(pebble.http_listener.take().unwrap(), &tls, https_port, stop.clone());
    let first = wait_for_serial(&tls, None).await;
    stop.cancel();
    let account = std::fs::read(data.path().join("tls/account.json")).unwrap();
    // With the CA gone, any attempt to order again would show as a failure.
    pebble.stop();

    // Same data directory: the certificate is served at once, nothing is ordered again.
    let again = Tls::new(settings, data.path(), fast_options()).await.unwrap();
    assert_eq!(again.status().serial, first.serial);
    assert!(again.resolver().current().is_some());
    let (stop, beats) = run_counting(&again);
    // Two heartbeats: one whole pass of the loop (which orders at once when the certificate does
    // not fit) has run.
    wait_for("a full pass of the task", async || (beats.load(Ordering::Relaxed) >= 2).then_some(())).await;
    let status = again.status();
    assert_eq!((status.renewals_succeeded, status.renewals_failed), (1, 0), "{status:?}");
    assert_eq!(status.state, State::Ok);
    assert_eq!(std::fs::read(data.path().join("tls/account.json")).unwrap(), account);
    stop.cancel();
    for name in ["account.json", "acme-cert.pem", "acme-key.pem", "state.json"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(data.path().join("tls").join(name)).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[tokio::test]
async fn changed_identifiers_order_a_new_certificate_at_once() {
    let test = "changed_identifiers_order_a_new_certificate_at_once";
    let Some(mut pebble) = Pebble::start(test, None).await else { return };
    let data = tempfile::tempdir().unwrap();
    let https_port = pebble.tls_listener.as_ref().unwrap().local_addr().unwrap().port();
    let tls =
        Tls::new(acme_settings(&pebble, &["127.0.0.1"], Challenge::Http01), data.path(), fast_options()).await.unwrap();
    let stop = run(&tls);
    let http_stop = tokio_util::sync::CancellationToken::new();
    // One plain-HTTP port for both managers: it answers from whichever manager `current` holds.
    let (tx, rx) = tokio::sync::watch::channel(tls.clone());
    serve_http_switchable(pebble.http_listener.take().unwrap(), rx, https_port, http_stop.clone());
    let first = wait_for_serial(&tls, None).await;
    stop.cancel();

    let wider =
        Tls::new(acme_settings(&pebble, &["127.0.0.1", "hub.test"], Challenge::Http01), data.path(), fast_options())
            .await
            .unwrap();
    // The old certificate is served until the new one is there.
    assert_eq!(wider.status().serial, first.serial);
    tx.send(wider.clone()).unwrap();
    let stop = run(&wider);
    let second = wait_for_serial(&wider, first.serial.as_deref()).await;
    let mut ids = second.identifiers.clone();
    ids.sort();
    assert_eq!(ids, ["127.0.0.1", "hub.test"]);
    assert_eq!(second.renewals_succeeded, 2);
    stop.cancel();
    http_stop.cancel();
}

/// An HTTPS server (trusted through a test CA) that answers every request with `status` and `body`.
async fn broken_ca(status: &'static str, body: &'static str) -> (String, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ca = mini_ca();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let key =
        tls::load_pair(ca.leaf_pem.as_bytes(), ca.leaf_key_pem.as_bytes(), &rustls::crypto::ring::default_provider())
            .unwrap()
            .key;
    let resolver = Arc::new(tls::Resolver::new(Arc::default()));
    resolver.set(key);
    let handshaker = Arc::new(tls::Handshaker::new(
        tls::server_config(resolver, false).unwrap(),
        443,
        tls::HandshakeLimits::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://127.0.0.1:{}/dir", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let hs = handshaker.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                if let Ok(tls::Accepted::Tls(mut s)) = hs.accept_tcp(tcp).await {
                    let _ = tls::read_head(&mut s, 8192).await;
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/problem+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(answer.as_bytes()).await;
                    let _ = s.shutdown().await;
                }
            });
        }
    });
    (url, ca_file, dir)
}

#[tokio::test]
async fn a_ca_that_answers_errors_or_is_unreachable_is_a_failure_with_a_reason() {
    let data = tempfile::tempdir().unwrap();
    let problem = r#"{"type":"urn:ietf:params:acme:error:serverInternal","detail":"boom"}"#;
    let (url, ca_file, _dir) = broken_ca("500 Internal Server Error", problem).await;
    let mut cases = vec![(url, ca_file.clone(), "answered 500")];
    let (junk_url, junk_ca, _junk_dir) = broken_ca("200 OK", "this is not a directory").await;
    cases.push((junk_url, junk_ca, "JSON"));
    cases.push((format!("https://127.0.0.1:{}/dir", free_tcp_port()), ca_file, "connect"));
    for (url, ca, expected) in cases {
        let settings = tls::Settings {
            mode: tls::Mode::Acme,
            directory_url: url.clone(),
            identifiers: vec!["127.0.0.1".into()],
            ca_roots: vec![ca],
            ..tls::Settings::default()
        };
        let dir = tempfile::tempdir_in(data.path()).unwrap();
        let tls = Tls::new(settings, dir.path(), fast_options()).await.unwrap();
        let (stop, beats, task) = run_joinable(&tls);
        let status = wait_for("a failed attempt", async || {
            let s = tls.status();
            (s.renewals_failed >= 2).then_some(s)
        })
        .await;
        assert_eq!(status.state, State::Missing, "{url}: {status:?}");
        assert!(status.last_error.as_deref().is_some_and(|e| e.contains(expected)), "{url}: {status:?}");
        assert!(beats.load(Ordering::Relaxed) > 0);
        // Stopping ends the task.
        stop.cancel();
        tokio::time::timeout(DEADLINE, task).await.expect("the task did not stop").unwrap().unwrap();
    }
}

#[tokio::test]
async fn two_processes_on_one_data_directory_order_once() {
    // As during a SIGUSR2 hand-over: predecessor and successor run at the same time on the same files.
    let test = "two_processes_on_one_data_directory_order_once";
    let Some(mut pebble) = Pebble::start(test, None).await else { return };
    let data = tempfile::tempdir().unwrap();
    let settings = acme_settings(&pebble, &["127.0.0.1"], Challenge::Http01);
    let a = Tls::new(settings.clone(), data.path(), fast_options()).await.unwrap();
    let b = Tls::new(settings, data.path(), fast_options()).await.unwrap();
    // One plain-HTTP port answering from either (only the one holding the lock has a challenge).
    let listener = pebble.http_listener.take().unwrap();
    let (ca, cb) = (a.clone(), b.clone());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let (ca, cb) = (ca.clone(), cb.clone());
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let head = tls::read_head(&mut tcp, 8192).await.unwrap_or_default();
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("/");
                let answer = match ca.http01_response(path).or_else(|| cb.http01_response(path)) {
                    Some(body) => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
                    None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
                };
                let _ = tcp.write_all(answer.as_bytes()).await;
            });
        }
    });
    let (stop_a, stop_b) = (run(&a), run(&b));
    let sa = wait_for_serial(&a, None).await;
    let sb = wait_for_serial(&b, None).await;
    assert_eq!(sa.serial, sb.serial);
    // Orders pebble made, not POSTs to its order URL: pebble refuses 5% of good nonces on purpose,
    // and the client then sends the same POST again (seen: two POSTs, one order).
    let orders = pebble.log().matches("Added order").count();
    assert_eq!(orders, 1, "{}", pebble.log());
    stop_a.cancel();
    stop_b.cancel();
}
