//! End-to-end tests of `/ws` with a real WebSocket client: auth before the upgrade (header, query,
//! subprotocol), hello and snapshots, ping/pong, diffs, live samples, and a stalled client not
//! holding back the others.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(s: &Server, query: &str) -> String {
    format!("ws://{}/ws{query}", s.addr)
}

/// Next JSON message of `kind`, skipping others, within a deadline.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` in time"))
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn needs_a_token_before_the_upgrade() {
    let s = Server::builder().start_async().await;
    let err = tokio_tungstenite::connect_async(ws_url(&s, "")).await.unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {other}"),
    }
    let err =
        tokio_tungstenite::connect_async(ws_url(&s, "?token=wrong-wrong-wrong-wrong-wrong-wrong")).await.unwrap_err();
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(ref r) if r.status() == 401));
}

#[tokio::test]
async fn hello_snapshot_updates_and_pong() {
    let s = Server::builder().config("ws_interval_ms = 200").start_async().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&s, &format!("?token={ADMIN_TOKEN}"))).await.unwrap();
    let hello = next_of(&mut ws, "hello").await;
    assert_eq!(hello["data"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(hello["data"]["intervalMs"], 200);
    let full = next_of(&mut ws, "server_update").await;
    assert_eq!(full["data"]["full"], true);
    assert!(full["data"]["servers"].as_array().unwrap().len() >= 10);
    assert!(full["timestamp"].is_string());
    let system = next_of(&mut ws, "system_update").await;
    assert!(system["data"]["fleet"]["totalServers"].as_u64().unwrap() >= 10);
    let diff = next_of(&mut ws, "server_update").await;
    assert_eq!(diff["data"]["full"], false);
    ws.send(Message::Text(json!({"type": "ping"}).to_string().into())).await.unwrap();
    next_of(&mut ws, "pong").await;
    ws.send(Message::Text("not json".into())).await.unwrap();
    let err = next_of(&mut ws, "error").await;
    assert!(err["data"]["message"].as_str().unwrap().contains("not a message"));
}

#[tokio::test]
async fn browsers_authenticate_with_the_bearer_subprotocol() {
    let s = Server::builder().start_async().await;
    let mut req = ws_url(&s, "").into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", format!("bearer.{ADMIN_TOKEN}").parse().unwrap());
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.headers()["sec-websocket-protocol"], format!("bearer.{ADMIN_TOKEN}").as_str());
    next_of(&mut ws, "hello").await;
}

#[tokio::test]
async fn live_samples_of_a_subscribed_server() {
    let s = Server::builder().start_async().await;
    let mut req = ws_url(&s, "").into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {ADMIN_TOKEN}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    next_of(&mut ws, "hello").await;
    let sub = json!({"type": "subscribe", "topics": ["live"], "live": "web-01"});
    ws.send(Message::Text(sub.to_string().into())).await.unwrap();
    let a = next_of(&mut ws, "live").await;
    assert_eq!(a["data"]["serverId"], "web-01");
    let b = next_of(&mut ws, "live").await;
    let ts = |v: &Value| v["data"]["samples"][0]["timestamp"].as_str().unwrap().to_string();
    assert!(ts(&b) > ts(&a), "samples move forward");
    assert!(b["data"]["samples"][0]["cpu"].is_number());

    let sub = json!({"type": "subscribe", "live": "self"});
    ws.send(Message::Text(sub.to_string().into())).await.unwrap();
    let mine = loop {
        let m = next_of(&mut ws, "live").await;
        if m["data"]["serverId"] == "self" {
            break m;
        }
    };
    assert!(!mine["data"]["samples"].as_array().unwrap().is_empty());
    let bad = json!({"type": "subscribe", "live": "ghost"});
    ws.send(Message::Text(bad.to_string().into())).await.unwrap();
    next_of(&mut ws, "error").await;
}

#[tokio::test]
async fn a_stalled_client_is_dropped_and_does_not_hold_back_the_others() {
    let s = Server::builder().server("ws_interval_ms = 50\nws_stall_timeout_ms = 1000").start_async().await;
    let url = ws_url(&s, &format!("?token={ADMIN_TOKEN}"));
    // This client connects with a tiny receive buffer and never reads again, so the server's sends
    // to it stop completing after a few messages (the frames no longer fit in the socket buffers).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(s.addr).await.unwrap();
    let (mut stalled, _) = tokio_tungstenite::client_async(url.clone(), tcp).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next_of(&mut ws, "hello").await;
    for _ in 0..40 {
        next_of(&mut ws, "system_update").await;
    }
    assert_eq!(s.get("/api/health").send().await.unwrap().status(), 200);
    // The server gives up on the stalled client: once it reads at last, the stream ends.
    s.until_log("dropping a WebSocket client that stopped reading").await;
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stalled.next().await {
                None | Some(Err(_)) => break,
                Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stalled client's stream never ended");
    // The healthy client kept getting updates all along.
    next_of(&mut ws, "system_update").await;
}
