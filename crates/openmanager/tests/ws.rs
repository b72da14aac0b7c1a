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

#[tokio::test]
async fn the_fleet_topic_sends_a_snapshot_then_changed_fields_and_resyncs_on_subscribe() {
    let s = Server::builder()
        .server("ws_interval_ms = 100")
        // The guard off: this machine's own traffic may project past it and slow the topic to 30 s.
        .config("[fleet]\noverview_interval_ms = 400\n[budget]\negress_guard_percent = 1000")
        .start_async()
        .await;
    let url = ws_url(&s, &format!("?token={ADMIN_TOKEN}&topics=fleet"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = next_of(&mut ws, "hello").await;
    assert_eq!(hello["data"]["overviewIntervalMs"], 400);
    assert_eq!(hello["data"]["deflate"], false, "this client offered no compression");
    let full = next_of(&mut ws, "server_update").await;
    assert_eq!(full["data"]["full"], true);
    let mut held: std::collections::HashMap<String, Value> = full["data"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v.clone()))
        .collect();
    assert!(held.len() >= 10);
    // Patches carry ids and changed fields only, and never a `system_update` (not subscribed).
    let started = Instant::now();
    let mut patches = 0;
    while patches < 3 {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next()).await.unwrap().unwrap().unwrap();
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_ne!(v["type"], "system_update", "system_update only goes to its subscribers");
        if v["type"] != "server_update" {
            continue;
        }
        assert_eq!(v["data"]["patch"], true);
        for p in v["data"]["servers"].as_array().unwrap() {
            let id = p["id"].as_str().unwrap();
            // A server new since the snapshot comes whole; a known one with its changed fields only.
            if held.contains_key(id) {
                assert!(p.get("name").is_none() && p.get("cpu_usage").is_none(), "unchanged fields are sent: {p}");
            }
            let entry = held.entry(id.to_string()).or_insert_with(|| json!({}));
            for (k, val) in p.as_object().unwrap() {
                entry[k] = val.clone();
            }
        }
        patches += 1;
    }
    // Three patches at 400 ms: not one a hub tick (100 ms).
    assert!(started.elapsed() >= Duration::from_millis(700), "patches came every {:?}", started.elapsed() / 3);
    // What the client assembled matches a fresh snapshot taken on re-subscribing (as a tab shown
    // again does), except for fields that moved since the last patch.
    ws.send(Message::Text(json!({"type": "unsubscribe", "topics": ["fleet"]}).to_string().into())).await.unwrap();
    ws.send(Message::Text(json!({"type": "subscribe", "topics": ["fleet"]}).to_string().into())).await.unwrap();
    let again = loop {
        let m = next_of(&mut ws, "server_update").await;
        if m["data"]["full"] == true {
            break m;
        }
    };
    for v in again["data"]["servers"].as_array().unwrap() {
        let id = v["id"].as_str().unwrap();
        assert_eq!(held[id]["name"], v["name"]);
        assert!(held[id]["status"].is_string());
    }
}

/// Reads one server frame from a raw socket: (first byte, payload).
async fn raw_frame(tcp: &mut tokio::net::TcpStream) -> (u8, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut h = [0u8; 2];
    tcp.read_exact(&mut h).await.unwrap();
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            tcp.read_exact(&mut b).await.unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            tcp.read_exact(&mut b).await.unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).await.unwrap();
    (h[0], payload)
}

fn inflate(data: &[u8]) -> String {
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::new();
    let mut d = flate2::Decompress::new(false);
    out.reserve(1 << 20);
    d.decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync).unwrap();
    String::from_utf8(out).unwrap()
}

fn deflate(text: &str) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(text.len() + 64);
    c.compress_vec(text.as_bytes(), &mut out, flate2::FlushCompress::Sync).unwrap();
    out.truncate(out.len() - 4);
    out
}

#[tokio::test]
async fn permessage_deflate_is_negotiated_and_works_both_ways() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::builder().start_async().await;
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "GET /ws?topics=fleet HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
        s.addr
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    // The response head, byte by byte up to the blank line (frames follow it at once).
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "{head}");
    assert!(
        head.contains(
            "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        "{head}"
    );
    // hello, then the overview snapshot: compressed (RSV1), and far smaller than its text.
    let (b0, hello) = raw_frame(&mut tcp).await;
    assert_eq!(b0, 0xc1, "final text frame with RSV1");
    let hello: Value = serde_json::from_str(&inflate(&hello)).unwrap();
    assert_eq!(hello["data"]["deflate"], true);
    let (b0, full) = raw_frame(&mut tcp).await;
    assert_eq!(b0, 0xc1);
    let text = inflate(&full);
    assert!(full.len() * 3 < text.len(), "{} compressed bytes for {} of JSON", full.len(), text.len());
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["full"], true);
    // A compressed client message (as browsers send them) is understood.
    let ping = deflate(&json!({"type": "ping", "padding": "x".repeat(200)}).to_string());
    let key = [7u8, 1, 2, 3];
    let mut frame = vec![0xc1, 0x80 | ping.len() as u8];
    assert!(ping.len() < 126);
    frame.extend_from_slice(&key);
    frame.extend(ping.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    tcp.write_all(&frame).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(Instant::now() < deadline, "no pong");
        let (b0, payload) = tokio::time::timeout(Duration::from_secs(15), raw_frame(&mut tcp)).await.unwrap();
        let text = if b0 & 0x40 != 0 { inflate(&payload) } else { String::from_utf8(payload).unwrap() };
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(v["type"], "error", "{v}");
        if v["type"] == "pong" {
            break;
        }
    }
}

