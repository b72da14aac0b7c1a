//! Public value types: samples, write outcomes, tiers, history points and configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// One observation of a server: a set of named metric values at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub server: String,
    pub timestamp_ms: i64,
    /// Metric name -> value. Non-finite values are skipped at write time (SQLite and the
    /// quantizer have no use for NaN; a missing value reads back as absent, not as 0).
    pub values: BTreeMap<String, f64>,
}

impl Sample {
    pub fn new(server: impl Into<String>, timestamp_ms: i64) -> Self {
        Self { server: server.into(), timestamp_ms, values: BTreeMap::new() }
    }

    #[must_use]
    pub fn with(mut self, metric: impl Into<String>, value: f64) -> Self {
        self.values.insert(metric.into(), value);
        self
    }
}

/// What happened to the samples of one `write`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WriteOutcome {
    /// Newly stored samples.
    pub inserted: u64,
    /// Same (server, timestamp) already stored: dropped.
    pub duplicates: u64,
    /// Older than the server's 1-minute rollup watermark and not found in raw storage: dropped,
    /// because that minute is already summarised (it might also be a retry of data whose raw row
    /// retention removed; either way it must not be counted again).
    pub late: u64,
}

impl WriteOutcome {
    pub(crate) fn add(&mut self, other: WriteOutcome) {
        self.inserted += other.inserted;
        self.duplicates += other.duplicates;
        self.late += other.late;
    }
}

/// Storage tiers, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Tier {
    /// Samples as written, one row each.
    Raw,
    /// 1-minute rollups.
    M1,
    /// 10-minute rollups.
    M10,
    /// 1-hour rollups.
    H1,
}

impl Tier {
    pub const ROLLUPS: [Tier; 3] = [Tier::M1, Tier::M10, Tier::H1];

    pub(crate) fn code(self) -> i64 {
        match self {
            Tier::Raw => 0,
            Tier::M1 => 1,
            Tier::M10 => 2,
            Tier::H1 => 3,
        }
    }

    pub(crate) fn from_code(code: i64) -> Option<Tier> {
        match code {
            0 => Some(Tier::Raw),
            1 => Some(Tier::M1),
            2 => Some(Tier::M10),
            3 => Some(Tier::H1),
            _ => None,
        }
    }

    /// Bucket width in ms (0 for raw).
    pub fn step_ms(self) -> i64 {
        match self {
            Tier::Raw => 0,
            Tier::M1 => 60_000,
            Tier::M10 => 600_000,
            Tier::H1 => 3_600_000,
        }
    }

    /// Time span of one stored chunk row. Chosen so a chunk holds 60-72 points: small enough
    /// that re-encoding the open chunk at each rollup is cheap and a row never overflows a 4 KiB
    /// page (worst case ~72 * 34 bytes of raw f64 columns), large enough that the per-row
    /// overhead (key + index entry, ~25 bytes) is a few percent.
    pub(crate) fn chunk_ms(self) -> i64 {
        match self {
            Tier::Raw => 0,
            Tier::M1 => 3_600_000,
            Tier::M10 => 12 * 3_600_000,
            Tier::H1 => 72 * 3_600_000,
        }
    }

    /// The tier a rollup tier is computed from.
    pub(crate) fn source(self) -> Tier {
        match self {
            Tier::Raw | Tier::M1 => Tier::Raw,
            Tier::M10 => Tier::M1,
            Tier::H1 => Tier::M10,
        }
    }
}

/// Aggregate of one metric at one history point. For raw points avg = min = max.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    pub avg: f64,
    pub min: f64,
    pub max: f64,
}

/// One point of a history answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub timestamp_ms: i64,
    pub values: BTreeMap<String, Stat>,
}

/// Answer to [`crate::Store::history`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub points: Vec<Point>,
    pub tier: Tier,
    /// Bucket width; for raw, the nominal sample interval from [`Config::raw_interval_secs`].
    pub resolution_seconds: u64,
    /// Pass back to get the next page; `None` when this page is the last.
    pub next_cursor: Option<String>,
}

/// Result of `PRAGMA integrity_check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    pub ok: bool,
    /// "ok" or SQLite's list of problems (bounded to 100 lines).
    pub messages: Vec<String>,
}

/// How hard a commit is pushed to disk. See the crate docs for the measurement behind the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is fsynced at every commit; an acknowledged write survives a
    /// power loss or kernel crash, not only a process crash.
    Full,
    /// `synchronous=NORMAL`: survives a process crash; the last commits before a power loss may
    /// be rolled back (the database stays consistent).
    Normal,
}

/// Store configuration. `Config::new(path)` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub durability: Durability,
    /// Write requests queued before `submit` reports [`crate::Error::Busy`] and `write` waits.
    pub queue_capacity: usize,
    /// A transaction is committed once it holds this many samples (or the queue is empty).
    pub max_batch_samples: usize,
    /// Largest accepted single `write`.
    pub max_write_samples: usize,
    /// How long the writer waits for more requests after the first one of a batch. Must be < 1 s
    /// (the batching guarantee); a few ms amortise fsyncs under load without hurting latency.
    pub batch_linger: Duration,
    /// Read-only connections kept for queries (also the bound on concurrent queries).
    pub readers: usize,
    /// Nominal raw sample interval, reported as the raw tier's resolution.
    pub raw_interval_secs: u64,
    /// Raw samples are kept this long (and at least until rolled up).
    pub raw_retention: Duration,
    pub m1_retention: Duration,
    pub m10_retention: Duration,
    pub h1_retention: Duration,
    /// A minute is rolled up only once it is this far in the past, so samples that arrive a
    /// little late (agent retries, clock skew) still count. Later samples are reported `late`.
    pub rollup_grace: Duration,
    /// A server silent for less than this is not rolled up past its newest sample, so an agent's
    /// spooled samples replayed after an outage still count.
    pub silence_horizon: Duration,
    /// SQLite page cache per connection, KiB (bounded memory on a 1 GB host).
    pub cache_kib: i64,
    /// PostgreSQL: most connections this store opens (writers, queries and maintenance share
    /// them). Small by default: a free Supabase project allows few connections for every client.
    pub pool_size: usize,
    /// PostgreSQL: how long opening one connection (TCP, TLS, authentication) may take.
    pub connect_timeout: Duration,
    /// PostgreSQL: `statement_timeout` set on every connection, and the bound on waiting for a
    /// free pooled connection.
    pub statement_timeout: Duration,
}

const DAY: u64 = 86_400;

impl Config {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::Full,
            queue_capacity: 256,
            max_batch_samples: 4096,
            max_write_samples: 10_000,
            batch_linger: Duration::from_millis(5),
            readers: 2,
            raw_interval_secs: 5,
            raw_retention: Duration::from_secs(3600),
            m1_retention: Duration::from_secs(7 * DAY),
            m10_retention: Duration::from_secs(90 * DAY),
            h1_retention: Duration::from_secs(730 * DAY),
            rollup_grace: Duration::from_secs(120),
            silence_horizon: Duration::from_secs(6 * 3600),
            cache_kib: 8 * 1024,
            pool_size: 4,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
        }
    }

    pub(crate) fn retention_ms(&self, tier: Tier) -> i64 {
        let d = match tier {
            Tier::Raw => self.raw_retention,
            Tier::M1 => self.m1_retention,
            Tier::M10 => self.m10_retention,
            Tier::H1 => self.h1_retention,
        };
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }
}
