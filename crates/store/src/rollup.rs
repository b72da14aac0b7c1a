//! Rollups: raw -> 1-minute -> 10-minute -> 1-hour (avg/min/max/count), driven by per-server
//! watermarks so a call is idempotent and catches up on whatever it missed.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::db::Db;
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
    /// PostgreSQL: another hub held the maintenance lock, so this call did nothing (that hub
    /// does the work; the next round here tries again).
    pub skipped: bool,
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

pub(crate) fn metric_scales(db: &dyn Db) -> Result<HashMap<i64, i8>> {
    Ok(db.metrics()?.into_iter().map(|(id, _, exp)| (id, exp)).collect())
}

pub(crate) fn rollup(db: &dyn Db, cfg: &Config, now_ms: i64) -> Result<RollupReport> {
    let scales = metric_scales(db)?;
    let mut report = RollupReport::default();
    for sid in db.server_ids()? {
        rollup_server(db, cfg, sid, now_ms, &scales, &mut report)?;
    }
    Ok(report)
}

/// Every tier of one server (PostgreSQL runs one transaction per server, under the server's lock).
pub(crate) fn rollup_server(
    db: &dyn Db,
    cfg: &Config,
    sid: i64,
    now_ms: i64,
    scales: &HashMap<i64, i8>,
    report: &mut RollupReport,
) -> Result<()> {
    let grace = i64::try_from(cfg.rollup_grace.as_millis()).unwrap_or(i64::MAX);
    let cutoff = floor_to(now_ms.saturating_sub(grace), Tier::M1.step_ms());
    let silence = i64::try_from(cfg.silence_horizon.as_millis()).unwrap_or(i64::MAX);
    rollup_raw(db, sid, cutoff, silence, scales, report)?;
    for tier in [Tier::M10, Tier::H1] {
        rollup_chunks(db, sid, tier, scales, report)?;
    }
    Ok(())
}

/// 1-minute buckets from raw rows, for whole minutes before `cutoff`.
fn rollup_raw(
    db: &dyn Db,
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
    let cutoff = match db.max_raw_ts(sid)? {
        Some(n) => cutoff.min((floor_to(n, step) + step).max(floor_to(cutoff - silence_horizon, step))),
        None => return Ok(()),
    };
    let start = match db.watermark(sid, Tier::M1)? {
        Some(w) => w,
        None => match db.min_raw_ts(sid, i64::MIN, i64::MAX)? {
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
        let Some(next) = db.min_raw_ts(sid, from, cutoff - 1)? else { break };
        from = from.max(floor_to(next, step));
        let to = (from + WINDOW_MS).min(cutoff);
        let mut buckets = Buckets::new();
        db.scan_raw(sid, from, to - 1, &mut |ts, data| {
            for (mid, v) in decode_raw(data, |id| scales.get(&id).copied())? {
                buckets.entry((mid, floor_to(ts, step))).or_insert_with(Agg::new).add(1, v, v, v);
            }
            Ok(true)
        })?;
        report.points[0] += buckets.len() as u64;
        report.chunks_written += write_points(db, sid, Tier::M1, &buckets, scales)?;
        from = to;
    }
    db.set_watermark(sid, Tier::M1, cutoff)
}

/// A coarser tier from the finer one, for whole buckets its source has fully rolled up.
fn rollup_chunks(
    db: &dyn Db,
    sid: i64,
    tier: Tier,
    scales: &HashMap<i64, i8>,
    report: &mut RollupReport,
) -> Result<()> {
    let src = tier.source();
    let step = tier.step_ms();
    let Some(src_wm) = db.watermark(sid, src)? else { return Ok(()) };
    let end = floor_to(src_wm, step);
    let start = match db.watermark(sid, tier)? {
        Some(w) => w,
        None => match db.min_chunk_start(sid, src, i64::MIN)? {
            Some(first) => floor_to(first, step),
            None => return Ok(()),
        },
    };
    if end <= start {
        return Ok(());
    }
    let mut from = start;
    while from < end {
        let Some(next) = db.min_chunk_start(sid, src, from - src.chunk_ms())? else { break };
        if next >= end {
            break;
        }
        from = from.max(floor_to(next, step));
        let to = (from + WINDOW_MS.max(src.chunk_ms()) * 4).min(end);
        let mut buckets = Buckets::new();
        db.scan_chunks(sid, src, None, from - src.chunk_ms(), to - 1, &mut |row| {
            for p in decode_chunk(row.start_ms, row.data)? {
                if p.ts >= from && p.ts < to && p.count > 0 {
                    buckets
                        .entry((row.metric_id, floor_to(p.ts, step)))
                        .or_insert_with(Agg::new)
                        .add(p.count, p.avg, p.min, p.max);
                }
            }
            Ok(true)
        })?;
        report.points[tier_index(tier)] += buckets.len() as u64;
        report.chunks_written += write_points(db, sid, tier, &buckets, scales)?;
        from = to;
    }
    db.set_watermark(sid, tier, end)
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
fn write_points(db: &dyn Db, sid: i64, tier: Tier, buckets: &Buckets, scales: &HashMap<i64, i8>) -> Result<u64> {
    let mut by_chunk: BTreeMap<(i64, i64), Vec<ChunkPoint>> = BTreeMap::new();
    for (&(mid, ts), agg) in buckets {
        by_chunk.entry((mid, floor_to(ts, tier.chunk_ms()))).or_default().push(agg.point(ts));
    }
    let mut written = 0;
    for ((mid, start), new_points) in by_chunk {
        let exp = *scales.get(&mid).ok_or_else(|| Error::Corrupt(format!("unknown metric id {mid}")))?;
        let mut merged: BTreeMap<i64, ChunkPoint> = match db.get_chunk(sid, tier, mid, start)? {
            Some(blob) => decode_chunk(start, &blob)?.into_iter().map(|p| (p.ts, p)).collect(),
            None => BTreeMap::new(),
        };
        merged.extend(new_points.into_iter().map(|p| (p.ts, p)));
        let points: Vec<ChunkPoint> = merged.into_values().collect();
        db.put_chunk(sid, tier, mid, start, &encode_chunk(start, exp, &points))?;
        written += 1;
    }
    Ok(written)
}
