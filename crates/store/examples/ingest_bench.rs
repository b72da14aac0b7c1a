//! Ingest benchmark, SQLite vs PostgreSQL: N concurrent writers (agents), each sending one-sample
//! writes and awaiting each acknowledgement, as the hub's ingest path does. Prints acknowledged
//! samples/s and ack latency percentiles per backend and writer count.
//!
//! Usage: `cargo run --release -p store --example ingest_bench -- [--writers 1,10,100]
//! [--per-writer 500] [--pool 4] [--backends sqlite,postgres] [--pg postgres://postgres@127.0.0.1:5432/postgres]`.
//! PostgreSQL runs in a database created for the run (and dropped after) through the admin URL.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use store::{Config, Store};

struct Args {
    writers: Vec<usize>,
    per_writer: usize,
    pool: usize,
    backends: Vec<String>,
    pg: String,
}

fn args() -> Args {
    let mut a = Args {
        writers: vec![1, 10, 100],
        per_writer: 500,
        pool: 4,
        backends: vec!["sqlite".into(), "postgres".into()],
        pg: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair.get(1).map(String::as_str).unwrap_or_default());
        match k {
            "--writers" => a.writers = v.split(',').filter_map(|x| x.parse().ok()).collect(),
            "--per-writer" => a.per_writer = v.parse().unwrap_or(a.per_writer),
            "--pool" => a.pool = v.parse().unwrap_or(a.pool),
            "--backends" => a.backends = v.split(',').map(str::to_owned).collect(),
            "--pg" => a.pg = v.to_owned(),
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    a
}

async fn admin(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client.batch_execute(sql).await
}

/// One run: `writers` tasks x `per_writer` acknowledged one-sample writes.
async fn run(store: &Store, writers: usize, per_writer: usize) -> (f64, Histogram<u64>) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.spawn(async move {
            let mut hist = Histogram::<u64>::new(2).unwrap_or_else(|_| unreachable!());
            let mut g = store::bench::SyntheticServer::new(w);
            for i in 0..per_writer {
                let s = g.sample(1_750_000_000_000 + i as i64 * 5_000);
                let t = Instant::now();
                loop {
                    match store.write(vec![s.clone()]).await {
                        Ok(_) => break,
                        Err(e) if e.is_transient() => tokio::task::yield_now().await,
                        Err(e) => panic!("write failed: {e}"),
                    }
                }
                let _ = hist.record(t.elapsed().as_micros() as u64);
            }
            hist
        });
    }
    let mut all = Histogram::<u64>::new(2).unwrap_or_else(|_| unreachable!());
    for h in tasks.join_all().await {
        let _ = all.add(h);
    }
    let rate = (writers * per_writer) as f64 / started.elapsed().as_secs_f64();
    (rate, all)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    println!("per_writer={} pool={} (one-sample writes, each awaited)", a.per_writer, a.pool);
    for backend in &a.backends {
        for &writers in &a.writers {
            let dir = tempfile::tempdir()?;
            let mut cfg = Config::new(dir.path().join("bench.db"));
            // As the hub runs it: group commit without lingering, durable commits.
            cfg.batch_linger = Duration::ZERO;
            cfg.pool_size = a.pool;
            let db = format!("om_bench_{}_{writers}", std::process::id());
            let url = match backend.as_str() {
                "postgres" => {
                    admin(&a.pg, &format!("CREATE DATABASE {db}")).await?;
                    let base = a.pg.split('?').next().unwrap_or_default();
                    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
                    Some(format!("{base}/{db}?sslmode=disable"))
                }
                _ => None,
            };
            let store = Store::open_url(url.as_deref(), cfg).await?;
            let (rate, hist) = run(&store, writers, a.per_writer).await;
            store.close().await?;
            if url.is_some() {
                admin(&a.pg, &format!("DROP DATABASE {db} WITH (FORCE)")).await?;
            }
            println!(
                "backend={backend} writers={writers} acked_samples_per_s={rate:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
                hist.value_at_quantile(0.5) as f64 / 1000.0,
                hist.value_at_quantile(0.99) as f64 / 1000.0,
                hist.max() as f64 / 1000.0
            );
        }
    }
    Ok(())
}
