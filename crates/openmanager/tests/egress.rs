//! End-to-end tests of the hub's egress economy on HTTP: `ETag` and `304 Not Modified` on the reads
//! the web app polls, with `Cache-Control` per route (the WebSocket side is in `ws.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Server;

#[tokio::test]
async fn an_unchanged_answer_costs_a_304_without_a_body() {
    let s = Server::builder().start_async().await;
    let first = s.get_auth("/api/alerts").send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let body = first.text().await.unwrap();
    assert!(body.contains("\"success\":true"));
    // The envelope's timestamp moves between the two calls; the data does not.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = s.get_auth("/api/alerts").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    // Another tag gets the full answer.
    let other = s.get_auth("/api/alerts").header("if-none-match", "W/\"other\"").send().await.unwrap();
    assert_eq!(other.status(), 200);
    // Routes that are not polled reads carry no tag; errors carry none either.
    let health = s.get("/api/health").send().await.unwrap();
    assert!(health.headers().get("etag").is_none());
    let missing = s.get_auth("/api/servers/ghost").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("etag").is_none());
    let history = s.get_auth("/api/metrics/history?serverId=web-01").send().await.unwrap();
    if history.status() == 200 {
        assert_eq!(history.headers()["cache-control"], "private, max-age=15");
    }
}

#[tokio::test]
async fn the_budget_shows_where_the_hubs_egress_goes() {
    use futures_util::StreamExt;
    let s = Server::builder().start_async().await;
    let url = format!("ws://{}/ws?token={}&topics=fleet", s.addr, common::ADMIN_TOKEN);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // hello and the fleet snapshot.
    let mut received = 0;
    for _ in 0..2 {
        let m = tokio::time::timeout(std::time::Duration::from_secs(15), ws.next()).await.unwrap().unwrap().unwrap();
        received += m.len();
    }
    for _ in 0..3 {
        assert_eq!(s.get_auth("/api/servers").send().await.unwrap().status(), 200);
    }
    let budget: serde_json::Value = s.get_auth("/api/budget").send().await.unwrap().json().await.unwrap();
    let egress = &budget["data"]["egress"];
    let fleet = egress["byTopic"]["fleet"].as_u64().unwrap();
    let control = egress["byTopic"]["control"].as_u64().unwrap();
    // Frame headers on top of the payloads the client got.
    assert!(fleet + control >= received as u64 && fleet + control < received as u64 + 64, "{egress}");
    assert!(egress["byRoute"]["servers"].as_u64().unwrap() > 3 * 200, "{egress}");
    assert_eq!(egress["byTopic"]["system"], 0, "not subscribed");
    assert!(egress["hubBytes"].as_u64().unwrap() >= fleet + control);
    assert!(egress["hubCountedSince"].is_string());
    let prom = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(prom.contains("openmanager_egress_bytes_total{kind=\"topic\",name=\"fleet\"}"), "{prom}");
}

