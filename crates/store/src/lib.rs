//! Metrics history, key-value state and schema migrations in embedded SQLite or PostgreSQL — the
//! only SQL in the project.
//!
//! # Backends
//! [`Store::open_url`] picks one from a URL: `postgres://`/`postgresql://` (module `pg`: a small
//! connection pool, writer tasks doing multi-row inserts, advisory locks so migrations, rollups
//! and retention run on one hub at a time) or `sqlite://PATH`/none (module `sqlite`, described
//! below). The tier algorithms (rollups, retention, history queries) exist once, over the
//! `db::Db` trait; each backend supplies its SQL. Behaviour is the same for every caller, which one
//! conformance suite (`tests/store`) checks against both.
//!
//! # Configuration (PostgreSQL)
//! - URL: `postgres://user:password@host:port/db?sslmode=...&sslrootcert=...` (libpq's names).
//!   `sslmode`: `disable`; `prefer` (default: TLS if offered, unverified); `require` (TLS,
//!   unverified, as libpq; with `sslrootcert` it verifies the chain); `verify-ca`; `verify-full`
//!   (chain and host name: what Supabase, Neon and Cloud SQL document). `sslrootcert=PATH` is a
//!   PEM file (Supabase's CA), absent or `system` means the system's roots. TLS is rustls with
//!   the `ring` provider. [`mask_url`] / [`DatabaseUrl`]'s `Display` hide the password.
//! - [`Config::pool_size`] (default 4, the bound on connections: half write, the rest query and
//!   run maintenance), [`Config::connect_timeout`] (5 s), [`Config::statement_timeout`] (30 s,
//!   also the wait for a free connection, past which a caller gets [`Error::Busy`]),
//!   [`Config::queue_capacity`] (queued writes before `submit` says `Busy`).
//! - Errors: [`Error::kind`] sorts them for callers; an outage is [`ErrorKind::Unavailable`]
//!   (the store reconnects by itself: the pool replaces broken connections), a full disk
//!   [`ErrorKind::DiskFull`]; [`Store::health`] reports either until it is over.
//!
//! # Design (SQLite; PostgreSQL keeps the same tiers, rules and acknowledgement)
//! - **One writer thread** owns the only read-write connection and takes requests from a bounded
//!   channel. Writes queued together are committed in one transaction (group commit: the batch is
//!   whatever is queued, plus up to [`Config::batch_linger`] (< 1 s) of stragglers, capped at
//!   [`Config::max_batch_samples`]); every `write` resolves only after *its* commit.
//! - **Readers** use a bounded pool of read-only connections on tokio's blocking threads; WAL lets
//!   them read while the writer commits.
//! - **Durability**: `synchronous=FULL` by default, so an acknowledged write survives power loss,
//!   not only a process crash. With group commit the cost is one WAL fsync per batch, not per
//!   sample: measured (release, 100 concurrent one-sample writers) ~15k acked writes/s with FULL
//!   vs ~25k/s with NORMAL, while the hub needs ~20/s for 100 agents at 5 s. NORMAL is offered
//!   ([`Durability::Normal`]) but buys nothing that matters here.
//! - **Tiers**: raw samples (row per sample, quantized varints) kept 1 h; 1-minute rollups kept
//!   7 days; 10-minute kept 90 days; 1-hour kept 2 years. Rollup points hold avg/min/max/count
//!   and are stored columnar in chunk rows (see [`encoding`]). `rollup(now)` and
//!   `apply_retention(now)` are idempotent, watermark-driven and catch up after downtime. The
//!   supervisor should call `rollup` every few minutes (each call rewrites the open chunk of each
//!   server x metric) and `apply_retention` about hourly.
//! - **Size**: [`bench::bytes_per_server_30d`] (5 s cadence, six core metrics, realistic noise)
//!   measures ~580 KB per server per 30 days after VACUUM (~700 KB before), against a 1 MiB
//!   target. Quantization: percent and load to 0.01, byte rates to 1 B/s, others to 0.001. No
//!   general-purpose compressor: on delta/zigzag varints lz4 gains little, and zstd would add a
//!   C build for a target already met.
//! - **Idempotence**: `(server, timestamp)` is the raw primary key; a repeat is a duplicate. A
//!   sample older than the server's 1-minute watermark (already summarised) is never inserted.

