//! The PostgreSQL backend: a bounded pool, writer tasks for ingest (see `writer`), the shared tier
//! algorithms run inside transactions on blocking threads (see `ops`), and session advisory locks
//! so migrations, rollups and retention run on one hub at a time.

mod connect;
mod ops;
mod schema;
mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres::IsolationLevel;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::health::WriteHealth;
use crate::query;
use crate::retention::{self, RetentionReport};
use crate::rollup::{self, RollupReport};
use crate::types::{Config, History, IntegrityReport, Sample, WriteOutcome};
use crate::{HistoryArgs, PendingWrite};
use ops::PgDb;
use writer::{Job, Writer};

pub(crate) const MAINTENANCE_LOCK_KEY: i64 = schema::MAINTENANCE_LOCK;

pub(crate) struct PgStore {
    cfg: Config,
    pool: Pool,
    tx: flume::Sender<Job>,
    /// Kept to answer requests still queued when `close` has stopped the writers.
    rx: flume::Receiver<Job>,
    writers: Mutex<Vec<JoinHandle<()>>>,
    closed: AtomicBool,
    health: Arc<WriteHealth>,
}

impl PgStore {
    /// Connect, migrate (once across hubs), start the writer tasks.
    pub(crate) async fn open(url: &str, cfg: Config) -> Result<PgStore> {
        let pool = connect::pool(url, &cfg)?;
        {
            let mut client = pool.get().await?;
            schema::migrate(&mut client).await?;
        }
        let (tx, rx) = flume::bounded(cfg.queue_capacity.max(1));
        let health = Arc::new(WriteHealth::default());
        let metrics = writer::MetricCache::default();
        // Half the pool writes (at least one): enough to overlap commits, leaving connections for
        // queries, rollups and the health probe.
        let n = (cfg.pool_size / 2).max(1);
        let writers = (0..n)
            .map(|_| {
                let w = Writer {
                    pool: pool.clone(),
                    cfg: cfg.clone(),
                    health: Arc::clone(&health),
                    metrics: Arc::clone(&metrics),
                };
                tokio::spawn(w.run(rx.clone()))
            })
            .collect();
        Ok(PgStore { cfg, pool, tx, rx, writers: Mutex::new(writers), closed: AtomicBool::new(false), health })
    }

