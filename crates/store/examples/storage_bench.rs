//! Manual benchmark: bytes per server per 30 days (via `store::bench`) and ingest throughput.
//! Usage: `cargo run --release -p store --example storage_bench [servers] [--size-only]`.
//! Prints `key=value` lines; `bench/storage.sh` greps `bytes_per_server_30d=`.

use std::time::{Duration, Instant};

use store::{Config, Durability, Sample, Store};

/// `tasks` concurrent "agents", each sending `per_task` one-sample writes and awaiting each ack,
/// which is how the hub's ingest behaves (one request, one acknowledged write).
async fn ingest_rate(durability: Durability, tasks: usize, per_task: usize) -> Result<f64, store::Error> {
    let dir = std::env::temp_dir().join(format!("store-ingest-{}-{durability:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = Config::new(dir.join("ingest.db"));
    cfg.durability = durability;
    cfg.batch_linger = Duration::from_millis(2);
    let store = Store::open(cfg)?;
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut g = store::bench::SyntheticServer::new(t);
            for i in 0..per_task {
                let s: Sample = g.sample(1_750_000_000_000 + i as i64 * 5_000);
                store.write(vec![s]).await?;
            }
            Ok::<_, store::Error>(())
        }));
    }
    for h in handles {
        h.await.map_err(|e| store::Error::Join(e.to_string()))??;
    }
    let rate = (tasks * per_task) as f64 / started.elapsed().as_secs_f64();
    store.close().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rate)
}

#[tokio::main]
async fn main() -> Result<(), store::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let servers = args.iter().find_map(|a| a.parse().ok()).unwrap_or(4usize);
    let dir = std::env::temp_dir().join(format!("store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let report = store::bench::bytes_per_server_30d(&dir, servers, 30).await?;
    let _ = std::fs::remove_dir_all(&dir);
    println!("servers={}", report.servers);
    println!("samples_written={}", report.samples_written);
    println!("file_bytes_before_vacuum={}", report.file_bytes_before_vacuum);
    println!("file_bytes={}", report.file_bytes);
    println!("simulation_secs={:.1}", report.elapsed_secs);
    println!("bytes_per_server_30d={}", report.bytes_per_server_30d);
    if args.iter().any(|a| a == "--size-only") {
        return Ok(());
    }
    for durability in [Durability::Full, Durability::Normal] {
        let rate = ingest_rate(durability, 100, 200).await?;
        println!("ingest_single_sample_writes_per_sec_{durability:?}={rate:.0}");
    }
    Ok(())
}