pub mod bench;
mod copy;
mod db;
pub mod encoding;
mod error;
mod health;
mod pg;
mod query;
mod retention;
mod rollup;
mod sqlite;
mod types;
mod url;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::oneshot;

pub use copy::{CopyProgress, CopyReport, PROGRESS_PREFIX as COPY_PROGRESS_PREFIX, copy_store};
pub use error::{Error, ErrorKind, Result};
pub use query::MAX_LIMIT;
pub use retention::RetentionReport;
pub use rollup::RollupReport;
pub use sqlite::{FileReport, SCHEMA_VERSION, backup_file, verify_file};
pub use types::{Config, Durability, History, IntegrityReport, Point, Sample, Stat, Tier, WriteOutcome};
pub use url::{DatabaseUrl, mask_url};

/// PostgreSQL: the session advisory lock key a hub holds while it runs rollups or retention (the
/// others skip that round). Documented for operators checking `pg_locks`.
pub const PG_MAINTENANCE_LOCK_KEY: i64 = pg::MAINTENANCE_LOCK_KEY;

use db::Db;
use pg::PgStore;
use sqlite::SqliteStore;

const MAX_ID_LEN: usize = 128;
const MAX_KV_KEY_LEN: usize = 256;
/// Small state only: large documents would bloat every WAL frame (or TOAST row) they touch.
const MAX_KV_VALUE_LEN: usize = 1024 * 1024;

/// Handle to the store; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: Config,
    backend: Backend,
}

/// Exactly two backends; every public method dispatches here, in one place.
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A write already queued; await [`PendingWrite::wait`] for its commit.
pub struct PendingWrite {
    rx: oneshot::Receiver<Result<WriteOutcome>>,
}

impl PendingWrite {
    pub async fn wait(self) -> Result<WriteOutcome> {
        self.rx.await.map_err(|_| Error::Closed)?
    }
}

/// A history request with owned arguments, as it travels to a blocking thread.
pub(crate) struct HistoryArgs {
    server: String,
    metrics: Vec<String>,
    from_ms: i64,
    to_ms: i64,
    limit: usize,
    cursor: Option<String>,
    tier: Option<Tier>,
}

impl HistoryArgs {
    pub(crate) fn request(&self) -> query::HistoryRequest<'_> {
        query::HistoryRequest {
            server: &self.server,
            metrics: &self.metrics,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            limit: self.limit,
            cursor: self.cursor.as_deref(),
            tier: self.tier,
        }
    }
}

