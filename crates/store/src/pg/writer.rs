//! PostgreSQL ingest: a few writer tasks share one bounded queue; each gathers what is queued (group
//! commit, as with SQLite) and commits it as one transaction of multi-row statements, so
//! throughput grows with batch size and with the number of writers, not with round trips per
//! sample. Every request is acknowledged only after the commit that contains it.
//!
//! Concurrency rules, for several hubs on one database:
//! - a write takes `FOR KEY SHARE` on its servers' rows before reading their rollup watermarks,
//!   and a rollup takes `FOR UPDATE` on the server row it works on, so a sample is either in raw
//!   before the rollup reads it or is judged against the new watermark (never lost in between);
//! - raw rows are `ON CONFLICT DO NOTHING`, so a retried batch counts as duplicates on any hub.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Client, Pool};
use tokio::sync::oneshot;

use crate::encoding::{encode_raw, scale_exp_for};
use crate::error::{Error, ErrorKind, Result};
use crate::health::WriteHealth;
use crate::types::{Config, Sample, Tier, WriteOutcome};

pub(crate) enum Job {
    Write {
        samples: Vec<Sample>,
        ack: oneshot::Sender<Result<WriteOutcome>>,
    },
    /// Sent once per writer by `close`, after everything queued before it.
    Stop,
}

type Batch = Vec<(Vec<Sample>, oneshot::Sender<Result<WriteOutcome>>)>;

/// Metric name -> (id, decimal exponent). Metrics are never deleted, so entries stay valid.
pub(crate) type MetricCache = Arc<Mutex<HashMap<String, (i64, i8)>>>;

pub(crate) struct Writer {
    pub pool: Pool,
    pub cfg: Config,
    pub health: Arc<WriteHealth>,
    pub metrics: MetricCache,
}

impl Writer {
    pub(crate) async fn run(self, rx: flume::Receiver<Job>) {
        while let Ok(job) = rx.recv_async().await {
            let Job::Write { samples, ack } = job else { return };
            let mut total = samples.len();
            let mut batch: Batch = vec![(samples, ack)];
            let mut stop = false;
            while total < self.cfg.max_batch_samples {
                let next = match rx.try_recv() {
                    Ok(j) => Some(j),
                    Err(flume::TryRecvError::Empty) if !self.cfg.batch_linger.is_zero() => {
                        tokio::time::timeout(self.cfg.batch_linger, rx.recv_async()).await.ok().and_then(|r| r.ok())
                    }
                    Err(_) => None,
                };
                match next {
                    Some(Job::Write { samples, ack }) => {
                        total += samples.len();
                        batch.push((samples, ack));
                    }
                    Some(Job::Stop) => {
                        stop = true;
                        break;
                    }
                    None => break,
                }
            }
            self.commit(batch).await;
            if stop {
                return;
            }
        }
    }

    async fn commit(&self, batch: Batch) {
        let requests: Vec<&[Sample]> = batch.iter().map(|(s, _)| s.as_slice()).collect();
        let mut result = match self.pool.get().await {
            Ok(client) => self.try_commit(client, &requests).await,
            // No connection to be had: the database is out of reach; answer now, not after a retry.
            Err(e) => Err(e.into()),
        };
        if let Err(e) = &result
            && e.kind() == ErrorKind::Unavailable
            && let Ok(client) = self.pool.get().await
        {
            // A connection broke mid-transaction (terminated, reset): one more try on a fresh one
            // (the pool drops the broken one). Safe even if the first commit did land and only
            // its answer was lost: inserts are idempotent, the samples then count as duplicates.
            tracing::warn!(error = %e, "store: postgres write failed, retrying once");
            result = self.try_commit(client, &requests).await;
        }
        match result {
            Ok(outcomes) => {
                self.health.succeeded();
                for ((_, ack), outcome) in batch.into_iter().zip(outcomes) {
                    let _ = ack.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = batch.len(), "store: postgres write batch failed");
                self.health.failed(&e);
                for (_, ack) in batch {
                    let _ = ack.send(Err(e.for_batch()));
                }
            }
        }
    }