#[tokio::test]
async fn the_egress_guard_slows_live_rates_and_says_so() {
    use futures_util::StreamExt;
    // 10% of 20 kB: the first snapshots the hub sends put the month past the guard.
    let s =
        Server::builder().config("[budget]\negress_limit_bytes = 20000\negress_guard_percent = 10").start_async().await;
    let url = format!("ws://{}/ws?token={}&topics=fleet", s.addr, common::ADMIN_TOKEN);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let notice = loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(15), ws.next()).await.unwrap().unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
        if v["type"] == "notice" {
            break v;
        }
    };
    assert_eq!(notice["data"]["code"], "egress_guard");
    assert_eq!(notice["data"]["active"], true);
    assert_eq!(notice["data"]["level"], "warning");
    let budget: serde_json::Value = s.get_auth("/api/budget").send().await.unwrap().json().await.unwrap();
    let guard = &budget["data"]["egress"]["guard"];
    assert_eq!(guard["active"], true, "{guard}");
    assert_eq!(guard["thresholdPercent"], 10.0);
    assert_eq!(guard["fleetIntervalMs"], 30000);
    assert_eq!(guard["liveIntervalMs"], 5000);
    // A client connecting now hears it at once, with the slower rates in its hello.
    let url = format!("ws://{}/ws?token={}&topics=", s.addr, common::ADMIN_TOKEN);
    let (mut late, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello: serde_json::Value =
        serde_json::from_str(late.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(hello["data"]["overviewIntervalMs"], 30000);
    let told: serde_json::Value = serde_json::from_str(late.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(told["type"], "notice");
}

/// A loopback receiver for webhooks and remote-write batches: the size of each body, per path.
#[derive(Clone, Default)]
struct Receiver(std::sync::Arc<std::sync::Mutex<Vec<(String, usize)>>>);

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let app = axum::Router::new().fallback({
            let r = r.clone();
            move |uri: axum::http::Uri, body: axum::body::Bytes| {
                let r = r.clone();
                async move {
                    r.0.lock().unwrap().push((uri.path().to_owned(), body.len()));
                    "ok"
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, base)
    }

    /// The bytes of the bodies received on `path` so far.
    fn bytes(&self, path: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, n)| n).sum()
    }
}

fn outbound(budget: &serde_json::Value, name: &str) -> u64 {
    budget["data"]["egress"]["byRoute"][format!("outbound:{name}")].as_u64().unwrap()
}

#[tokio::test]
async fn requests_the_hub_makes_count_as_egress() {
    use serde_json::json;
    const KEY: &str = "upstream-key-for-the-egress-test";
    ai::install_tls_provider();
    let mock = mock_upstream::spawn(mock_upstream::Options { key: Some(KEY.into()), models: vec!["mock".into()] })
        .await
        .unwrap();
    let (receiver, base) = Receiver::start().await;
    let config = format!("[remote_write]\nurl = \"{base}/rw\"\ninterval_ms = 200\n");
    let s = Server::builder()
        .config(&config)
        .env("GOOGLE_AI_API_KEY", KEY)
        .env("GOOGLE_AI_BASE_URL", &mock.url())
        .start_async()
        .await;
    let budget = |s: &Server| {
        let req = s.get_auth("/api/budget");
        async move { req.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    // The gateway's health check may already have asked the upstream (that counts too).
    let before = budget(&s).await;
    assert_eq!(outbound(&before, "notify"), 0, "{before}");
    let hub_before = before["data"]["egress"]["hubBytes"].as_u64().unwrap();

    // Upstream AI: a question answered by the mock Gemini.
    let question = json!({"query": "Summarise my fleet in one long sentence, please", "mode": "google-ai"});
    let question_len = question.to_string().len() as u64;
    let res = s.client().post(s.url("/api/ai/query")).bearer_auth(common::ADMIN_TOKEN).json(&question).send().await;
    let res = res.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-ai-engine"], "google-ai");

    // A notification: the channel's test delivery to the loopback receiver.
    let channel = json!({"name": "hook", "target": {"kind": "webhook", "url": format!("{base}/hook")}});
    let created: serde_json::Value = s
        .client()
        .post(s.url("/api/notifications/channels"))
        .bearer_auth(common::ADMIN_TOKEN)
        .json(&channel)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["id"].as_str().unwrap();
    let test: serde_json::Value = s
        .client()
        .post(s.url(&format!("/api/notifications/channels/{id}/test")))
        .bearer_auth(common::ADMIN_TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(test["data"]["outcome"], "delivered", "{test}");

    // Remote write: the hub's own samples (source `self`) go out in batches.
    common::wait_until("a remote-write batch", std::time::Duration::from_secs(20), async || receiver.bytes("/rw") > 0)
        .await;

    let after = budget(&s).await;
    // Each counter rose by at least the bodies the receivers saw (the AI request's body holds the
    // question and more; heads come on top).
    assert!(outbound(&after, "ai") > outbound(&before, "ai") + question_len, "{after}");
    assert!(outbound(&after, "notify") as usize > receiver.bytes("/hook"), "{after}");
    assert!(receiver.bytes("/hook") > 0);
    assert!(outbound(&after, "remote_write") as usize >= receiver.bytes("/rw"), "{after}");
    let hub_after = after["data"]["egress"]["hubBytes"].as_u64().unwrap();
    let sent_out = ["ai", "notify", "remote_write"].iter().map(|n| outbound(&after, n)).sum::<u64>();
    assert!(hub_after > hub_before && hub_after >= sent_out, "hubBytes includes outbound: {after}");
    let prom = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    for name in ["ai", "notify", "remote_write"] {
        let series = format!("openmanager_egress_bytes_total{{kind=\"outbound\",name=\"{name}\"}} ");
        let value: u64 = prom
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .unwrap_or_else(|| panic!("{series} missing"))
            .trim()
            .parse()
            .unwrap();
        assert!(value > 0, "{series}{value}");
    }
}

#[tokio::test]
async fn a_polled_answer_goes_out_whole_with_its_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::builder().start_async().await;
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let request = format!(
        "GET /api/servers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nAccept-Encoding: br, gzip\r\n\
         Connection: close\r\n\r\n",
        common::ADMIN_TOKEN
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(!head.contains("transfer-encoding"), "no chunks: {head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap_or_else(|| panic!("no content-length: {head}"))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(raw.len() - end - 4, length);
}