fn validate_id(kind: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!("{kind} id must be 1-{MAX_ID_LEN} printable characters: {id:?}")));
    }
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Store {
    /// Open the embedded SQLite store at `cfg.path` (creating and migrating as needed) and start
    /// the writer thread. Blocking: call at startup or from `spawn_blocking`.
    pub fn open(cfg: Config) -> Result<Store> {
        let backend = Backend::Sqlite(SqliteStore::open(cfg.clone())?);
        Ok(Store { inner: Arc::new(Inner { cfg, backend }) })
    }

    /// Open the store a URL names (`OPENMANAGER_DATABASE_URL`): `postgres://...` or
    /// `postgresql://...` connects to PostgreSQL (migrating it, once, under an advisory lock);
    /// `sqlite://PATH` opens that file; `None` or `""` opens the embedded store at `cfg.path`,
    /// as [`Store::open`] does. PostgreSQL URLs take libpq's `sslmode` (`disable`, `prefer`,
    /// `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file, or `system`).
    pub async fn open_url(url: Option<&str>, mut cfg: Config) -> Result<Store> {
        let url = match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => DatabaseUrl::parse(u)?,
            None => DatabaseUrl::Sqlite(cfg.path.clone()),
        };
        let backend = match url {
            DatabaseUrl::Sqlite(path) => {
                cfg.path = path;
                let c = cfg.clone();
                let store = tokio::task::spawn_blocking(move || SqliteStore::open(c))
                    .await
                    .map_err(|e| Error::Join(e.to_string()))??;
                Backend::Sqlite(store)
            }
            DatabaseUrl::Postgres(url) => Backend::Postgres(PgStore::open(&url, cfg.clone()).await?),
        };
        Ok(Store { inner: Arc::new(Inner { cfg, backend }) })
    }

    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// `"sqlite"` or `"postgres"` (for `/api/health` and logs).
    pub fn backend(&self) -> &'static str {
        match self.inner.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    fn check_samples(&self, samples: &[Sample]) -> Result<()> {
        if samples.len() > self.inner.cfg.max_write_samples {
            return Err(Error::InvalidInput(format!(
                "{} samples in one write (max {})",
                samples.len(),
                self.inner.cfg.max_write_samples
            )));
        }
        for s in samples {
            validate_id("server", &s.server)?;
            for name in s.values.keys() {
                validate_id("metric", name)?;
            }
        }
        Ok(())
    }

    /// Queue samples without waiting for room: [`Error::Busy`] when the queue is full, so the
    /// ingest path can shed load (e.g. answer 503) instead of piling up memory.
    pub fn submit(&self, samples: Vec<Sample>) -> Result<PendingWrite> {
        self.check_samples(&samples)?;
        match &self.inner.backend {
            Backend::Sqlite(b) => b.submit(samples),
            Backend::Postgres(b) => b.submit(samples),
        }
    }

    /// Store samples; resolves after the transaction containing them committed.
    pub async fn write(&self, samples: Vec<Sample>) -> Result<WriteOutcome> {
        self.check_samples(&samples)?;
        match &self.inner.backend {
            Backend::Sqlite(b) => b.write(samples).await,
            Backend::Postgres(b) => b.write(samples).await,
        }
    }

    /// Compute every rollup that is due at `now_ms` (idempotent; catches up after downtime). On
    /// PostgreSQL only one hub runs it at a time: a hub that finds another one at it skips the
    /// round and says so in [`RollupReport::skipped`].
    pub async fn rollup(&self, now_ms: i64) -> Result<RollupReport> {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.rollup(now_ms).await,
            Backend::Postgres(b) => b.rollup(now_ms).await,
        }
    }

    /// Delete what is past each tier's horizon at `now_ms` and already rolled up further. On
    /// PostgreSQL, one hub at a time, like [`Store::rollup`].
    pub async fn apply_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.apply_retention(now_ms).await,
            Backend::Postgres(b) => b.apply_retention(now_ms).await,
        }
    }

    /// Remove a server and all its history. Returns whether it existed.
    pub async fn delete_server(&self, server: &str) -> Result<bool> {
        let server = server.to_owned();
        match &self.inner.backend {
            Backend::Sqlite(b) => b.delete_server(server).await,
            Backend::Postgres(b) => b.delete_server(server).await,
        }
    }

    /// History of `metrics` (empty = all) for `from_ms..=to_ms`, at the tier the range calls for
    /// (<= 1 h raw, <= 24 h 1-minute, <= 30 d 10-minute, else 1-hour; coarser if the range starts
    /// before that tier's retention horizon). Pass `next_cursor` back, with the same range, for
    /// the next page. `limit` is clamped to 1..=[`MAX_LIMIT`].
    pub async fn history(
        &self,
        server: &str,
        metrics: &[&str],
        from_ms: i64,
        to_ms: i64,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<History> {
        self.history_query(server, metrics, from_ms, to_ms, limit, cursor, None).await
    }

    /// Like [`Store::history`] but at an explicit tier (exports, debugging, tests).
    #[allow(clippy::too_many_arguments)]
    pub async fn history_at(
        &self,
        tier: Tier,
        server: &str,
        metrics: &[&str],
        from_ms: i64,
        to_ms: i64,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<History> {
        self.history_query(server, metrics, from_ms, to_ms, limit, cursor, Some(tier)).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn history_query(
        &self,
        server: &str,
        metrics: &[&str],
        from_ms: i64,
        to_ms: i64,
        limit: usize,
        cursor: Option<&str>,
        tier: Option<Tier>,
    ) -> Result<History> {
        let args = HistoryArgs {
            server: server.to_owned(),
            metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
            from_ms,
            to_ms,
            limit,
            cursor: cursor.map(str::to_owned),
            tier,
        };
        match &self.inner.backend {
            Backend::Sqlite(b) => b.history(args).await,
            Backend::Postgres(b) => b.history(args).await,
        }
    }

    /// Run `f` against a read snapshot of the database (crate-internal: the copy between backends).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.read(f).await,
            Backend::Postgres(b) => b.read(f).await,
        }
    }

    /// Run `f` in one write transaction (crate-internal: the copy between backends).
    pub(crate) async fn exec<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.exec(f).await,
            Backend::Postgres(b) => b.exec(f).await,
        }
    }

    /// The server's newest stored sample.
    pub async fn latest(&self, server: &str) -> Result<Option<Sample>> {
        let server = server.to_owned();
        self.read(move |db| query::latest(db, &server)).await
    }

    /// Every known server id, sorted.
    pub async fn server_ids(&self) -> Result<Vec<String>> {
        self.read(query::server_ids).await
    }

    /// Store a small JSON document under `key` (replacing any previous one).
    pub async fn put_kv(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        if key.is_empty() || key.len() > MAX_KV_KEY_LEN {
            return Err(Error::InvalidInput(format!("kv key must be 1-{} bytes", MAX_KV_KEY_LEN)));
        }
        let value = serde_json::to_string(value)?;
        if value.len() > MAX_KV_VALUE_LEN {
            return Err(Error::InvalidInput(format!("kv value over {} bytes", MAX_KV_VALUE_LEN)));
        }
        let key = key.to_owned();
        match &self.inner.backend {
            Backend::Sqlite(b) => b.put_kv(key, value, now_ms()).await,
            Backend::Postgres(b) => b.put_kv(key, value, now_ms()).await,
        }
    }

    pub async fn get_kv(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let key = key.to_owned();
        match &self.inner.backend {
            Backend::Sqlite(b) => b.get_kv(key).await,
            Backend::Postgres(b) => b.get_kv(key).await,
        }
    }

    /// Returns whether the key existed.
    pub async fn delete_kv(&self, key: &str) -> Result<bool> {
        let key = key.to_owned();
        match &self.inner.backend {
            Backend::Sqlite(b) => b.delete_kv(key).await,
            Backend::Postgres(b) => b.delete_kv(key).await,
        }
    }

    /// Keys starting with `prefix`, sorted (e.g. every `alert_rule/` entry).
    pub async fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = prefix.to_owned();
        match &self.inner.backend {
            Backend::Sqlite(b) => b.kv_keys(prefix).await,
            Backend::Postgres(b) => b.kv_keys(prefix).await,
        }
    }

    /// SQLite: `PRAGMA integrity_check`; corruption is reported in the result, not as a panic.
    /// PostgreSQL: the server guards its own pages; this checks the schema is present and the
    /// stored rows reference existing servers and metrics.
    pub async fn integrity_check(&self) -> Result<IntegrityReport> {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.integrity_check().await,
            Backend::Postgres(b) => b.integrity_check().await,
        }
    }

    /// The applied schema version (each backend numbers its own migrations).
    pub async fn schema_version(&self) -> Result<i64> {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.schema_version().await,
            Backend::Postgres(b) => b.schema_version().await,
        }
    }

    /// A cheap probe for the health job: `Ok` when the database answers and the last write did not
    /// fail for an outage or a full disk (until a later write succeeds). The error's
    /// [`Error::kind`] says which (`Unavailable`, `DiskFull`); its text is safe to show.
    pub async fn health(&self) -> Result<()> {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.health().await,
            Backend::Postgres(b) => b.health().await,
        }
    }

    /// SQLite: consistent online copy to a new file `path` (must not exist), while writes go on.
    /// PostgreSQL: [`Error::Unsupported`] (use `pg_dump`, or [`copy_store`] into a SQLite store).
    pub async fn backup_to(&self, path: impl AsRef<Path>) -> Result<()> {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.backup_to(path.as_ref()).await,
            Backend::Postgres(_) => Err(Error::Unsupported { backend: "postgres", what: "file backup" }),
        }
    }

    /// Flush everything queued, checkpoint, and join the writer thread. Later calls on any clone
    /// return [`Error::Closed`].
    pub async fn close(&self) -> Result<()> {
        self.close_with(true).await
    }

    /// Like [`Store::close`] but without the final checkpoint, for when another process (a server's
    /// hand-over successor) has the database open and goes on writing: the checkpoint would wait
    /// for it, and the last process to close checkpoints anyway.
    pub async fn close_shared(&self) -> Result<()> {
        self.close_with(false).await
    }

    async fn close_with(&self, checkpoint: bool) -> Result<()> {
        match &self.inner.backend {
            Backend::Sqlite(b) => b.close_with(checkpoint).await,
            Backend::Postgres(b) => b.close().await,
        }
    }
}
