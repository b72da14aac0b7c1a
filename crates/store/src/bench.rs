//! Storage-size measurement: 30 days of realistic synthetic samples through the real pipeline
//! (writes, rollups, retention), then the SQLite file size after VACUUM.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::Store;
use crate::error::Result;
use crate::types::{Config, Sample};

/// Assumed cadence: agents report every 5 s. (The hub's own 1 s self-monitoring is meant to be
/// averaged to 5 s before it is stored; it is then one more server of the same size.)
pub const SAMPLE_INTERVAL_MS: i64 = 5_000;
/// The six core metrics the history API serves.
pub const CORE_METRICS: [&str; 6] = ["cpu", "memory", "disk", "net_rx", "net_tx", "load1"];

#[derive(Debug, Clone, Serialize)]
pub struct StorageReport {
    pub servers: usize,
    pub days: u32,
    pub samples_written: u64,
    /// `page_count * page_size` after the simulation, before VACUUM (includes free pages).
    pub file_bytes_before_vacuum: u64,
    /// `page_count * page_size` after VACUUM.
    pub file_bytes: u64,
    /// `file_bytes / servers`, scaled to 30 days.
    pub bytes_per_server_30d: u64,
    /// Wall time of the whole simulation (writes + rollups + retention).
    pub elapsed_secs: f64,
}

/// SplitMix64: deterministic, dependency-free noise.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal(0, 1): sum of uniforms.
    fn noise(&mut self) -> f64 {
        (0..4).map(|_| self.next_f64()).sum::<f64>() * 1.732 - 3.464
    }
}

/// A server whose metrics look like a real host: daily cycles, noise, occasional bursts, slow
/// disk growth and noisy byte rates.
pub struct SyntheticServer {
    name: String,
    rng: Rng,
    phase: f64,
    mem: f64,
    burst: u32,
}

impl SyntheticServer {
    pub fn new(index: usize) -> Self {
        let mut rng = Rng(0x5EED ^ (index as u64).wrapping_mul(0x1234_5678_9ABC_DEF1));
        let phase = rng.next_f64() * std::f64::consts::TAU;
        Self { name: format!("server-{index:02}"), rng, phase, mem: 40.0, burst: 0 }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sample(&mut self, ts_ms: i64) -> Sample {
        let day = (ts_ms as f64 / 86_400_000.0) * std::f64::consts::TAU + self.phase;
        let r = &mut self.rng;
        if self.burst == 0 && r.next_f64() < 0.002 {
            self.burst = 12 + (r.next_f64() * 60.0) as u32;
        }
        let burst = if self.burst > 0 {
            self.burst -= 1;
            35.0
        } else {
            0.0
        };
        let cpu = (18.0 + 12.0 * day.sin() + burst + 4.0 * r.noise()).clamp(0.0, 100.0);
        self.mem = (self.mem + 0.05 * r.noise() + 0.002 * (45.0 - self.mem)).clamp(5.0, 95.0);
        let disk = 30.0 + 5.0 * (ts_ms.rem_euclid(30 * 86_400_000) as f64 / (30.0 * 86_400_000.0)) + 0.005 * r.noise();
        let traffic = 1.0 + 0.6 * day.sin() + burst / 50.0;
        let net_rx = (150_000.0 * traffic * (1.0 + 0.3 * r.noise())).max(0.0);
        let net_tx = (40_000.0 * traffic * (1.0 + 0.3 * r.noise())).max(0.0);
        let load1 = (cpu / 30.0 + 0.1 * r.noise()).max(0.0);
        let mut s = Sample::new(self.name.clone(), ts_ms);
        for (k, v) in CORE_METRICS.iter().zip([cpu, self.mem, disk, net_rx, net_tx, load1]) {
            s.values.insert((*k).to_owned(), v);
        }
        s
    }
}

/// Simulate `days` of history for `servers` servers in a fresh database under `dir`, with
/// rollups every simulated 10 minutes and retention every simulated hour, as the hub would.
pub async fn bytes_per_server_30d(dir: &Path, servers: usize, days: u32) -> Result<StorageReport> {
    const HOUR_MS: i64 = 3_600_000;
    let path = dir.join("storage-bench.db");
    let mut cfg = Config::new(&path);
    cfg.batch_linger = std::time::Duration::ZERO;
    // File size does not depend on fsync policy; skipping fsyncs keeps the simulation CPU-bound.
    cfg.durability = crate::types::Durability::Normal;
    let store = Store::open(cfg)?;
    let started = Instant::now();
    let t0 = 1_750_000_000_000 / 86_400_000 * 86_400_000;
    let mut gens: Vec<SyntheticServer> = (0..servers).map(SyntheticServer::new).collect();
    let mut written = 0u64;
    let step_ms = 10 * 60_000;
    let steps = i64::from(days) * 24 * HOUR_MS / step_ms;
    for step in 0..steps {
        let start = t0 + step * step_ms;
        let mut batch = Vec::with_capacity(gens.len() * 120);
        for g in &mut gens {
            batch.extend((start..start + step_ms).step_by(SAMPLE_INTERVAL_MS as usize).map(|ts| g.sample(ts)));
        }
        for part in batch.chunks(crate::types::Config::new("").max_write_samples) {
            written += store.write(part.to_vec()).await?.inserted;
        }
        let now = start + step_ms;
        store.rollup(now).await?;
        if now % HOUR_MS == 0 {
            store.apply_retention(now).await?;
        }
    }
    store.close().await?;
    let elapsed_secs = started.elapsed().as_secs_f64();
    let conn = rusqlite::Connection::open(&path)?;
    let size = |c: &rusqlite::Connection| -> Result<u64> {
        let pages: i64 = c.pragma_query_value(None, "page_count", |r| r.get(0))?;
        let page: i64 = c.pragma_query_value(None, "page_size", |r| r.get(0))?;
        Ok((pages * page) as u64)
    };
    let before = size(&conn)?;
    conn.execute_batch("VACUUM")?;
    let after = size(&conn)?;
    let per_server = after as f64 / servers.max(1) as f64 * 30.0 / f64::from(days.max(1));
    Ok(StorageReport {
        servers,
        days,
        samples_written: written,
        file_bytes_before_vacuum: before,
        file_bytes: after,
        bytes_per_server_30d: per_server.round() as u64,
        elapsed_secs,
    })
}
