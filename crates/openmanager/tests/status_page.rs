//! The public status page as visitors get it, against the real binary: a plain GET is answered
//! before routing from the page kept in memory (`http::short_path`), so these check that the short
//! path and the router give one answer (the same bytes in every coding, the same `ETag` and
//! headers), that the kept page follows what it shows (a listed check going down, a check no longer
//! listed, the page turned off), and that the short path keeps what the layers give every request
//! (rate limit, request id, counts, egress per route group).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::time::Duration;

use common::{ADMIN_TOKEN, Server, assert_envelope, poll};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// Sends a request the router must answer: an `Origin` is for the CORS layer, so the short path
/// leaves it alone (and no allowed origins are configured, so no CORS header comes back).
const ROUTED: (&str, &str) = ("origin", "https://elsewhere.example");

async fn settings(s: &Server, body: Value) {
    let res = s.client().patch(s.url("/api/status-page")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// A TCP check on `addr`, run by hand only; returns its id.
async fn tcp_check(s: &Server, name: &str, addr: std::net::SocketAddr) -> String {
    let body =
        json!({"name": name, "kind": "tcp", "target": addr.to_string(), "intervalSeconds": 3600, "timeoutMs": 2000});
    let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    v["data"]["id"].as_str().unwrap().to_string()
}

async fn run(s: &Server, id: &str) -> String {
    let res = s.client().post(s.url(&format!("/api/checks/{id}/run"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    v["data"]["state"]["status"].as_str().unwrap().to_string()
}

/// One answer: status, headers and the body decoded from its `Content-Encoding`.
async fn fetch(s: &Server, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = s.get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let raw = res.bytes().await.unwrap();
    let mut body = Vec::new();
    match headers.get("content-encoding").map(|v| v.to_str().unwrap()) {
        Some("gzip") => {
            flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut body).unwrap();
        }
        Some("br") => brotli::BrotliDecompress(&mut &raw[..], &mut body).unwrap(),
        None => body = raw.to_vec(),
        Some(other) => panic!("unexpected coding {other}"),
    }
    (status, headers, body)
}

async fn page(s: &Server) -> Value {
    let (status, _, body) = fetch(s, "/status.json", &[]).await;
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn every_coding_and_both_paths_give_one_answer() {
    let s = Server::builder().config("[simulation]\nenabled = false\n").start_async().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let id = tcp_check(&s, "Public API", listener.local_addr().unwrap()).await;
    assert_eq!(run(&s, &id).await, "up");
    settings(&s, json!({"enabled": true, "title": "Acme", "checks": [id]})).await;

    for (path, kind) in [("/status", "text/html; charset=utf-8"), ("/status.json", "application/json")] {
        let (_, plain_headers, plain) = fetch(&s, path, &[]).await;
        assert!(!plain.is_empty());
        let etag = plain_headers["etag"].clone();
        let variants: [&[(&str, &str)]; 5] = [
            &[("accept-encoding", "gzip")],
            &[("accept-encoding", "gzip, deflate, br, zstd")],
            &[("accept-encoding", "br;q=0, gzip")],
            &[ROUTED],
            &[ROUTED, ("accept-encoding", "gzip, br")],
        ];
        for headers in variants {
            let (status, h, body) = fetch(&s, path, headers).await;
            assert_eq!(status, 200, "{path} {headers:?}");
            assert_eq!(body, plain, "{path} {headers:?}: the same page");
            assert_eq!(h["etag"], etag, "{path} {headers:?}");
            assert_eq!(h["content-type"], kind);
            assert_eq!(h["vary"], "accept-encoding");
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["cache-control"], "public, max-age=30");
            assert!(h.contains_key("x-request-id"));
            assert_eq!(h.contains_key("content-security-policy"), path == "/status", "{path}");
            let expected = match headers.iter().find(|(k, _)| *k == "accept-encoding").map(|(_, v)| *v) {
                Some("gzip") | Some("br;q=0, gzip") => Some("gzip"),
                Some(_) => Some("br"),
                None => None,
            };
            assert_eq!(h.get("content-encoding").map(|v| v.to_str().unwrap()), expected, "{path} {headers:?}");
        }
        // The same tag answers 304 on either path, with the tag again.
        let tag = etag.to_str().unwrap();
        for extra in [&[][..], &[ROUTED][..]] {
            let mut headers = vec![("if-none-match", tag)];
            headers.extend_from_slice(extra);
            let (status, h, body) = fetch(&s, path, &headers).await;
            assert_eq!((status, body.len()), (304, 0), "{path} {extra:?}");
            assert_eq!(h["etag"], etag);
        }
    }
    // The policy lets the page's one inline style in, and nothing else.
    let (_, h, html) = fetch(&s, "/status", &[]).await;
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"), "{csp}");
    assert!(String::from_utf8(html).unwrap().contains("<style>"));
}

#[tokio::test]
async fn the_kept_page_follows_what_it_shows() {
    let s = Server::builder().config("[simulation]\nenabled = false\n").start_async().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let shown = tcp_check(&s, "Payments", addr).await;
    let hidden = tcp_check(&s, "Internal billing", addr).await;
    assert_eq!(run(&s, &shown).await, "up");
    assert_eq!(run(&s, &hidden).await, "up");

    // Off by default: 404 on both paths, before and after it has been on.
    for headers in [&[][..], &[ROUTED][..]] {
        for path in ["/status", "/status.json"] {
            let res = s.get(path).headers(pairs(headers)).send().await.unwrap();
            assert_envelope(res, 404, "NOT_FOUND").await;
        }
    }
    settings(&s, json!({"enabled": true, "title": "Acme", "checks": [shown, hidden]})).await;
    let before = page(&s).await;
    assert_eq!(before["status"], "operational", "{before}");
    let (_, h, _) = fetch(&s, "/status.json", &[]).await;
    let old_tag = h["etag"].to_str().unwrap().to_string();

    // A listed check goes down: the page served changes (at once after a run), and the old tag
    // no longer answers 304.
    drop(listener);
    assert_eq!(run(&s, &shown).await, "down");
    let after = poll("the page to show the outage", Duration::from_secs(20), async || {
        let p = page(&s).await;
        (p["status"] == "outage").then_some(p)
    })
    .await;
    assert_eq!(after["items"][0]["status"], "down", "{after}");
    let (status, h, html) = fetch(&s, "/status", &[("if-none-match", &old_tag), ("accept-encoding", "br")]).await;
    assert_eq!(status, 200);
    assert_ne!(h["etag"].to_str().unwrap(), old_tag);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("Some systems are down") && html.contains("Payments is down"), "{html}");

    // Listed no more: gone from every form and coding at once.
    settings(&s, json!({"checks": [shown]})).await;
    for path in ["/status", "/status.json"] {
        for headers in [&[][..], &[("accept-encoding", "gzip")][..], &[("accept-encoding", "br")][..], &[ROUTED][..]] {
            let (status, _, body) = fetch(&s, path, headers).await;
            assert_eq!(status, 200);
            let text = String::from_utf8(body).unwrap();
            for leak in ["Internal billing", hidden.as_str(), shown.as_str(), "127.0.0.1"] {
                assert!(!text.contains(leak), "{path} {headers:?}: `{leak}` leaked");
            }
            assert!(text.contains("Payments"));
        }
    }

    // Turned off: the kept page is dropped, both paths answer 404 again.
    settings(&s, json!({"enabled": false})).await;
    for headers in [&[][..], &[ROUTED][..]] {
        for path in ["/status", "/status.json"] {
            let res = s.get(path).headers(pairs(headers)).send().await.unwrap();
            assert_envelope(res, 404, "NOT_FOUND").await;
        }
    }
}

fn pairs(headers: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    map
}

/// A counter's value in the Prometheus text (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn the_short_path_is_counted_and_limited_like_any_request() {
    let s = Server::builder()
        .config("[simulation]\nenabled = false\n[status_page]\nenabled = true\ntitle = \"Counted\"\n")
        .start_async()
        .await;
    poll("the page to be built", Duration::from_secs(20), async || {
        (s.get("/status").send().await.unwrap().status() == 200).then_some(())
    })
    .await;
    let egress = async || -> u64 {
        let b: Value = s.get_auth("/api/budget").send().await.unwrap().json().await.unwrap();
        b["data"]["egress"]["byRoute"]["status"].as_u64().unwrap()
    };
    let before = egress().await;
    let (_, _, html) = fetch(&s, "/status", &[]).await;
    let n = 20;
    for _ in 0..n {
        assert_eq!(s.get("/status").send().await.unwrap().status(), 200);
    }
    let counted = egress().await - before;
    // Each answer: its body and at least a status line and a few headers.
    assert!(counted > (n + 1) * (html.len() as u64 + 100), "{counted} bytes for {} answers of {}", n + 1, html.len());

    let prom = s.get("/metrics").header("x-api-key", ADMIN_TOKEN).send().await.unwrap().text().await.unwrap();
    let served = sample(&prom, "openmanager_http_requests_total{method=\"GET\",route=\"/status\",status=\"200\"}");
    assert!(served >= (n + 2) as f64, "{served}");

    // Rate limited per client like the rest of the API (health is the only exemption).
    let s = Server::builder()
        .config("[status_page]\nenabled = true\ntitle = \"Limited\"\n[rate_limit]\nper_minute = 60\nburst = 3\n")
        .start_async()
        .await;
    // Built (a refusal meanwhile is not yet a proof: the page may not have been on the short path).
    poll("the page to be built", Duration::from_secs(30), async || {
        (s.get("/status.json").send().await.unwrap().status() == 200).then_some(())
    })
    .await;
    let mut refused = None;
    // A burst of 3 at one a second: 100 in a row are refused long before they are all sent.
    for _ in 0..100 {
        let res = s.get("/status.json").send().await.unwrap();
        if res.status() == 429 {
            refused = Some(res);
            break;
        }
        assert_eq!(res.status(), 200);
    }
    let refused = refused.expect("100 requests in a row exceed a burst of 3");
    assert!(refused.headers().contains_key("x-request-id"));
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_envelope(refused, 429, "RATE_LIMITED").await;
}
