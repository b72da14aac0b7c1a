//! Shared helpers: a temp-dir store with test-friendly settings and sample builders.

use std::time::Duration;

use store::{Config, Sample, Store};
use tempfile::TempDir;

/// Midnight UTC, so hour/minute buckets line up with round numbers.
pub const T0: i64 = 1_750_032_000_000;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 86_400_000;

pub fn config(dir: &TempDir) -> Config {
    let mut cfg = Config::new(dir.path().join("metrics.db"));
    cfg.batch_linger = Duration::ZERO;
    cfg
}

pub fn open(dir: &TempDir) -> Store {
    Store::open(config(dir)).unwrap()
}

pub fn sample(server: &str, ts: i64, cpu: f64) -> Sample {
    Sample::new(server, ts).with("cpu", cpu).with("net_rx", cpu * 1000.0)
}

/// `n` samples every `step_ms` from `start`, cpu = index.
pub fn series(server: &str, start: i64, step_ms: i64, n: usize) -> Vec<Sample> {
    (0..n).map(|i| sample(server, start + i as i64 * step_ms, i as f64)).collect()
}

/// Write in chunks the store accepts.
pub async fn write_all(store: &Store, samples: Vec<Sample>) -> u64 {
    let mut inserted = 0;
    for chunk in samples.chunks(5_000) {
        inserted += store.write(chunk.to_vec()).await.unwrap().inserted;
    }
    inserted
}

/// Every point of a tier in a range, following cursors.
pub async fn all_points(
    store: &Store,
    tier: store::Tier,
    server: &str,
    metrics: &[&str],
    from: i64,
    to: i64,
) -> Vec<store::Point> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.history_at(tier, server, metrics, from, to, 1000, cursor.as_deref()).await.unwrap();
        out.extend(page.points);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}
