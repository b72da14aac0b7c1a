//! `ws-fanout --url ws://127.0.0.1:PORT/ws --token T --clients 1000 --seconds 20`: opens N WebSocket
//! clients and measures, for every `system_update` each receives, the delay from the hub's
//! timestamp to receipt. Prints counts and p50/p99/max in ms.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use loadgen::{arg, arg_num, histogram, loopback_only, print_percentiles};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url = arg("--url", "ws://127.0.0.1:10000/ws");
    loopback_only(&url)?;
    let token = arg("--token", "");
    let clients = arg_num("--clients", 1000)?;
    let seconds = arg_num("--seconds", 20)?;
    let warmup = Duration::from_secs(arg_num("--warmup", 3)?);
    let hist = Arc::new(Mutex::new(histogram()?));
    let connected = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (url, token, hist, connected) = (url.clone(), token.clone(), hist.clone(), connected.clone());
        tasks.push(tokio::spawn(async move {
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("{url}?token={token}")).await else {
                return;
            };
            connected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let measure_from = Instant::now() + warmup;
            while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(stop_at.into(), ws.next()).await {
                let Message::Text(text) = msg else { continue };
                if Instant::now() < measure_from || !text.starts_with("{\"type\":\"system_update\"") {
                    continue;
                }
                // The timestamp is the envelope's last field: cheap to find without parsing the body.
                let Some(ts) = text.rfind("\"timestamp\":\"").map(|i| &text[i + 13..i + 37]) else { continue };
                let Ok(sent) = ts.parse::<jiff::Timestamp>() else { continue };
                let delay_us = (jiff::Timestamp::now().as_microsecond() - sent.as_microsecond()).max(1) as u64;
                if let Ok(mut h) = hist.lock() {
                    let _ = h.record(delay_us);
                }
            }
        }));
        // Connect gradually, as browsers would.
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    for t in tasks {
        let _ = t.await;
    }
    println!("ws_clients_connected={}", connected.load(std::sync::atomic::Ordering::Relaxed));
    let h = hist.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    print_percentiles("ws_update_delay", &h);
    Ok(())
}
