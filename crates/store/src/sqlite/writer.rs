//! The single writer thread: owns the only read-write connection, batches queued writes into
//! one transaction (group commit) and acknowledges each request only after its commit.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::encoding::{encode_raw, scale_exp_for};
use crate::error::{Error, Result};
use crate::health::WriteHealth;
use crate::retention::RetentionReport;
use crate::rollup::RollupReport;
use crate::types::{Config, Sample, Tier, WriteOutcome};

type Ack<T> = oneshot::Sender<Result<T>>;
/// A type-erased closure for [`Command::Exec`]; its result travels back boxed.
pub(crate) type ExecFn = Box<dyn FnOnce(&Connection) -> Result<Box<dyn Any + Send>> + Send>;

/// Requests to the writer. Everything that modifies the database goes through here, so there is
/// exactly one writer and no SQLITE_BUSY between our own components.
pub(crate) enum Command {
    Write {
        samples: Vec<Sample>,
        ack: Ack<WriteOutcome>,
    },
    Rollup {
        now_ms: i64,
        ack: Ack<RollupReport>,
    },
    Retention {
        now_ms: i64,
        ack: Ack<RetentionReport>,
    },
    DeleteServer {
        server: String,
        ack: Ack<bool>,
    },
    PutKv {
        key: String,
        value: String,
        now_ms: i64,
        ack: Ack<()>,
    },
    DeleteKv {
        key: String,
        ack: Ack<bool>,
    },
    /// Run a closure in a write transaction (the cross-backend copy's imports); the writer's
    /// caches are dropped afterwards, as the closure may have changed anything.
    Exec {
        f: ExecFn,
        ack: Ack<Box<dyn Any + Send>>,
    },
    /// Finish everything queued before it, checkpoint (unless another process keeps the file open
    /// and will do it), close the connection, then ack.
    Shutdown {
        ack: oneshot::Sender<()>,
        checkpoint: bool,
    },
}

pub(crate) struct Writer {
    conn: Connection,
    cfg: Config,
    health: Arc<WriteHealth>,
    servers: HashMap<String, i64>,
    metrics: HashMap<String, (i64, i8)>,
    /// Per-server 1-minute rollup watermark (`None`: nothing rolled up yet). Lazily loaded and
    /// cleared whenever a transaction that could change it ends, so it never disagrees with disk.
    watermarks: HashMap<i64, Option<i64>>,
    /// `PRAGMA data_version` when the caches were last known good: it changes when another
    /// connection (a second store on the same file, e.g. during a hand-over) commits, which may
    /// have moved a watermark or deleted a server behind these caches.
    data_version: Option<i64>,
}

impl Writer {
    pub(crate) fn new(conn: Connection, cfg: Config, health: Arc<WriteHealth>) -> Self {
        Self {
            conn,
            cfg,
            health,
            servers: HashMap::new(),
            metrics: HashMap::new(),
            watermarks: HashMap::new(),
            data_version: None,
        }
    }

    pub(crate) fn run(mut self, rx: flume::Receiver<Command>) {
        while let Ok(cmd) = rx.recv() {
            let next = match cmd {
                Command::Write { samples, ack } => self.write_batch(&rx, samples, ack),
                other => Some(other),
            };
            if let Some(cmd) = next
                && let Some((done, checkpoint)) = self.handle(cmd)
            {
                self.close(checkpoint);
                let _ = done.send(());
                return;
            }
        }
        // Every sender dropped without `close`: nothing can be pending, just close cleanly.
        self.close(true);
    }

