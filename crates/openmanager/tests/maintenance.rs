//! Maintenance windows over servers, end to end: a covered server shows `maintenance` in
//! `/api/servers`, its detail, the WebSocket fleet updates and the status page; an alert already
//! firing for it when the window starts is marked `maintenance` and notifies nobody until the window
//! ends, then repeats as usual.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server, poll};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A webhook receiver on loopback that keeps every body.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Value>>>);

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let app = axum::Router::new().fallback({
            let r = r.clone();
            move |body: axum::body::Bytes| {
                let r = r.clone();
                async move {
                    r.0.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    "ok"
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    fn count(&self, event: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|v| v["event"] == event).count()
    }

    async fn wait_count(&self, event: &str, at_least: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count(event) < at_least {
            assert!(Instant::now() < deadline, "fewer than {at_least} `{event}`: {:?}", self.0.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn post(s: &Server, path: &str, body: Value) -> reqwest::RequestBuilder {
    s.client().post(s.url(path)).bearer_auth(ADMIN_TOKEN).json(&body)
}

async fn data(s: &Server, path: &str) -> Value {
    let v: Value = s.get_auth(path).send().await.unwrap().json().await.unwrap();
    v["data"].clone()
}

/// Polls until `f` holds for the `data` of `path`.
async fn until(s: &Server, path: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    poll(what, Duration::from_secs(20), async || {
        let v = data(s, path).await;
        f(&v).then_some(v)
    })
    .await
}

fn self_status(servers: &Value) -> Value {
    servers.as_array().unwrap().iter().find(|v| v["id"] == "self").map(|v| v["status"].clone()).unwrap_or_default()
}

/// Waits for a `server_update` (the snapshot or a diff: the snapshot on connecting may predate the
/// window by one hub tick) listing `self` as `status`.
async fn ws_self_status(s: &Server, status: &str) {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token={ADMIN_TOKEN}", s.addr)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next()).await.expect("no server_update").unwrap().unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "server_update" && self_status(&v["data"]["servers"]) == status {
                return;
            }
        }
    }
}

#[tokio::test]
async fn a_window_marks_its_servers_and_silences_their_firing_alerts() {
    let (hook, url) = Receiver::start().await;
    let s = Server::builder()
        .config(
            "[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n\
             [simulation]\nenabled = false\n\
             [status_page]\nenabled = true\ntitle = \"Acme\"\nservers = [\"self\"]\n",
        )
        .start_async()
        .await;
    let channel =
        post(&s, "/api/notifications/channels", json!({"name": "hook", "target": {"kind": "webhook", "url": url}}))
            .send()
            .await
            .unwrap();
    assert_eq!(channel.status(), 201);
    let channel: Value = channel.json().await.unwrap();
    // Holds on any real host, and repeats every second while firing.
    let rule = json!({"id": "cpu-seen", "name": "Host CPU seen", "metric": "cpu", "op": ">=", "threshold": 0,
                      "severity": "warning", "scope": {"serverIds": ["self"]},
                      "channels": [channel["data"]["id"]], "repeatIntervalSeconds": 1});
    assert_eq!(post(&s, "/api/alerts/rules", rule).send().await.unwrap().status(), 201);
    hook.wait_count("fired", 1).await;
    hook.wait_count("repeat", 1).await;
    until(&s, "/api/servers", "self not up yet", |v| {
        self_status(v).as_str().is_some_and(|st| st != "unknown" && st != "maintenance")
    })
    .await;

    let now = jiff::Timestamp::now();
    let window = json!({"id": "patching", "title": "Kernel patching", "servers": ["self"],
                        "start": (now - jiff::SignedDuration::from_secs(60)).to_string(),
                        "end": (now + jiff::SignedDuration::from_secs(3600)).to_string()});
    assert_eq!(post(&s, "/api/maintenance", window).send().await.unwrap().status(), 201);

    // Everywhere the fleet shows: the list, the detail, the WebSocket and the status page.
    assert_eq!(self_status(&data(&s, "/api/servers").await), "maintenance");
    assert_eq!(data(&s, "/api/servers/self").await["status"], "maintenance");
    ws_self_status(&s, "maintenance").await;
    let page: Value = s.get("/status.json").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"][0]["status"], "maintenance", "{page}");

    // The firing alert is marked at the next evaluation and then notifies nothing.
    let alerts = until(&s, "/api/alerts?serverId=self&state=firing", "the alert is not marked", |v| {
        v.as_array().is_some_and(|a| a.len() == 1 && a[0]["maintenance"] == true)
    })
    .await;
    assert_eq!(alerts[0]["ruleId"], "cpu-seen");
    // A notification queued just before the mark may still land; after that, nothing for 3 s
    // (three evaluations and three repeat intervals).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (repeats, resolved) = (hook.count("repeat"), hook.count("resolved"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!((hook.count("repeat"), hook.count("resolved")), (repeats, resolved), "notified in maintenance");
    assert_eq!(resolved, 0, "the alert does not resolve because the server is in maintenance");

    // The window goes: the server is itself again and the alert repeats as before.
    let res = s.client().delete(s.url("/api/maintenance/patching")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_ne!(self_status(&data(&s, "/api/servers").await), "maintenance");
    let page: Value = s.get("/status.json").send().await.unwrap().json().await.unwrap();
    assert_ne!(page["items"][0]["status"], "maintenance", "{page}");
    hook.wait_count("repeat", repeats + 1).await;
    until(&s, "/api/alerts?serverId=self&state=firing", "the mark stays", |v| {
        v.as_array().is_some_and(|a| a.len() == 1 && a[0]["maintenance"] == false)
    })
    .await;
}

#[tokio::test]
async fn a_weekly_window_needs_no_start_or_end_and_a_one_off_needs_an_end() {
    let s = Server::builder().start_async().await;
    until(&s, "/api/servers", "self not up yet", |v| {
        self_status(v).as_str().is_some_and(|st| st != "unknown" && st != "maintenance")
    })
    .await;
    // This week's day and time two minutes ago (UTC), so the window is in effect now.
    let then = jiff::Timestamp::now().as_millisecond() - 120_000;
    let (days, ms) = (then.div_euclid(86_400_000), then.rem_euclid(86_400_000));
    // 1970-01-01 was a Thursday.
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(days + 3).rem_euclid(7) as usize];
    let at = format!("{:02}:{:02}", ms / 3_600_000, ms % 3_600_000 / 60_000);
    let weekly = json!({"id": "weekly", "title": "Weekly patching", "servers": ["self"],
                        "weekly": {"days": [day], "start": at, "durationMinutes": 30}});
    let res = post(&s, "/api/maintenance", weekly).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let created: Value = res.json().await.unwrap();
    assert!(created["data"]["start"].is_string() && created["data"].get("end").is_none(), "{created}");
    assert_eq!(self_status(&data(&s, "/api/servers").await), "maintenance");

    let one_off = json!({"title": "Forever", "servers": ["self"]});
    let res = post(&s, "/api/maintenance", one_off).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["details"][0]["field"], "end", "{body}");
}