    pub(crate) fn submit(&self, samples: Vec<Sample>) -> Result<PendingWrite> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let (ack, rx) = oneshot::channel();
        self.tx.try_send(Job::Write { samples, ack }).map_err(|e| match e {
            flume::TrySendError::Full(_) => Error::Busy,
            flume::TrySendError::Disconnected(_) => Error::Closed,
        })?;
        Ok(PendingWrite { rx })
    }

    pub(crate) async fn write(&self, samples: Vec<Sample>) -> Result<WriteOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let (ack, rx) = oneshot::channel();
        self.tx.send_async(Job::Write { samples, ack }).await.map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Run `f` on a blocking thread inside one transaction on a pooled connection.
    async fn in_tx<T, F>(&self, read_only: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        let client = self.pool.get().await?;
        let (_client, out) = on_blocking(client, move |rt, client| {
            let tx = rt.block_on(async {
                let mut b = client.build_transaction();
                if read_only {
                    // One snapshot for every statement of a history page.
                    b = b.read_only(true).isolation_level(IsolationLevel::RepeatableRead);
                }
                b.start().await
            })?;
            let out = f(&PgDb { rt: rt.clone(), tx: &tx })?;
            rt.block_on(tx.commit())?;
            Ok(out)
        })
        .await?;
        out
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        self.in_tx(true, f).await
    }

    pub(crate) async fn exec<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        self.in_tx(false, f).await
    }

    pub(crate) async fn history(&self, args: HistoryArgs) -> Result<History> {
        let cfg = self.cfg.clone();
        self.read(move |db| query::history(db, &cfg, &args.request())).await
    }

    pub(crate) async fn rollup(&self, now_ms: i64) -> Result<RollupReport> {
        let cfg = self.cfg.clone();
        let report = self
            .maintenance(move |rt, client| {
                let mut report = RollupReport::default();
                for sid in server_ids(rt, client)? {
                    per_server(rt, client, sid, |db| {
                        // Read under the server's lock: writers on other hubs add metrics at any
                        // time, and every metric in this server's committed rows is in this read.
                        let scales = rollup::metric_scales(db)?;
                        rollup::rollup_server(db, &cfg, sid, now_ms, &scales, &mut report)
                    })?;
                }
                Ok(report)
            })
            .await?;
        Ok(report.unwrap_or(RollupReport { skipped: true, ..RollupReport::default() }))
    }

    pub(crate) async fn apply_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        let cfg = self.cfg.clone();
        let report = self
            .maintenance(move |rt, client| {
                let mut report = RetentionReport::default();
                for sid in server_ids(rt, client)? {
                    per_server(rt, client, sid, |db| retention::apply_server(db, &cfg, sid, now_ms, &mut report))?;
                }
                Ok(report)
            })
            .await?;
        Ok(report.unwrap_or(RetentionReport { skipped: true, ..RetentionReport::default() }))
    }

    /// Run `f` holding the maintenance advisory lock; `None` when another session holds it
    /// (another hub is at it: this round is skipped, never run twice).
    async fn maintenance<T, F>(&self, f: F) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Handle, &mut Object) -> Result<T> + Send + 'static,
    {
        let client = self.pool.get().await?;
        let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&schema::MAINTENANCE_LOCK]).await?.get(0);
        if !got {
            tracing::debug!("store: another hub holds the maintenance lock; skipping this round");
            return Ok(None);
        }
        let (client, out) = on_blocking(client, f).await?;
        if let Err(e) = client.execute("SELECT pg_advisory_unlock($1)", &[&schema::MAINTENANCE_LOCK]).await {
            // The session must not go back to the pool holding the lock: end it instead (the
            // server drops session locks with the session).
            tracing::warn!(error = %e, "store: releasing the maintenance lock failed; dropping the connection");
            drop(Object::take(client));
        }
        out.map(Some)
    }

    pub(crate) async fn delete_server(&self, server: String) -> Result<bool> {
        let client = self.pool.get().await?;
        Ok(client.execute("DELETE FROM server WHERE name = $1", &[&server]).await? > 0)
    }

    pub(crate) async fn put_kv(&self, key: String, value: String, now_ms: i64) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO kv(key, value, updated_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
                &[&key, &value, &now_ms],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn get_kv(&self, key: String) -> Result<Option<serde_json::Value>> {
        let client = self.pool.get().await?;
        let row = client.query_opt("SELECT value FROM kv WHERE key = $1", &[&key]).await?;
        Ok(match row {
            Some(r) => Some(serde_json::from_str(r.get::<_, &str>(0))?),
            None => None,
        })
    }

    pub(crate) async fn delete_kv(&self, key: String) -> Result<bool> {
        let client = self.pool.get().await?;
        Ok(client.execute("DELETE FROM kv WHERE key = $1", &[&key]).await? > 0)
    }

    pub(crate) async fn kv_keys(&self, prefix: String) -> Result<Vec<String>> {
        // Range scan on the primary key (byte order, as SQLite): '%' and '_' are not special.
        let mut end = prefix.clone();
        end.push(char::MAX);
        let client = self.pool.get().await?;
        let rows =
            client.query("SELECT key FROM kv WHERE key >= $1 AND key < $2 ORDER BY key", &[&prefix, &end]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(crate) async fn integrity_check(&self) -> Result<IntegrityReport> {
        let client = self.pool.get().await?;
        let mut messages = Vec::new();
        let version = schema::version(&client).await?;
        if version != schema::SCHEMA_VERSION {
            messages.push(format!("schema version {version}, expected {}", schema::SCHEMA_VERSION));
        }
        let orphans: i64 = client
            .query_one(
                "SELECT (SELECT COUNT(*) FROM chunk c WHERE NOT EXISTS (SELECT 1 FROM metric m WHERE m.id = c.metric_id))
                      + (SELECT COUNT(*) FROM rollup_state r WHERE NOT EXISTS (SELECT 1 FROM server s WHERE s.id = r.server_id))",
                &[],
            )
            .await?
            .get(0);
        if orphans > 0 {
            messages.push(format!("{orphans} rows reference missing servers or metrics"));
        }
        let ok = messages.is_empty();
        if ok {
            messages.push("ok".into());
        }
        Ok(IntegrityReport { ok, messages })
    }

    pub(crate) async fn schema_version(&self) -> Result<i64> {
        schema::version(&*self.pool.get().await?).await
    }

    /// The last write's failure if not yet followed by a success, else a round trip on a pooled
    /// connection (which also reconnects after an outage).
    pub(crate) async fn health(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.writers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().any(JoinHandle::is_finished) {
            // Only a bug ends a writer task before `close`; say so rather than look healthy.
            return Err(Error::Join("a postgres writer task ended".into()));
        }
        let probe = async { self.pool.get().await?.simple_query("SELECT 1").await.map_err(Error::from) };
        // Bounded like one connection attempt: a health job must not hang on a dead database.
        match tokio::time::timeout(self.cfg.connect_timeout + Duration::from_secs(1), probe).await {
            Ok(Ok(_)) => {
                self.health.reachable();
                self.health.check()
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Unavailable("health probe timed out".into())),
        }
    }

    /// Stop accepting writes, let the writers commit everything queued, then close the pool.
    pub(crate) async fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let handles: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.writers.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for _ in &handles {
            let _ = self.tx.send_async(Job::Stop).await;
        }
        let joined = tokio::time::timeout(writer::CLOSE_TIMEOUT, async {
            for h in handles {
                let _ = h.await;
            }
        })
        .await;
        // Anything that slipped in after the stops (a submit racing `close`) is answered, not dropped.
        for job in self.rx.drain() {
            if let Job::Write { ack, .. } = job {
                let _ = ack.send(Err(Error::Closed));
            }
        }
        self.pool.close();
        joined.map_err(|_| Error::Unavailable("writers did not finish within the close timeout".into()))
    }
}

/// Move a pooled connection to a blocking thread, run `f` there, and hand the connection back.
async fn on_blocking<T, F>(mut client: Object, f: F) -> Result<(Object, Result<T>)>
where
    T: Send + 'static,
    F: FnOnce(&Handle, &mut Object) -> Result<T> + Send + 'static,
{
    let rt = Handle::current();
    tokio::task::spawn_blocking(move || {
        let out = f(&rt, &mut client);
        (client, out)
    })
    .await
    .map_err(|e| Error::Join(e.to_string()))
}

fn server_ids(rt: &Handle, client: &Object) -> Result<Vec<i64>> {
    Ok(rt.block_on(client.query("SELECT id FROM server ORDER BY id", &[]))?.iter().map(|r| r.get(0)).collect())
}

/// One server's maintenance in its own transaction, holding its row `FOR UPDATE` (writes to that
/// server wait for it; see `writer`). A server deleted meanwhile is skipped.
fn per_server(rt: &Handle, client: &mut Object, sid: i64, f: impl FnOnce(&dyn Db) -> Result<()>) -> Result<()> {
    let tx = rt.block_on(client.transaction())?;
    let exists = rt.block_on(tx.query_opt("SELECT 1 FROM server WHERE id = $1 FOR UPDATE", &[&sid]))?.is_some();
    if exists {
        f(&PgDb { rt: rt.clone(), tx: &tx })?;
    }
    rt.block_on(tx.commit())?;
    Ok(())
}