    fn close(self, checkpoint: bool) {
        // Fold the WAL into the main file so a backup/copy of the .db alone is complete. Not when
        // another process has the database open: TRUNCATE would wait for its readers and writer.
        if checkpoint && let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
            tracing::warn!(error = %e, "store: final checkpoint failed");
        }
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error = %e, "store: closing writer connection failed");
        }
    }

    /// Gather queued writes (up to the batch size, lingering briefly for more) and commit them
    /// together. Returns a non-write command that ended the batch, to be handled next in order.
    fn write_batch(
        &mut self,
        rx: &flume::Receiver<Command>,
        first: Vec<Sample>,
        ack: Ack<WriteOutcome>,
    ) -> Option<Command> {
        let deadline = Instant::now() + self.cfg.batch_linger;
        let mut total = first.len();
        let mut batch = vec![(first, ack)];
        let mut deferred = None;
        while total < self.cfg.max_batch_samples {
            let next = match rx.try_recv() {
                Ok(c) => Some(c),
                Err(flume::TryRecvError::Empty) if !self.cfg.batch_linger.is_zero() => rx.recv_deadline(deadline).ok(),
                Err(_) => None,
            };
            match next {
                Some(Command::Write { samples, ack }) => {
                    total += samples.len();
                    batch.push((samples, ack));
                }
                Some(other) => {
                    deferred = Some(other);
                    break;
                }
                None => break,
            }
        }
        let result = self.in_tx(|w| {
            batch
                .iter()
                .map(|(samples, _)| {
                    samples.iter().map(|s| w.insert_sample(s)).try_fold(WriteOutcome::default(), |mut acc, o| {
                        acc.add(o?);
                        Ok::<_, Error>(acc)
                    })
                })
                .collect::<Result<Vec<_>>>()
        });
        match result {
            Ok(outcomes) => {
                self.health.succeeded();
                for ((_, ack), outcome) in batch.into_iter().zip(outcomes) {
                    let _ = ack.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = batch.len(), "store: write batch failed");
                // A full disk keeps its kind, so the hub can answer 503 and report it; nothing in
                // the batch was committed, and the next batch simply tries again.
                self.health.failed(&e);
                for (_, ack) in batch {
                    let _ = ack.send(Err(e.for_batch()));
                }
            }
        }
        deferred
    }

    /// Handle a non-batched command. Returns the shutdown acknowledgement (and whether to
    /// checkpoint) when asked to stop.
    fn handle(&mut self, cmd: Command) -> Option<(oneshot::Sender<()>, bool)> {
        match cmd {
            // Writes are batched by `run`; this arm only keeps the match exhaustive.
            Command::Write { samples, ack } => self.write_batch_single(samples, ack),
            Command::Rollup { now_ms, ack } => {
                let r = self.in_tx(|w| crate::rollup::rollup(&w.conn, &w.cfg, now_ms));
                self.watermarks.clear();
                let _ = ack.send(r);
            }
            Command::Retention { now_ms, ack } => {
                let r = self.in_tx(|w| crate::retention::apply(&w.conn, &w.cfg, now_ms));
                // Give freed pages back outside the transaction; bounded so it never stalls ingest long.
                if let Err(e) = self.conn.execute_batch("PRAGMA incremental_vacuum(2000);") {
                    tracing::warn!(error = %e, "store: incremental vacuum failed");
                }
                let _ = ack.send(r);
            }
            Command::DeleteServer { server, ack } => {
                let r = self.in_tx(|w| Ok(w.conn.execute("DELETE FROM server WHERE name = ?1", [&server])? > 0));
                // The id is gone; a server that reports again gets a fresh one.
                self.servers.clear();
                self.watermarks.clear();
                let _ = ack.send(r);
            }
            Command::PutKv { key, value, now_ms, ack } => {
                let r = self.in_tx(|w| super::kv::put(&w.conn, &key, &value, now_ms));
                let _ = ack.send(r);
            }
            Command::DeleteKv { key, ack } => {
                let r = self.in_tx(|w| super::kv::delete(&w.conn, &key));
                let _ = ack.send(r);
            }
            Command::Exec { f, ack } => {
                let r = self.in_tx(|w| f(&w.conn));
                let _ = ack.send(r);
                self.servers.clear();
                self.watermarks.clear();
            }
            Command::Shutdown { ack, checkpoint } => return Some((ack, checkpoint)),
        }
        None
    }

    fn write_batch_single(&mut self, samples: Vec<Sample>, ack: Ack<WriteOutcome>) {
        let r = self.in_tx(|w| {
            samples.iter().try_fold(WriteOutcome::default(), |mut acc, s| {
                acc.add(w.insert_sample(s)?);
                Ok(acc)
            })
        });
        match &r {
            Ok(_) => self.health.succeeded(),
            Err(e) => self.health.failed(e),
        }
        let _ = ack.send(r.map_err(|e| e.for_batch()));
    }

    /// Run `f` in one transaction. Caches are dropped when it fails: ids interned in it no longer
    /// exist. (Rollups and deletes drop the caches they invalidate themselves.)
    fn in_tx<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        // Holding the write lock now: if anyone else committed since we last looked, our caches
        // may be stale (found by the test racing rollups on one handle against ingest on another).
        let version = match self.conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)) {
            Ok(v) => Some(v),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        };
        if version != self.data_version {
            self.servers.clear();
            self.watermarks.clear();
            self.data_version = version;
        }
        let r = f(self).and_then(|v| {
            self.conn.execute_batch("COMMIT")?;
            Ok(v)
        });
        if r.is_err() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::debug!(error = %e, "store: rollback after failure");
            }
            self.servers.clear();
            self.metrics.clear();
            self.watermarks.clear();
        }
        r
    }

    fn server_id(&mut self, name: &str) -> Result<i64> {
        if let Some(&id) = self.servers.get(name) {
            return Ok(id);
        }
        let existing = self
            .conn
            .prepare_cached("SELECT id FROM server WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => self
                .conn
                .prepare_cached("INSERT INTO server(name) VALUES (?1) RETURNING id")?
                .query_row([name], |r| r.get(0))?,
        };
        self.servers.insert(name.to_owned(), id);
        Ok(id)
    }

    fn metric(&mut self, name: &str) -> Result<(i64, i8)> {
        if let Some(&m) = self.metrics.get(name) {
            return Ok(m);
        }
        let existing = self
            .conn
            .prepare_cached("SELECT id, scale FROM metric WHERE name = ?1")?
            .query_row([name], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .optional()?;
        let m = match existing {
            Some((id, scale)) => (id, scale as i8),
            None => {
                let exp = scale_exp_for(name);
                let id = self
                    .conn
                    .prepare_cached("INSERT INTO metric(name, scale) VALUES (?1, ?2) RETURNING id")?
                    .query_row(params![name, i64::from(exp)], |r| r.get(0))?;
                (id, exp)
            }
        };
        self.metrics.insert(name.to_owned(), m);
        Ok(m)
    }

    fn watermark(&mut self, server_id: i64) -> Result<Option<i64>> {
        if let Some(&w) = self.watermarks.get(&server_id) {
            return Ok(w);
        }
        let w = self
            .conn
            .prepare_cached("SELECT watermark_ms FROM rollup_state WHERE server_id = ?1 AND tier = ?2")?
            .query_row(params![server_id, Tier::M1.code()], |r| r.get(0))
            .optional()?;
        self.watermarks.insert(server_id, w);
        Ok(w)
    }

    fn insert_sample(&mut self, s: &Sample) -> Result<WriteOutcome> {
        let sid = self.server_id(&s.server)?;
        if self.watermark(sid)?.is_some_and(|w| s.timestamp_ms < w) {
            // That minute is already summarised: never insert, but tell a retry from new data.
            let exists = self
                .conn
                .prepare_cached("SELECT 1 FROM raw WHERE server_id = ?1 AND ts = ?2")?
                .query_row(params![sid, s.timestamp_ms], |_| Ok(()))
                .optional()?
                .is_some();
            return Ok(if exists {
                WriteOutcome { duplicates: 1, ..Default::default() }
            } else {
                WriteOutcome { late: 1, ..Default::default() }
            });
        }
        let mut values = Vec::with_capacity(s.values.len());
        for (name, &v) in &s.values {
            if v.is_finite() {
                let (id, exp) = self.metric(name)?;
                values.push((id, exp, v));
            }
        }
        let blob = encode_raw(&values);
        let n = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO raw(server_id, ts, data) VALUES (?1, ?2, ?3)")?
            .execute(params![sid, s.timestamp_ms, blob])?;
        Ok(if n == 1 {
            WriteOutcome { inserted: 1, ..Default::default() }
        } else {
            WriteOutcome { duplicates: 1, ..Default::default() }
        })
    }
}