    async fn try_commit(&self, mut client: Client, requests: &[&[Sample]]) -> Result<Vec<WriteOutcome>> {
        let metrics = self.intern_metrics(&client, requests).await?;
        let names: Vec<&str> = requests
            .iter()
            .flat_map(|r| r.iter().map(|s| s.server.as_str()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let tx = client.transaction().await?;
        let servers = lock_servers(&tx, &names).await?;
        // Read only once the locks are held, in a new statement: under READ COMMITTED it sees a
        // rollup that committed while this waited for the lock. (Joined into the locking
        // statement, the watermark would come from that statement's older snapshot, and a
        // sample could slip under a watermark that had just moved: found by the racing test.)
        let ids: Vec<i64> = servers.values().copied().collect();
        let stmt = tx
            .prepare_cached("SELECT server_id, watermark_ms FROM rollup_state WHERE server_id = ANY($1) AND tier = $2")
            .await?;
        let watermarks: HashMap<i64, i64> =
            tx.query(&stmt, &[&ids, &Tier::M1.code()]).await?.iter().map(|r| (r.get(0), r.get(1))).collect();

        // Classify every sample: first occurrence of a key in the batch is a candidate, later
        // ones are duplicates; below the watermark it is late unless raw still has it.
        enum Fate {
            Insert(usize),
            Behind(usize),
            Duplicate,
        }
        let mut seen = HashMap::new();
        let (mut ins, mut behind) = (Rows::default(), Rows::default());
        let mut fates: Vec<Vec<Fate>> = Vec::with_capacity(requests.len());
        for req in requests {
            let mut f = Vec::with_capacity(req.len());
            for s in *req {
                let sid =
                    *servers.get(s.server.as_str()).ok_or_else(|| Error::Postgres("server row missing".into()))?;
                if seen.insert((sid, s.timestamp_ms), ()).is_some() {
                    f.push(Fate::Duplicate);
                } else if watermarks.get(&sid).is_some_and(|&w| s.timestamp_ms < w) {
                    f.push(Fate::Behind(behind.push(sid, s.timestamp_ms, Vec::new())));
                } else {
                    let values: Vec<(i64, i8, f64)> = s
                        .values
                        .iter()
                        .filter(|(_, v)| v.is_finite())
                        .filter_map(|(name, &v)| metrics.get(name).map(|&(id, exp)| (id, exp, v)))
                        .collect();
                    f.push(Fate::Insert(ins.push(sid, s.timestamp_ms, encode_raw(&values))));
                }
            }
            fates.push(f);
        }
        let inserted: BTreeSet<(i64, i64)> = if ins.sids.is_empty() {
            BTreeSet::new()
        } else {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO raw(server_id, ts, data)
                     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
                     ON CONFLICT DO NOTHING RETURNING server_id, ts",
                )
                .await?;
            tx.query(&stmt, &[&ins.sids, &ins.ts, &ins.data]).await?.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        let present: BTreeSet<(i64, i64)> = if behind.sids.is_empty() {
            BTreeSet::new()
        } else {
            let stmt = tx
                .prepare_cached(
                    "SELECT r.server_id, r.ts FROM raw r
                     JOIN unnest($1::bigint[], $2::bigint[]) AS k(server_id, ts) USING (server_id, ts)",
                )
                .await?;
            tx.query(&stmt, &[&behind.sids, &behind.ts]).await?.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        tx.commit().await?;
        Ok(fates
            .into_iter()
            .map(|f| {
                let mut out = WriteOutcome::default();
                for fate in f {
                    match fate {
                        Fate::Insert(i) if inserted.contains(&ins.key(i)) => out.inserted += 1,
                        Fate::Behind(i) if !present.contains(&behind.key(i)) => out.late += 1,
                        _ => out.duplicates += 1,
                    }
                }
                out
            })
            .collect())
    }

    /// Ids of every metric in the batch, creating new ones in their own statement before the
    /// transaction (so an id in the cache always exists, whatever happens to the batch).
    async fn intern_metrics(&self, client: &Client, requests: &[&[Sample]]) -> Result<HashMap<String, (i64, i8)>> {
        let mut known = self.metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let missing: BTreeSet<&str> = requests
            .iter()
            .flat_map(|r| r.iter().flat_map(|s| s.values.keys()))
            .filter(|n| !known.contains_key(n.as_str()))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(known);
        }
        let names: Vec<&str> = missing.into_iter().collect();
        let scales: Vec<i64> = names.iter().map(|n| i64::from(scale_exp_for(n))).collect();
        client
            .execute(
                "INSERT INTO metric(name, scale) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
                &[&names, &scales],
            )
            .await?;
        let rows = client.query("SELECT id, name, scale FROM metric WHERE name = ANY($1)", &[&names]).await?;
        let mut cache = self.metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for r in rows {
            let entry = (r.get::<_, i64>(0), r.get::<_, i64>(2) as i8);
            cache.insert(r.get(1), entry);
            known.insert(r.get(1), entry);
        }
        Ok(known)
    }
}

/// Columns of a multi-row statement.
#[derive(Default)]
struct Rows {
    sids: Vec<i64>,
    ts: Vec<i64>,
    data: Vec<Vec<u8>>,
}

impl Rows {
    fn push(&mut self, sid: i64, ts: i64, data: Vec<u8>) -> usize {
        self.sids.push(sid);
        self.ts.push(ts);
        self.data.push(data);
        self.sids.len() - 1
    }

    fn key(&self, i: usize) -> (i64, i64) {
        (self.sids[i], self.ts[i])
    }
}

/// Ids of `names` (sorted), servers created if absent, each server row locked `FOR KEY SHARE` for
/// the rest of the transaction (a concurrent rollup or delete of that server waits for the
/// commit, and this waits for theirs).
async fn lock_servers<'a>(tx: &deadpool_postgres::Transaction<'_>, names: &[&'a str]) -> Result<HashMap<&'a str, i64>> {
    let select =
        tx.prepare_cached("SELECT id, name FROM server WHERE name = ANY($1) ORDER BY id FOR KEY SHARE").await?;
    // A server deleted between the insert and the lock is simply created again (a few tries).
    for _ in 0..3 {
        let rows = tx.query(&select, &[&names]).await?;
        let found: HashMap<String, i64> = rows.iter().map(|r| (r.get(1), r.get(0))).collect();
        let missing: Vec<&str> = names.iter().copied().filter(|n| !found.contains_key(*n)).collect();
        if missing.is_empty() {
            return Ok(names.iter().filter_map(|n| found.get(*n).map(|&id| (*n, id))).collect());
        }
        let insert =
            tx.prepare_cached("INSERT INTO server(name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING").await?;
        tx.execute(&insert, &[&missing]).await?;
    }
    Err(Error::Unavailable("servers were deleted repeatedly while being written".into()))
}

/// How long `close` waits for the writers to finish what was queued.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(60);
