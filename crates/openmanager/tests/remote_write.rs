//! `[remote_write]` end to end: an agent's samples, stored by the hub, reach a real Prometheus
//! (`--web.enable-remote-write-receiver`) and a real VictoriaMetrics on loopback, are queried back
//! from each, and match what the hub stored and serves as history; the sender's counters are on
//! `/metrics`. Skips (or fails under `OPENMANAGER_TEST_STRICT`) when a receiver is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod scale_support;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server};
use scale_support::Daemon;
use serde_json::{Value, json};

const MACHINE: &str = "m-rw-1";

fn report(start_ms: i64, n: i64) -> Value {
    // Two decimals: the hub stores percentages to 0.01, so stored and sent values are equal.
    let samples: Vec<Value> = (0..n)
        .map(|i| json!({"timestampMs": start_ms + i * 5000, "values": {"cpu": 10.25 + i as f64, "load1": 0.5}}))
        .collect();
    json!({"type": "report", "version": 1,
        "agent": {"machineId": MACHINE, "name": "edge-rw", "hostname": "edge-rw.lan", "agentVersion": "0.1.0"},
        "samples": samples})
}

async fn post_report(s: &Server, body: &Value) -> reqwest::Response {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body.to_string().as_bytes()).unwrap();
    s.client()
        .post(s.url("/api/agents/report"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(e.finish().unwrap())
        .send()
        .await
        .unwrap()
}

/// The hub's stored cpu history of the agent as `(ms, value)`.
async fn stored(s: &Server) -> Vec<(i64, f64)> {
    let h: Value = s
        .get_auth(&format!("/api/metrics/history?serverId={MACHINE}&timeRange=1h"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    h["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t: jiff::Timestamp = p["timestamp"].as_str().unwrap().parse().unwrap();
            (t.as_millisecond(), p["cpu"].as_f64().unwrap())
        })
        .collect()
}

/// Raw samples of the agent's cpu series as the receiver returns them for `metric[1h]`, with the
/// series' labels.
async fn queried(base: &str) -> Option<(Value, Vec<(i64, f64)>)> {
    let q = format!("openmanager_server_cpu_percent{{server_id=\"{MACHINE}\"}}[1h]");
    let encoded: String = q
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_-.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect();
    let res: Value = scale_support::http()
        .get(format!("{base}/api/v1/query?query={encoded}"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let series = res["data"]["result"].as_array()?.first()?.clone();
    let values = series["values"]
        .as_array()?
        .iter()
        .map(|v| {
            let ms = (v[0].as_f64().unwrap() * 1000.0).round() as i64;
            (ms, v[1].as_str().unwrap().parse::<f64>().unwrap())
        })
        .collect();
    Some((series["metric"].clone(), values))
}

async fn round_trip(receiver: Daemon) {
    let s = Server::builder()
        .config(&format!(
            "[simulation]\nenabled = false\n[fleet]\nmonitor_self = false\n\
             [remote_write]\nurl = \"{}\"\ninterval_ms = 200\n[remote_write.labels]\njob = \"openmanager\"\n",
            receiver.write_url()
        ))
        .start_async()
        .await;
    let start = jiff::Timestamp::now().as_millisecond() - 120_000;
    assert_eq!(post_report(&s, &report(start, 12)).await.status(), 200);
    let hub = stored(&s).await;
    assert_eq!(hub.len(), 12);

    let deadline = Instant::now() + Duration::from_secs(60);
    let (labels, got) = loop {
        if let Some((labels, got)) = queried(&receiver.base).await
            && got.len() >= hub.len()
        {
            break (labels, got);
        }
        assert!(Instant::now() < deadline, "the receiver never had all samples; hub logs:\n{}", s.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(got, hub, "what the receiver holds differs from what the hub stored");
    for (k, v) in [("instance", "edge-rw"), ("server_id", MACHINE), ("source", "agent"), ("job", "openmanager")] {
        assert_eq!(labels[k], v, "{labels}");
    }
    let prom = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    let sent = prom
        .lines()
        .find_map(|l| l.strip_prefix("openmanager_remote_write_samples_sent_total "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert_eq!(sent, Some(24), "12 samples of two metrics each:\n{prom}");
    assert!(prom.contains("openmanager_remote_write_samples_dropped_total 0"), "{prom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_samples_reach_prometheus() {
    let Some(p) = Daemon::prometheus("stored_samples_reach_prometheus").await else { return };
    round_trip(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_samples_reach_victoria_metrics() {
    let Some(vm) = Daemon::victoria_metrics("stored_samples_reach_victoria_metrics").await else { return };
    round_trip(vm).await;
}
