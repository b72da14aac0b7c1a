//! [`Db`] over a rusqlite connection: the SQLite text of every primitive the shared tier
//! algorithms use (cached statements, rows streamed to the visitor).

use rusqlite::{Connection, OptionalExtension, params};

use crate::db::{ChunkRow, ChunkVisit, Db, RawVisit};
use crate::error::Result;
use crate::types::Tier;

impl Db for Connection {
    fn metrics(&self) -> Result<Vec<(i64, String, i8)>> {
        let mut stmt = self.prepare_cached("SELECT id, name, scale FROM metric")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as i8)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn server_id(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.prepare_cached("SELECT id FROM server WHERE name = ?1")?.query_row([name], |r| r.get(0)).optional()?)
    }

    fn server_ids(&self) -> Result<Vec<i64>> {
        let mut stmt = self.prepare_cached("SELECT id FROM server")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn server_names(&self) -> Result<Vec<String>> {
        let mut stmt = self.prepare_cached("SELECT name FROM server ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn newest_raw(&self, sid: i64) -> Result<Option<(i64, Vec<u8>)>> {
        Ok(self
            .prepare_cached("SELECT ts, data FROM raw WHERE server_id = ?1 ORDER BY ts DESC LIMIT 1")?
            .query_row([sid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn max_raw_ts(&self, sid: i64) -> Result<Option<i64>> {
        Ok(self.prepare_cached("SELECT MAX(ts) FROM raw WHERE server_id = ?1")?.query_row([sid], |r| r.get(0))?)
    }

    fn min_raw_ts(&self, sid: i64, lo: i64, hi: i64) -> Result<Option<i64>> {
        Ok(self
            .prepare_cached("SELECT MIN(ts) FROM raw WHERE server_id = ?1 AND ts >= ?2 AND ts <= ?3")?
            .query_row(params![sid, lo, hi], |r| r.get(0))?)
    }

    fn scan_raw(&self, sid: i64, lo: i64, hi: i64, f: RawVisit<'_>) -> Result<()> {
        let mut stmt =
            self.prepare_cached("SELECT ts, data FROM raw WHERE server_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts")?;
        let mut rows = stmt.query(params![sid, lo, hi])?;
        while let Some(row) = rows.next()? {
            let ts: i64 = row.get(0)?;
            let data = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            if !f(ts, data)? {
                break;
            }
        }
        Ok(())
    }

    fn delete_raw_before(&self, sid: i64, before: i64) -> Result<u64> {
        Ok(self
            .prepare_cached(
                "DELETE FROM raw WHERE server_id = ?1 AND ts < ?2
                   AND ts < (SELECT MAX(ts) FROM raw WHERE server_id = ?1)",
            )?
            .execute(params![sid, before])? as u64)
    }

    fn watermark(&self, sid: i64, tier: Tier) -> Result<Option<i64>> {
        Ok(self
            .prepare_cached("SELECT watermark_ms FROM rollup_state WHERE server_id = ?1 AND tier = ?2")?
            .query_row(params![sid, tier.code()], |r| r.get(0))
            .optional()?)
    }

    fn set_watermark(&self, sid: i64, tier: Tier, ts: i64) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO rollup_state(server_id, tier, watermark_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(server_id, tier) DO UPDATE SET watermark_ms = excluded.watermark_ms",
        )?
        .execute(params![sid, tier.code(), ts])?;
        Ok(())
    }

    fn min_chunk_start(&self, sid: i64, tier: Tier, after: i64) -> Result<Option<i64>> {
        Ok(self
            .prepare_cached("SELECT MIN(start_ms) FROM chunk WHERE server_id = ?1 AND tier = ?2 AND start_ms > ?3")?
            .query_row(params![sid, tier.code(), after], |r| r.get(0))?)
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
        // `?3 IS NULL OR ...` would hide the primary key's metric column from the planner, so the
        // two shapes are two statements.
        let mut stmt;
        let mut rows = match metric {
            Some(mid) => {
                stmt = self.prepare_cached(
                    "SELECT metric_id, start_ms, data FROM chunk
                     WHERE server_id = ?1 AND tier = ?2 AND metric_id = ?3 AND start_ms > ?4 AND start_ms <= ?5
                     ORDER BY start_ms",
                )?;
                stmt.query(params![sid, tier.code(), mid, after, upto])?
            }
            None => {
                stmt = self.prepare_cached(
                    "SELECT metric_id, start_ms, data FROM chunk
                     WHERE server_id = ?1 AND tier = ?2 AND start_ms > ?3 AND start_ms <= ?4
                     ORDER BY metric_id, start_ms",
                )?;
                stmt.query(params![sid, tier.code(), after, upto])?
            }
        };
        while let Some(row) = rows.next()? {
            let chunk = ChunkRow {
                metric_id: row.get(0)?,
                start_ms: row.get(1)?,
                data: row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?,
            };
            if !f(chunk)? {
                break;
            }
        }
        Ok(())
    }

    fn get_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .prepare_cached(
                "SELECT data FROM chunk WHERE server_id = ?1 AND tier = ?2 AND metric_id = ?3 AND start_ms = ?4",
            )?
            .query_row(params![sid, tier.code(), mid, start], |r| r.get(0))
            .optional()?)
    }

    fn put_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64, blob: &[u8]) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO chunk(server_id, tier, metric_id, start_ms, data) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(server_id, tier, metric_id, start_ms) DO UPDATE SET data = excluded.data",
        )?
        .execute(params![sid, tier.code(), mid, start, blob])?;
        Ok(())
    }

    fn delete_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64) -> Result<()> {
        self.prepare_cached(
            "DELETE FROM chunk WHERE server_id = ?1 AND tier = ?2 AND metric_id = ?3 AND start_ms = ?4",
        )?
        .execute(params![sid, tier.code(), mid, start])?;
        Ok(())
    }

    fn delete_chunks_upto(&self, sid: i64, tier: Tier, upto: i64) -> Result<u64> {
        Ok(self
            .prepare_cached("DELETE FROM chunk WHERE server_id = ?1 AND tier = ?2 AND start_ms <= ?3")?
            .execute(params![sid, tier.code(), upto])? as u64)
    }

    fn ensure_server(&self, name: &str) -> Result<i64> {
        self.prepare_cached("INSERT INTO server(name) VALUES (?1) ON CONFLICT(name) DO NOTHING")?.execute([name])?;
        Ok(self.prepare_cached("SELECT id FROM server WHERE name = ?1")?.query_row([name], |r| r.get(0))?)
    }

    fn ensure_metric(&self, name: &str, scale: i8) -> Result<i64> {
        self.prepare_cached("INSERT INTO metric(name, scale) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING")?
            .execute(params![name, i64::from(scale)])?;
        Ok(self.prepare_cached("SELECT id FROM metric WHERE name = ?1")?.query_row([name], |r| r.get(0))?)
    }

    fn insert_raw(&self, sid: i64, ts: i64, data: &[u8]) -> Result<bool> {
        Ok(self
            .prepare_cached("INSERT OR IGNORE INTO raw(server_id, ts, data) VALUES (?1, ?2, ?3)")?
            .execute(params![sid, ts, data])?
            == 1)
    }

    fn count_raw(&self, sid: i64) -> Result<u64> {
        let n: i64 =
            self.prepare_cached("SELECT COUNT(*) FROM raw WHERE server_id = ?1")?.query_row([sid], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn count_chunks(&self, sid: i64, tier: Tier) -> Result<u64> {
        let n: i64 = self
            .prepare_cached("SELECT COUNT(*) FROM chunk WHERE server_id = ?1 AND tier = ?2")?
            .query_row(params![sid, tier.code()], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}
