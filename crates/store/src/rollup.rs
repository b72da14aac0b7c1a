//! Rollups: raw -> 1-minute -> 10-minute -> 1-hour (avg/min/max/count), driven by per-server
//! watermarks so a call is idempotent and catches up on whatever it missed.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::encoding::{ChunkPoint, decode_chunk, decode_raw, encode_chunk};
use crate::error::{Error, Result};
use crate::types::{Config, Tier};

/// What one `rollup` call produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RollupReport {
    /// New points per tier: `[1m, 10m, 1h]`.
    pub points: [u64; 3],
    /// Chunk rows written (created or rewritten).
    pub chunks_written: u64,
}

/// Source rows are read in windows this long, bounding memory during a long catch-up.
const WINDOW_MS: i64 = 6 * 3_600_000;

pub(crate) fn floor_to(ts: i64, step: i64) -> i64 {
    ts.div_euclid(step) * step
}

#[derive(Clone, Copy)]
struct Agg {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Agg {
    fn new() -> Self {
        Self { count: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }

    fn add(&mut self, count: u64, avg: f64, min: f64, max: f64) {
        self.count += count;
        // Weighted by sample count so gaps do not skew a coarser average.
        self.sum += avg * count as f64;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
    }

    fn point(&self, ts: i64) -> ChunkPoint {
        let avg = if self.count == 0 { 0.0 } else { self.sum / self.count as f64 };
        ChunkPoint { ts, count: self.count, avg, min: self.min, max: self.max }
    }
}

/// (metric id, bucket start) -> aggregate.
type Buckets = BTreeMap<(i64, i64), Agg>;

pub(crate) fn metric_scales(conn: &Connection) -> Result<HashMap<i64, i8>> {
    let mut stmt = conn.prepare_cached("SELECT id, scale FROM metric")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as i8)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn watermark(conn: &Connection, server_id: i64, tier: Tier) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT watermark_ms FROM rollup_state WHERE server_id = ?1 AND tier = ?2")?
        .query_row(params![server_id, tier.code()], |r| r.get(0))
        .optional()?)
}

fn set_watermark(conn: &Connection, server_id: i64, tier: Tier, ts: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO rollup_state(server_id, tier, watermark_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT(server_id, tier) DO UPDATE SET watermark_ms = excluded.watermark_ms",
    )?
    .execute(params![server_id, tier.code(), ts])?;
    Ok(())
}

pub(crate) fn rollup(conn: &Connection, cfg: &Config, now_ms: i64) -> Result<RollupReport> {
    let scales = metric_scales(conn)?;
    let servers: Vec<i64> =
        conn.prepare_cached("SELECT id FROM server")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let grace = i64::try_from(cfg.rollup_grace.as_millis()).unwrap_or(i64::MAX);
    let cutoff = floor_to(now_ms.saturating_sub(grace), Tier::M1.step_ms());
    let silence = i64::try_from(cfg.silence_horizon.as_millis()).unwrap_or(i64::MAX);
    let mut report = RollupReport::default();
    for sid in servers {
        rollup_raw(conn, sid, cutoff, silence, &scales, &mut report)?;
        for tier in [Tier::M10, Tier::H1] {
            rollup_chunks(conn, sid, tier, &scales, &mut report)?;
        }
    }
    Ok(report)
}

/// 1-minute buckets from raw rows, for whole minutes before `cutoff`.
fn rollup_raw(
    conn: &Connection,
    sid: i64,
    cutoff: i64,
    silence_horizon: i64,
    scales: &HashMap<i64, i8>,
    report: &mut RollupReport,
) -> Result<()> {
    let step = Tier::M1.step_ms();
    // Do not roll up over a silence shorter than `silence_horizon` past the server's newest sample:
    // an agent cut off (or the hub itself down) replays its spool when it is back, and those samples
    // must land in raw, not be refused as late. A longer silence is closed, so a server that is gone
    // for good still has its last minutes summarised.
    let newest: Option<i64> =
        conn.prepare_cached("SELECT MAX(ts) FROM raw WHERE server_id = ?1")?.query_row([sid], |r| r.get(0))?;
    let cutoff = match newest {
        Some(n) => cutoff.min((floor_to(n, step) + step).max(floor_to(cutoff - silence_horizon, step))),
        None => return Ok(()),
    };
    let start = match watermark(conn, sid, Tier::M1)? {
        Some(w) => w,
        None => match conn
            .prepare_cached("SELECT MIN(ts) FROM raw WHERE server_id = ?1")?
            .query_row([sid], |r| r.get::<_, Option<i64>>(0))?
        {
            Some(first) => floor_to(first, step),
            None => return Ok(()),
        },
    };
    if cutoff <= start {
        return Ok(());
    }
    let mut from = start;
    while from < cutoff {
        // Jump over stretches without data (downtime) instead of scanning them window by window.
        let next: Option<i64> = conn
            .prepare_cached("SELECT MIN(ts) FROM raw WHERE server_id = ?1 AND ts >= ?2 AND ts < ?3")?
            .query_row(params![sid, from, cutoff], |r| r.get(0))?;
        let Some(next) = next else { break };
        from = from.max(floor_to(next, step));
        let to = (from + WINDOW_MS).min(cutoff);
        let mut buckets = Buckets::new();
        let mut stmt = conn.prepare_cached("SELECT ts, data FROM raw WHERE server_id = ?1 AND ts >= ?2 AND ts < ?3")?;
        let mut rows = stmt.query(params![sid, from, to])?;
        while let Some(row) = rows.next()? {
            let ts: i64 = row.get(0)?;
            let data: Vec<u8> = row.get(1)?;
            for (mid, v) in decode_raw(&data, |id| scales.get(&id).copied())? {
                buckets.entry((mid, floor_to(ts, step))).or_insert_with(Agg::new).add(1, v, v, v);
            }
        }
        report.points[0] += buckets.len() as u64;
        report.chunks_written += write_points(conn, sid, Tier::M1, &buckets, scales)?;
        from = to;
    }
    set_watermark(conn, sid, Tier::M1, cutoff)
}