/// A fleet whose full `server_update` is over a megabyte (bench/scale.sh leaves 3,000 agents in the
/// database): a client without `permessage-deflate` still gets the whole snapshot, not a reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_over_a_megabyte_reaches_a_client_without_deflate() {
    let s = Server::builder()
        .config("[simulation]\nenabled = false\n[fleet]\nmonitor_self = false\n[rate_limit]\nenabled = false\n")
        .start_async()
        .await;
    const AGENTS: usize = 2500;
    let client = s.client();
    let now = jiff::Timestamp::now().as_millisecond();
    let mut posts = futures_util::stream::iter(0..AGENTS)
        .map(|i| {
            let (client, url) = (client.clone(), s.url("/api/agents/report"));
            async move {
                let machine = format!("agent-with-a-longer-name-{i:05}");
                let body = json!({"type": "report", "version": 1,
                    "agent": {"machineId": machine, "name": machine, "hostname": format!("{machine}.example.internal"),
                              "agentVersion": "0.1.0"},
                    "samples": [{"timestampMs": now, "values": {"cpu": 12.5, "memory": 40.0, "disk": 55.0}}]});
                client.post(url).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap().status().as_u16()
            }
        })
        .buffer_unordered(8);
    while let Some(status) = posts.next().await {
        assert_eq!(status, 200);
    }
    // The hub's view may be a tick behind the last reports: connect until the first snapshot holds
    // every agent (bounded), and require that one, over a megabyte, to arrive whole.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&s, &format!("?token={ADMIN_TOKEN}"))).await.unwrap();
        let snapshot = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = tokio::time::timeout(left, ws.next()).await.expect("a snapshot in time");
            let msg = msg.expect("the connection stays open").expect("no reset");
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "server_update" && v["data"]["full"] == true {
                    break (t.len(), v["data"]["servers"].as_array().unwrap().len());
                }
            }
        };
        if snapshot.1 == AGENTS {
            assert!(snapshot.0 > 1024 * 1024, "a snapshot over a megabyte was sent: {} bytes", snapshot.0);
            return;
        }
        assert!(Instant::now() < deadline, "no snapshot with all {AGENTS} agents; the last had {}", snapshot.1);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_first_subscribe_selects_its_topics_instead_of_adding_to_the_defaults() {
    let s = Server::builder()
        .server("ws_interval_ms = 100")
        .config("[fleet]\noverview_interval_ms = 300\n[budget]\negress_guard_percent = 1000")
        .start_async()
        .await;
    // No `topics` in the URL: the wave-1 defaults (servers, system, alerts) until it subscribes.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&s, &format!("?token={ADMIN_TOKEN}"))).await.unwrap();
    next_of(&mut ws, "hello").await;
    next_of(&mut ws, "system_update").await;
    ws.send(Message::Text(json!({"type": "subscribe", "topics": ["fleet"]}).to_string().into())).await.unwrap();
    // The fleet snapshot, then only fleet patches: no server-by-server updates, no system_update.
    loop {
        let v = next_of(&mut ws, "server_update").await;
        if v["data"]["full"] == true && v["data"]["patch"].is_null() && v["data"]["servers"].is_array() {
            // Either the defaults' first snapshot still in flight, or the fleet one: go on until a
            // patch proves the fleet topic is on.
            continue;
        }
        if v["data"]["patch"] == true {
            break;
        }
    }
    let quiet_until = Instant::now() + Duration::from_millis(1500);
    let mut patches = 0;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(quiet_until - Instant::now(), ws.next()).await {
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_ne!(v["type"], "system_update", "system was a default, not subscribed: {v}");
        if v["type"] == "server_update" {
            assert_eq!(v["data"]["patch"], true, "a `servers` update after subscribing to `fleet` alone: {v}");
            patches += 1;
        }
        if Instant::now() >= quiet_until {
            break;
        }
    }
    assert!(patches >= 2, "fleet patches every 300 ms, got {patches}");
    // Later subscribes add: `system` now comes too.
    ws.send(Message::Text(json!({"type": "subscribe", "topics": ["system"]}).to_string().into())).await.unwrap();
    next_of(&mut ws, "system_update").await;
}
