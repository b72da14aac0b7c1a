//! `cross-hub --post http://127.0.0.1:A --ws ws://127.0.0.1:B/ws --token T --samples 60`: the delay
//! from an agent's report acknowledged by hub A to the same reading in a `server_update` on a
//! WebSocket connected to hub B (the fan-out across hubs through Redis). One probe agent reports a
//! new cpu value, the client waits for it on B (at most 5 s, else counted as missed), then the next.
//! Prints count, missed and p50/p99/max in ms.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use loadgen::{arg, arg_num, histogram, loopback_only, print_percentiles};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const PROBE: &str = "cross-hub-probe";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let post = arg("--post", "http://127.0.0.1:10000");
    let ws_url = arg("--ws", "ws://127.0.0.1:10001/ws");
    loopback_only(&post)?;
    loopback_only(&ws_url)?;
    let token = arg("--token", "");
    let samples = arg_num("--samples", 60)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{ws_url}?token={token}")).await?;
    // Only the probe's view, as a dashboard showing one server asks: a browser following a large
    // fleet gets the same path, with bigger messages.
    let sub = json!({"type": "subscribe", "topics": ["servers"], "serverIds": [PROBE]});
    ws.send(Message::Text(sub.to_string().into())).await?;
    let mut hist = histogram()?;
    let mut missed = 0u64;
    for i in 0..samples {
        // One decimal: the WebSocket view rounds to it.
        let cpu = (i % 90) as f64 + 1.5;
        let body = json!({"type": "report", "version": 1,
            "agent": {"machineId": PROBE, "name": PROBE, "hostname": "probe", "agentVersion": "bench"},
            "samples": [{"timestampMs": jiff::Timestamp::now().as_millisecond(), "values": {"cpu": cpu, "memory": 1.0}}]});
        let t0 = Instant::now();
        let res = client.post(format!("{post}/api/agents/report")).bearer_auth(&token).json(&body).send().await?;
        anyhow::ensure!(res.status().is_success(), "report refused: {}", res.status());
        let deadline = t0 + Duration::from_secs(5);
        let mut seen = false;
        loop {
            let msg = match tokio::time::timeout_at(deadline.into(), ws.next()).await {
                Ok(Some(Ok(msg))) => msg,
                Err(_) => break,
                // Say why the socket ended, once: a closed socket would miss every later probe.
                Ok(other) => anyhow::bail!("the WebSocket ended after {i} probes: {other:?}"),
            };
            let Message::Text(text) = msg else { continue };
            if !text.starts_with("{\"type\":\"server_update\"") || !text.contains(PROBE) {
                continue;
            }
            let v: Value = serde_json::from_str(&text)?;
            let hit = v["data"]["servers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["id"] == PROBE && s["cpu"].as_f64() == Some(cpu));
            if hit {
                let _ = hist.record((t0.elapsed().as_micros() as u64).max(1));
                seen = true;
                break;
            }
        }
        if !seen {
            missed += 1;
        }
    }
    println!("cross_hub_missed={missed}");
    print_percentiles("cross_hub", &hist);
    Ok(())
}
