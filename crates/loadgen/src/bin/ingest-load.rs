//! `ingest-load --url http://127.0.0.1:PORT --token T --agents 1000 --metrics 30 --interval 5 --seconds 30`:
//! simulates agents each sending one sample of N metrics every interval (gzip, like the real agent),
//! and measures each request's time to acknowledgement. Prints sent, accepted and p50/p99.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use loadgen::{arg, arg_num, histogram, loopback_only, print_percentiles};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url = arg("--url", "http://127.0.0.1:10000");
    loopback_only(&url)?;
    let token = arg("--token", "");
    let agents = arg_num("--agents", 1000)?;
    let metrics = arg_num("--metrics", 30)?;
    let interval = Duration::from_secs(arg_num("--interval", 5)?);
    let seconds = arg_num("--seconds", 30)?;
    // reqwest is built without a default TLS provider (see the workspace Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().pool_max_idle_per_host(usize::MAX).build()?;
    let hist = Arc::new(std::sync::Mutex::new(histogram()?));
    let (sent, accepted, failed) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for a in 0..agents {
        let (client, url, token, hist) = (client.clone(), url.clone(), token.clone(), hist.clone());
        let (sent, accepted, failed) = (sent.clone(), accepted.clone(), failed.clone());
        // Spread the agents over the interval, as real ones drift apart.
        let offset = interval.mul_f64(a as f64 / agents as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                if Instant::now() >= stop_at {
                    return;
                }
                let now = jiff::Timestamp::now().as_millisecond();
                let values: serde_json::Map<String, serde_json::Value> =
                    (0..metrics).map(|m| (format!("m{m}"), json!((a * 7 + m) as f64 % 100.0))).collect();
                let body = json!({"type": "report", "version": 1,
                    "agent": {"machineId": format!("load-{a}"), "name": format!("load-{a}"), "hostname": "load", "agentVersion": "bench"},
                    "samples": [{"timestampMs": now, "values": values}]});
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = std::io::Write::write_all(&mut gz, body.to_string().as_bytes());
                let Ok(bytes) = gz.finish() else { continue };
                sent.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                let res = client
                    .post(format!("{url}/api/agents/report"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .header("content-encoding", "gzip")
                    .body(bytes)
                    .send()
                    .await;
                let us = t0.elapsed().as_micros() as u64;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let ack: serde_json::Value = r.json().await.unwrap_or_default();
                        accepted.fetch_add(ack["accepted"].as_u64().unwrap_or(0), Ordering::Relaxed);
                        if let Ok(mut h) = hist.lock() {
                            let _ = h.record(us.max(1));
                        }
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!("ingest_samples_sent={}", sent.load(Ordering::Relaxed));
    println!("ingest_samples_accepted={}", accepted.load(Ordering::Relaxed));
    println!("ingest_requests_failed={}", failed.load(Ordering::Relaxed));
    let h = hist.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    print_percentiles("ingest", &h);
    Ok(())
}
