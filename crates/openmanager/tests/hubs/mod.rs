//! Several hubs on one PostgreSQL and one private Redis, for the multi-hub suites (`scaleout`,
//! `scaleout_alerts`): the cluster fixture, an agent's report, WebSockets, a webhook receiver, and
//! the alert and list reads every such test makes. Tests skip (or fail under
//! `OPENMANAGER_TEST_STRICT`) without PostgreSQL or redis-server.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{ADMIN_TOKEN, Server};
use crate::scale_support::{self, PgDb, PrivateRedis, redis_prefix};

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Alerts evaluated every second, firing and resolving at once (no hold, no cool-down).
pub const FAST_ALERTS: &str = "[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n\
                               channel_hosts = [\"127.0.0.0/8\"]\n";

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// An agent's version-1 report of `(timestamp, cpu)` samples.
pub fn report(machine: &str, samples: &[(i64, f64)]) -> Value {
    let samples: Vec<Value> =
        samples.iter().map(|(t, cpu)| json!({"timestampMs": t, "values": {"cpu": cpu, "memory": 40.0}})).collect();
    json!({"type": "report", "version": 1,
        "agent": {"machineId": machine, "name": machine, "hostname": format!("{machine}.lan"), "agentVersion": "0.1.0"},
        "samples": samples})
}

fn gzip(v: &Value) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(v.to_string().as_bytes()).unwrap();
    e.finish().unwrap()
}

/// Posts a report to `base` (a hub or the load balancer); the status, or 0 on a network error.
pub async fn post_report(client: &reqwest::Client, base: &str, body: &Value) -> u16 {
    client
        .post(format!("{base}/api/agents/report"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(body))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// One PostgreSQL database and one private Redis (which a test may stop and start) for a test's hubs.
pub struct Cluster {
    _db: PgDb,
    pub redis: PrivateRedis,
    pub db_url: String,
    pub redis_url: String,
    pub prefix: String,
}

impl Cluster {
    pub async fn new(test: &str) -> Option<Cluster> {
        let db = PgDb::create(test).await?;
        let redis = PrivateRedis::start(test).await?;
        Some(Cluster { db_url: db.url(), redis_url: redis.url(), prefix: redis_prefix(test), _db: db, redis })
    }

    /// A hub of this cluster (no simulation, no self-monitoring), `extra` appended to its config.
    pub async fn hub(&self, extra: &str) -> Server {
        self.hub_with(&[], extra).await
    }

    /// As [`Cluster::hub`], with environment variables.
    pub async fn hub_with(&self, env: &[(&str, &str)], extra: &str) -> Server {
        let mut b = Server::builder()
            .env("OPENMANAGER_DATABASE_URL", &self.db_url)
            .env("OPENMANAGER_REDIS_URL", &self.redis_url)
            .server("ws_interval_ms = 200");
        for (k, v) in env {
            b = b.env(k, v);
        }
        b.config(&format!(
            "[simulation]\nenabled = false\n[fleet]\nmonitor_self = false\n[redis]\nprefix = \"{}\"\n{extra}",
            self.prefix
        ))
        .start_async()
        .await
    }
}

/// Closes every hub's subscriber connection to `redis` (`CLIENT KILL TYPE pubsub`), as a network
/// cut would: what is published until each hub has resubscribed is lost to it.
pub async fn cut_subscribers(redis: &PrivateRedis) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", redis.port)).await.unwrap();
    conn.write_all(b"CLIENT KILL TYPE pubsub\r\n").await.unwrap();
    let mut reply = [0u8; 64];
    let n = conn.read(&mut reply).await.unwrap();
    assert!(reply[..n].starts_with(b":"), "{}", String::from_utf8_lossy(&reply[..n]));
}

/// The hub that logged taking the alert lease, once one did.
pub async fn evaluator(hubs: &[Server]) -> usize {
    let taken = |h: &Server| h.logs().contains("alert evaluator lease taken");
    crate::common::wait_until("an evaluator", Duration::from_secs(60), async || hubs.iter().any(taken)).await;
    hubs.iter().position(taken).unwrap()
}

/// `checks.redis` of `/api/health` on one hub.
pub async fn redis_check(h: &Server) -> String {
    let v: Value = h.get("/api/health").send().await.unwrap().json().await.unwrap();
    v["checks"]["redis"].as_str().unwrap_or_default().to_string()
}

pub async fn ws(s: &Server) -> Ws {
    let url = format!("ws://{}/ws?token={ADMIN_TOKEN}", s.addr);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// A webhook receiver on loopback that keeps every body.
pub async fn webhook() -> (Arc<Mutex<Vec<Value>>>, String) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let g = g.clone();
        async move {
            if let Ok(v) = serde_json::from_slice(&body) {
                g.lock().unwrap().push(v);
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (got, url)
}

/// Reads the WebSocket until an `alert` message for `rule` in `state` arrives.
pub async fn alert_message(ws: &mut Ws, rule: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no `alert` message for {rule} ({state}) in time"))
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "alert" && v["data"]["alert"]["ruleId"] == rule && v["data"]["alert"]["state"] == state {
                return v;
            }
        }
    }
}

/// `GET /api/alerts?state=firing` on one hub: the firing alerts of `rule`.
pub async fn firing(h: &Server, rule: &str) -> Vec<Value> {
    let v: Value = h.get_auth("/api/alerts?state=firing").send().await.unwrap().json().await.unwrap();
    v["data"].as_array().unwrap_or_else(|| panic!("{v}")).iter().filter(|a| a["ruleId"] == rule).cloned().collect()
}

/// The ids `GET <path>` lists on one hub.
pub async fn ids(h: &Server, path: &str) -> Vec<String> {
    let v: Value = h.get_auth(path).send().await.unwrap().json().await.unwrap();
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .filter_map(|x| x["id"].as_str().map(String::from))
        .collect()
}

/// POSTs `body` to `path` on one hub; the created document's `data`.
pub async fn create(h: &Server, path: &str, body: Value) -> Value {
    let res = h.client().post(h.url(path)).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json::<Value>().await.unwrap()["data"].clone()
}

pub async fn delete(h: &Server, path: &str) {
    let res = h.client().delete(h.url(path)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

/// A plain HTTP client (the binary's TLS provider installed).
pub fn http() -> reqwest::Client {
    scale_support::http()
}
