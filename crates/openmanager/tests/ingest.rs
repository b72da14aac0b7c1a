//! End-to-end tests of `POST /api/agents/report` against the real binary: gzip batches acknowledged
//! once durable, duplicates not counted twice, the agent listed and its history served, scopes and
//! bad input answered with the envelope.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use common::{ADMIN_TOKEN, Server, assert_envelope};
use serde_json::{Value, json};

const INGEST: &str = "ingest-token-0123456789abcdefghijklmnopq";

async fn hub() -> Server {
    Server::builder()
        .config(&format!(
            "[auth]\nadmin_token = \"{ADMIN_TOKEN}\"\n[[auth.tokens]]\nname = \"agents\"\ntoken = \"{INGEST}\"\nscopes = [\"ingest\"]\n"
        ))
        .start_async().await
}

fn report(machine: &str, start_ms: i64, n: i64) -> Value {
    let samples: Vec<Value> = (0..n)
        .map(|i| {
            json!({"timestampMs": start_ms + i * 5000, "values": {"cpu": 10.0 + i as f64, "memory": 40.0, "disk": 55.5,
                "net_rx": 1000.0, "net_tx": 2000.0, "load1": 0.5, "uptime": 1234.0, "processes": 88.0}})
        })
        .collect();
    json!({"type": "report", "version": 1,
        "agent": {"machineId": machine, "name": "edge-1", "hostname": "edge-1.lan", "agentVersion": "0.1.0"},
        "samples": samples,
        "inventory": {"os": "Debian 12", "kernel": "6.1", "cpuCores": 2, "memoryTotalBytes": 1_000_000_000u64,
            "disks": [{"mount": "/", "usedBytes": 5, "totalBytes": 10, "percent": 50.0}]}})
}

fn gzip(v: &Value) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(v.to_string().as_bytes()).unwrap();
    e.finish().unwrap()
}

async fn post(s: &Server, token: &str, body: Vec<u8>, encoding: Option<&str>) -> reqwest::Response {
    let mut req =
        s.client().post(s.url("/api/agents/report")).bearer_auth(token).header("content-type", "application/json");
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    req.body(body).send().await.unwrap()
}

#[tokio::test]
async fn batches_are_acknowledged_once_and_served() {
    let s = hub().await;
    let now = jiff::Timestamp::now().as_millisecond();
    let start = now - 60_000;
    let batch = report("m-edge-1", start, 12);
    let res = post(&s, INGEST, gzip(&batch), Some("gzip")).await;
    assert_eq!(res.status(), 200);
    let ack: Value = res.json().await.unwrap();
    assert_eq!((ack["accepted"].as_u64(), ack["duplicates"].as_u64()), (Some(12), Some(0)));
    assert_eq!(ack["serverId"], "m-edge-1");

    // A retried batch (the agent never saw the answer) is not counted twice.
    let again: Value = post(&s, INGEST, gzip(&batch), Some("gzip")).await.json().await.unwrap();
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(12)));

    let server: Value = s.get_auth("/api/servers/m-edge-1").send().await.unwrap().json().await.unwrap();
    let d = &server["data"];
    assert_eq!(
        (d["source"].as_str(), d["name"].as_str(), d["status"].as_str()),
        (Some("agent"), Some("edge-1"), Some("online"))
    );
    assert_eq!(d["cpu"], 21.0);
    assert_eq!(d["disks"][0]["mount"], "/");

    let h: Value =
        s.get_auth("/api/metrics/history?serverId=m-edge-1&timeRange=15m").send().await.unwrap().json().await.unwrap();
    let points = h["data"].as_array().unwrap();
    assert_eq!(points.len(), 12, "{h}");
    assert_eq!(points[0]["cpu"], 10.0);
    assert_eq!(points[0]["network"]["bytesSent"], 2000.0);

    let prom = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(prom.contains("openmanager_ingest_samples_total 12"), "{prom}");
    assert!(prom.contains("openmanager_ingest_duplicate_samples_total 12"), "{prom}");
}

#[tokio::test]
async fn scopes_and_bad_reports_get_the_envelope() {
    let s = hub().await;
    let body = report("m-2", 1_000, 1);
    // Plain JSON works too.
    assert_eq!(post(&s, INGEST, body.to_string().into_bytes(), None).await.status(), 200);
    // The admin token has every scope; a read-only use of the ingest token elsewhere is refused.
    assert_eq!(post(&s, ADMIN_TOKEN, body.to_string().into_bytes(), None).await.status(), 200);
    let res = s.get("/api/servers").bearer_auth(INGEST).send().await.unwrap();
    assert_envelope(res, 403, "FORBIDDEN").await;
    assert_envelope(post(&s, "", body.to_string().into_bytes(), None).await, 401, "UNAUTHORIZED").await;

    assert_envelope(post(&s, INGEST, b"{not json".to_vec(), None).await, 400, "BAD_REQUEST").await;
    assert_envelope(post(&s, INGEST, b"garbage".to_vec(), Some("gzip")).await, 400, "BAD_REQUEST").await;
    assert_envelope(post(&s, INGEST, b"{}".to_vec(), Some("br")).await, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    let mut future = report("m-2", 1_000, 1);
    future["version"] = json!(99);
    let res = post(&s, INGEST, future.to_string().into_bytes(), None).await;
    let b = assert_envelope(res, 422, "VALIDATION_ERROR").await;
    assert!(b["message"].as_str().unwrap().contains("version 99"), "{b}");
    let mut sneaky = report("../../etc", 1_000, 1);
    sneaky["agent"]["machineId"] = json!("../../etc");
    assert_envelope(post(&s, INGEST, sneaky.to_string().into_bytes(), None).await, 422, "VALIDATION_ERROR").await;
    // A gzip bomb is refused without inflating it all.
    let bomb = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b' '; 16 * 1024 * 1024]).unwrap();
        e.finish().unwrap()
    };
    assert_envelope(post(&s, INGEST, bomb, Some("gzip")).await, 413, "PAYLOAD_TOO_LARGE").await;
    // An agent cannot take over a simulated server's id.
    assert_envelope(post(&s, INGEST, report("web-01", 1_000, 1).to_string().into_bytes(), None).await, 409, "CONFLICT")
        .await;
}
