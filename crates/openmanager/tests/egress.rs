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
