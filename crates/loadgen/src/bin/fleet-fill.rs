//! `fleet-fill --url http://127.0.0.1:PORT --token T --servers 5000 --minutes 60 --step 60`: registers
//! N agent servers and gives each the last M minutes of history (one sample every `--step` seconds of
//! cpu, memory, disk, load1, net_rx, net_tx with daily-ish shapes and noise), as a large fleet would
//! have; for benchmarks of what reads history (analyses). Prints the samples stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use loadgen::{arg, arg_num, loopback_only};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url = arg("--url", "http://127.0.0.1:10000");
    loopback_only(&url)?;
    let token = arg("--token", "");
    let servers = arg_num("--servers", 5000)?;
    let minutes = arg_num("--minutes", 60)?;
    let step_ms = arg_num("--step", 60)?.max(1) * 1000;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let now = jiff::Timestamp::now().as_millisecond();
    let points = (minutes * 60_000 / step_ms).max(1) as i64;
    let stored = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    futures_util::stream::iter(0..servers)
        .for_each_concurrent(32, |s| {
            let (client, url, token, stored, failed) =
                (client.clone(), url.clone(), token.clone(), stored.clone(), failed.clone());
            async move {
                let samples: Vec<serde_json::Value> = (0..points)
                    .map(|i| {
                        let t = now - (points - i) * step_ms as i64;
                        let x = (t / 1000) as f64;
                        let wave = |period: f64, phase: f64| ((x / period + phase + s as f64).sin() + 1.0) / 2.0;
                        let noise = ((x * 12.9898 + s as f64 * 78.233).sin() * 43758.5453).fract().abs();
                        json!({"timestampMs": t, "values": {
                            "cpu": 10.0 + 60.0 * wave(3600.0, 0.0) + 5.0 * noise,
                            "memory": 30.0 + 40.0 * wave(7200.0, 1.0) + 3.0 * noise,
                            "disk": 40.0 + (i as f64 / points as f64) * 5.0,
                            "load1": 0.5 + 2.0 * wave(1800.0, 2.0),
                            "net_rx": 1e5 * wave(900.0, 3.0) + 1e4 * noise,
                            "net_tx": 5e4 * wave(900.0, 4.0) + 1e4 * noise,
                        }})
                    })
                    .collect();
                for chunk in samples.chunks(1000) {
                    let body = json!({"type": "report", "version": 1,
                        "agent": {"machineId": format!("fill-{s}"), "name": format!("fill-{s}"), "hostname": "fill",
                                  "agentVersion": "bench"},
                        "samples": chunk});
                    match client.post(format!("{url}/api/agents/report")).bearer_auth(&token).json(&body).send().await {
                        Ok(r) if r.status().is_success() => {
                            let ack: serde_json::Value = r.json().await.unwrap_or_default();
                            stored.fetch_add(ack["accepted"].as_u64().unwrap_or(0), Ordering::Relaxed);
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        })
        .await;
    println!("fill_samples_stored={}", stored.load(Ordering::Relaxed));
    println!("fill_requests_failed={}", failed.load(Ordering::Relaxed));
    Ok(())
}