/// A coarser tier from the finer one, for whole buckets its source has fully rolled up.
fn rollup_chunks(
    conn: &Connection,
    sid: i64,
    tier: Tier,
    scales: &HashMap<i64, i8>,
    report: &mut RollupReport,
) -> Result<()> {
    let src = tier.source();
    let step = tier.step_ms();
    let Some(src_wm) = watermark(conn, sid, src)? else { return Ok(()) };
    let end = floor_to(src_wm, step);
    let first_src = "SELECT MIN(start_ms) FROM chunk WHERE server_id = ?1 AND tier = ?2 AND start_ms > ?3";
    let start = match watermark(conn, sid, tier)? {
        Some(w) => w,
        None => match conn
            .prepare_cached(first_src)?
            .query_row(params![sid, src.code(), i64::MIN], |r| r.get::<_, Option<i64>>(0))?
        {
            Some(first) => floor_to(first, step),
            None => return Ok(()),
        },
    };
    if end <= start {
        return Ok(());
    }
    let mut from = start;
    while from < end {
        let next: Option<i64> =
            conn.prepare_cached(first_src)?.query_row(params![sid, src.code(), from - src.chunk_ms()], |r| r.get(0))?;
        let Some(next) = next else { break };
        if next >= end {
            break;
        }
        from = from.max(floor_to(next, step));
        let to = (from + WINDOW_MS.max(src.chunk_ms()) * 4).min(end);
        let mut buckets = Buckets::new();
        let mut stmt = conn.prepare_cached(
            "SELECT metric_id, start_ms, data FROM chunk
             WHERE server_id = ?1 AND tier = ?2 AND start_ms > ?3 AND start_ms < ?4",
        )?;
        let mut rows = stmt.query(params![sid, src.code(), from - src.chunk_ms(), to])?;
        while let Some(row) = rows.next()? {
            let mid: i64 = row.get(0)?;
            let base: i64 = row.get(1)?;
            let data: Vec<u8> = row.get(2)?;
            for p in decode_chunk(base, &data)? {
                if p.ts >= from && p.ts < to && p.count > 0 {
                    buckets
                        .entry((mid, floor_to(p.ts, step)))
                        .or_insert_with(Agg::new)
                        .add(p.count, p.avg, p.min, p.max);
                }
            }
        }
        report.points[tier_index(tier)] += buckets.len() as u64;
        report.chunks_written += write_points(conn, sid, tier, &buckets, scales)?;
        from = to;
    }
    set_watermark(conn, sid, tier, end)
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Raw | Tier::M1 => 0,
        Tier::M10 => 1,
        Tier::H1 => 2,
    }
}

/// Merge new points into their chunk rows (read-modify-write of at most one row per metric per
/// chunk window). Returns the number of rows written.
fn write_points(conn: &Connection, sid: i64, tier: Tier, buckets: &Buckets, scales: &HashMap<i64, i8>) -> Result<u64> {
    let mut by_chunk: BTreeMap<(i64, i64), Vec<ChunkPoint>> = BTreeMap::new();
    for (&(mid, ts), agg) in buckets {
        by_chunk.entry((mid, floor_to(ts, tier.chunk_ms()))).or_default().push(agg.point(ts));
    }
    let mut written = 0;
    for ((mid, start), new_points) in by_chunk {
        let exp = *scales.get(&mid).ok_or_else(|| Error::Corrupt(format!("unknown metric id {mid}")))?;
        let existing: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT data FROM chunk WHERE server_id = ?1 AND tier = ?2 AND metric_id = ?3 AND start_ms = ?4",
            )?
            .query_row(params![sid, tier.code(), mid, start], |r| r.get(0))
            .optional()?;
        let mut merged: BTreeMap<i64, ChunkPoint> = match existing {
            Some(blob) => decode_chunk(start, &blob)?.into_iter().map(|p| (p.ts, p)).collect(),
            None => BTreeMap::new(),
        };
        merged.extend(new_points.into_iter().map(|p| (p.ts, p)));
        let points: Vec<ChunkPoint> = merged.into_values().collect();
        put_chunk(conn, sid, tier, mid, start, &encode_chunk(start, exp, &points))?;
        written += 1;
    }
    Ok(written)
}

pub(crate) fn put_chunk(conn: &Connection, sid: i64, tier: Tier, mid: i64, start: i64, blob: &[u8]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO chunk(server_id, tier, metric_id, start_ms, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(server_id, tier, metric_id, start_ms) DO UPDATE SET data = excluded.data",
    )?
    .execute(params![sid, tier.code(), mid, start, blob])?;
    Ok(())
}
