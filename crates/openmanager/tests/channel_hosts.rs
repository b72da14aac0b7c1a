//! `alerts.channel_hosts` against the real binary: a channel whose host is outside the list sends
//! nothing, neither its test message (409, saying why) nor alerts (the delivery log says why),
//! while a channel inside it delivers. The refused URL names `localhost`: a network entry never
//! admits a name, and were the check broken the request would still stay on this machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server};
use serde_json::{Value, json};

const CONFIG: &str = "[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n\
                      channel_hosts = [\"127.0.0.0/8\"]\n[simulation]\nenabled = false\n";

/// A loopback receiver that counts the test messages it is sent (the hub's default rules may
/// notify it of real alerts on this host too; those are not counted).
async fn receiver() -> (Arc<Mutex<usize>>, String) {
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let c = c.clone();
        async move {
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            if v["event"] == "test" {
                *c.lock().unwrap() += 1;
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (count, url)
}

async fn post(s: &Server, path: &str, body: Value) -> (u16, Value) {
    let res = s.client().post(s.url(path)).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn channel(s: &Server, id: &str, url: &str) {
    let (status, body) = post(
        s,
        "/api/notifications/channels",
        json!({"id": id, "name": id, "target": {"kind": "webhook", "url": url}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn only_listed_hosts_are_sent_to() {
    let (count, url) = receiver().await;
    let s = Server::builder().config(CONFIG).start();
    channel(&s, "inside", &url).await;
    channel(&s, "outside", "http://localhost:1/hook").await;

    let (status, body) = post(&s, "/api/notifications/channels/inside/test", json!({})).await;
    assert_eq!((status, body["data"]["outcome"].as_str()), (200, Some("delivered")), "{body}");
    assert_eq!(*count.lock().unwrap(), 1);

    let (status, body) = post(&s, "/api/notifications/channels/outside/test", json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "CONFLICT");
    assert!(body["message"].as_str().unwrap().contains("alerts.channel_hosts"), "{body}");

    // An alert on the outside channel is refused at send time, and the log says why.
    let rule = json!({"name": "always", "metric": "cpu", "op": ">=", "threshold": 0, "severity": "info",
                      "scope": {"serverIds": ["self"]}, "channels": ["outside"]});
    assert_eq!(post(&s, "/api/alerts/rules", rule).await.0, 201);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = s.get_auth("/api/notifications/deliveries").send().await.unwrap();
        let log: Value = res.json().await.unwrap();
        let refused = log["data"].as_array().unwrap().iter().find(|d| d["channelId"] == "outside");
        if let Some(d) = refused {
            assert_eq!(d["outcome"], "failed", "{d}");
            assert!(d["error"].as_str().unwrap().contains("alerts.channel_hosts"), "{d}");
            assert_eq!(d["status"], Value::Null, "nothing was sent: {d}");
            break;
        }
        assert!(Instant::now() < deadline, "no delivery attempt on `outside`: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(*count.lock().unwrap(), 1, "only the inside channel's test message reached the receiver");
}
