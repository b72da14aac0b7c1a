//! [`Db`] over one PostgreSQL transaction, for the shared tier algorithms. They are synchronous,
//! so this runs on a blocking thread and drives each statement with `Handle::block_on`; the
//! connection's I/O task keeps running on the runtime meanwhile. Scans fetch keyset pages so
//! memory stays bounded whatever the range.

use deadpool_postgres::Transaction;
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db::{ChunkRow, ChunkVisit, Db, RawVisit};
use crate::error::{Error, Result};
use crate::types::Tier;

/// Rows fetched per page by a scan (raw rows ~100 B, chunk rows ~1-2.5 KiB).
const PAGE: i64 = 512;

pub(crate) struct PgDb<'a> {
    pub rt: Handle,
    pub tx: &'a Transaction<'a>,
}

impl PgDb<'_> {
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query(&stmt, params).await?)
        })
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.execute(&stmt, params).await?)
        })
    }

    fn opt_i64(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<i64>> {
        Ok(self.query(sql, params)?.first().and_then(|r| r.get::<_, Option<i64>>(0)))
    }

    fn count(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        Ok(self.opt_i64(sql, params)?.unwrap_or(0).max(0) as u64)
    }
}

impl Db for PgDb<'_> {
    fn metrics(&self) -> Result<Vec<(i64, String, i8)>> {
        let rows = self.query("SELECT id, name, scale FROM metric", &[])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as i8)).collect())
    }

    fn server_id(&self, name: &str) -> Result<Option<i64>> {
        self.opt_i64("SELECT id FROM server WHERE name = $1", &[&name])
    }

    fn server_ids(&self) -> Result<Vec<i64>> {
        Ok(self.query("SELECT id FROM server", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn server_names(&self) -> Result<Vec<String>> {
        Ok(self.query("SELECT name FROM server ORDER BY name", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn newest_raw(&self, sid: i64) -> Result<Option<(i64, Vec<u8>)>> {
        let rows = self.query("SELECT ts, data FROM raw WHERE server_id = $1 ORDER BY ts DESC LIMIT 1", &[&sid])?;
        Ok(rows.first().map(|r| (r.get(0), r.get(1))))
    }

    fn max_raw_ts(&self, sid: i64) -> Result<Option<i64>> {
        self.opt_i64("SELECT MAX(ts) FROM raw WHERE server_id = $1", &[&sid])
    }

    fn min_raw_ts(&self, sid: i64, lo: i64, hi: i64) -> Result<Option<i64>> {
        self.opt_i64("SELECT MIN(ts) FROM raw WHERE server_id = $1 AND ts >= $2 AND ts <= $3", &[&sid, &lo, &hi])
    }

    fn scan_raw(&self, sid: i64, lo: i64, hi: i64, f: RawVisit<'_>) -> Result<()> {
        let mut from = lo;
        loop {
            let rows = self.query(
                "SELECT ts, data FROM raw WHERE server_id = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts LIMIT $4",
                &[&sid, &from, &hi, &PAGE],
            )?;
            for row in &rows {
                let ts: i64 = row.get(0);
                if !f(ts, row.get::<_, &[u8]>(1))? {
                    return Ok(());
                }
                from = ts.saturating_add(1);
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }

    fn delete_raw_before(&self, sid: i64, before: i64) -> Result<u64> {
        self.execute(
            "DELETE FROM raw WHERE server_id = $1 AND ts < $2
               AND ts < (SELECT MAX(ts) FROM raw WHERE server_id = $1)",
            &[&sid, &before],
        )
    }

    fn watermark(&self, sid: i64, tier: Tier) -> Result<Option<i64>> {
        self.opt_i64("SELECT watermark_ms FROM rollup_state WHERE server_id = $1 AND tier = $2", &[&sid, &tier.code()])
    }

    fn set_watermark(&self, sid: i64, tier: Tier, ts: i64) -> Result<()> {
        self.execute(
            "INSERT INTO rollup_state(server_id, tier, watermark_ms) VALUES ($1, $2, $3)
             ON CONFLICT (server_id, tier) DO UPDATE SET watermark_ms = excluded.watermark_ms",
            &[&sid, &tier.code(), &ts],
        )
        .map(drop)
    }

    fn min_chunk_start(&self, sid: i64, tier: Tier, after: i64) -> Result<Option<i64>> {
        self.opt_i64(
            "SELECT MIN(start_ms) FROM chunk WHERE server_id = $1 AND tier = $2 AND start_ms > $3",
            &[&sid, &tier.code(), &after],
        )
    }

    fn scan_chunks(
        &self,
        sid: i64,
        tier: Tier,
        metric: Option<i64>,
        after: i64,
        upto: i64,
        f: ChunkVisit<'_>,
    ) -> Result<()> {
        // Keyset pages over (metric_id, start_ms); one metric is the range metric..=metric.
        let (mut key_mid, mut key_start) = (metric.unwrap_or(i64::MIN), after);
        let last_mid = metric.unwrap_or(i64::MAX);
        loop {
            let rows = self.query(
                "SELECT metric_id, start_ms, data FROM chunk
                 WHERE server_id = $1 AND tier = $2 AND metric_id <= $3 AND (metric_id, start_ms) > ($4, $5)
                   AND start_ms > $6 AND start_ms <= $7
                 ORDER BY metric_id, start_ms LIMIT $8",
                &[&sid, &tier.code(), &last_mid, &key_mid, &key_start, &after, &upto, &PAGE],
            )?;
            for row in &rows {
                let chunk = ChunkRow { metric_id: row.get(0), start_ms: row.get(1), data: row.get(2) };
                (key_mid, key_start) = (chunk.metric_id, chunk.start_ms);
                if !f(chunk)? {
                    return Ok(());
                }
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }

    fn get_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64) -> Result<Option<Vec<u8>>> {
        let rows = self.query(
            "SELECT data FROM chunk WHERE server_id = $1 AND tier = $2 AND metric_id = $3 AND start_ms = $4",
            &[&sid, &tier.code(), &mid, &start],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn put_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64, blob: &[u8]) -> Result<()> {
        self.execute(
            "INSERT INTO chunk(server_id, tier, metric_id, start_ms, data) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (server_id, tier, metric_id, start_ms) DO UPDATE SET data = excluded.data",
            &[&sid, &tier.code(), &mid, &start, &blob],
        )
        .map(drop)
    }

    fn delete_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64) -> Result<()> {
        self.execute(
            "DELETE FROM chunk WHERE server_id = $1 AND tier = $2 AND metric_id = $3 AND start_ms = $4",
            &[&sid, &tier.code(), &mid, &start],
        )
        .map(drop)
    }

    fn delete_chunks_upto(&self, sid: i64, tier: Tier, upto: i64) -> Result<u64> {
        self.execute(
            "DELETE FROM chunk WHERE server_id = $1 AND tier = $2 AND start_ms <= $3",
            &[&sid, &tier.code(), &upto],
        )
    }

    fn ensure_server(&self, name: &str) -> Result<i64> {
        self.execute("INSERT INTO server(name) VALUES ($1) ON CONFLICT (name) DO NOTHING", &[&name])?;
        self.opt_i64("SELECT id FROM server WHERE name = $1", &[&name])?
            .ok_or_else(|| Error::Postgres(format!("server {name:?} vanished while being copied")))
    }

    fn ensure_metric(&self, name: &str, scale: i8) -> Result<i64> {
        self.execute(
            "INSERT INTO metric(name, scale) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &i64::from(scale)],
        )?;
        self.opt_i64("SELECT id FROM metric WHERE name = $1", &[&name])?
            .ok_or_else(|| Error::Postgres(format!("metric {name:?} missing after insert")))
    }

    fn insert_raw(&self, sid: i64, ts: i64, data: &[u8]) -> Result<bool> {
        Ok(self.execute(
            "INSERT INTO raw(server_id, ts, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&sid, &ts, &data],
        )? == 1)
    }

    fn count_raw(&self, sid: i64) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM raw WHERE server_id = $1", &[&sid])
    }

    fn count_chunks(&self, sid: i64, tier: Tier) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM chunk WHERE server_id = $1 AND tier = $2", &[&sid, &tier.code()])
    }
}
