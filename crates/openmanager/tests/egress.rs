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
