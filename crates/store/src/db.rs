//! The data-access seam shared by both backends: the primitive reads and writes that the tier
//! algorithms (rollup, retention, history queries) are written against, so those algorithms exist
//! once and each backend only supplies SQL.
//!
//! The trait is synchronous on purpose: SQLite runs it on its writer thread or a blocking reader,
//! and PostgreSQL runs it on a blocking thread inside one transaction (see `pg::ops`).

use crate::error::Result;
use crate::types::Tier;

/// Visitors over rows in key order; they return `Ok(false)` to stop early.
pub(crate) type RawVisit<'a> = &'a mut dyn FnMut(i64, &[u8]) -> Result<bool>;
pub(crate) type ChunkVisit<'a> = &'a mut dyn FnMut(ChunkRow<'_>) -> Result<bool>;

/// One stored rollup chunk row as a scan yields it.
pub(crate) struct ChunkRow<'a> {
    pub metric_id: i64,
    pub start_ms: i64,
    pub data: &'a [u8],
}

pub(crate) trait Db {
    /// Every metric as `(id, name, decimal exponent of its quantum)`.
    fn metrics(&self) -> Result<Vec<(i64, String, i8)>>;
    fn server_id(&self, name: &str) -> Result<Option<i64>>;
    /// Every server id (any order).
    fn server_ids(&self) -> Result<Vec<i64>>;
    /// Every server name, sorted.
    fn server_names(&self) -> Result<Vec<String>>;

    /// Newest raw row of a server.
    fn newest_raw(&self, sid: i64) -> Result<Option<(i64, Vec<u8>)>>;
    fn max_raw_ts(&self, sid: i64) -> Result<Option<i64>>;
    /// Oldest raw timestamp with `lo <= ts <= hi`.
    fn min_raw_ts(&self, sid: i64, lo: i64, hi: i64) -> Result<Option<i64>>;
    /// Raw rows with `lo <= ts <= hi`, ascending.
    fn scan_raw(&self, sid: i64, lo: i64, hi: i64, f: RawVisit<'_>) -> Result<()>;
    /// Delete raw rows with `ts < before`, always keeping the server's newest row.
    fn delete_raw_before(&self, sid: i64, before: i64) -> Result<u64>;

    /// Everything before the watermark is rolled up into `tier`.
    fn watermark(&self, sid: i64, tier: Tier) -> Result<Option<i64>>;
    fn set_watermark(&self, sid: i64, tier: Tier, ts: i64) -> Result<()>;

    /// Smallest chunk start with `start > after`.
    fn min_chunk_start(&self, sid: i64, tier: Tier, after: i64) -> Result<Option<i64>>;
    /// Chunk rows with `after < start <= upto` (of one metric, or all), ordered by metric, start.
    fn scan_chunks(
        &self,
        sid: i64,
        tier: Tier,
        metric: Option<i64>,
        after: i64,
        upto: i64,
        f: ChunkVisit<'_>,
    ) -> Result<()>;
    fn get_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64) -> Result<Option<Vec<u8>>>;
    /// Insert or replace one chunk row.
    fn put_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64, blob: &[u8]) -> Result<()>;
    fn delete_chunk(&self, sid: i64, tier: Tier, mid: i64, start: i64) -> Result<()>;
    /// Delete a tier's chunks with `start <= upto`.
    fn delete_chunks_upto(&self, sid: i64, tier: Tier, upto: i64) -> Result<u64>;

    // For the copy between backends: interning with a given scale, raw rows as stored, counts.
    /// The server's id, created if absent.
    fn ensure_server(&self, name: &str) -> Result<i64>;
    /// The metric's id, created with `scale` if absent.
    fn ensure_metric(&self, name: &str, scale: i8) -> Result<i64>;
    /// Insert a raw row unless one exists at `(sid, ts)`; whether it was inserted.
    fn insert_raw(&self, sid: i64, ts: i64, data: &[u8]) -> Result<bool>;
    fn count_raw(&self, sid: i64) -> Result<u64>;
    fn count_chunks(&self, sid: i64, tier: Tier) -> Result<u64>;
}
