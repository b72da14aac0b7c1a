//! Retention: drop data older than each tier's horizon, but never data the next tier has not
//! rolled up yet (so calling retention before rollup, or after downtime, loses nothing).

use serde::Serialize;

use crate::db::Db;
use crate::encoding::{chunk_exp, decode_chunk, encode_chunk};
use crate::error::Result;
use crate::types::{Config, Tier};

/// What one `apply_retention` call removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub raw_deleted: u64,
    pub chunks_deleted: u64,
    /// Chunks straddling a horizon, rewritten without their expired points.
    pub chunks_trimmed: u64,
    /// PostgreSQL: another hub held the maintenance lock, so this call did nothing.
    pub skipped: bool,
}

/// Delete, per server:
/// - raw samples with `ts < min(now - raw_retention, 1m watermark)`, except the server's newest
///   sample (kept so `latest` still answers for a server that went quiet);
/// - rollup points with `ts < min(now - tier_retention, next tier's watermark)` (the coarsest
///   tier has no next tier).
pub(crate) fn apply(db: &dyn Db, cfg: &Config, now_ms: i64) -> Result<RetentionReport> {
    let mut report = RetentionReport::default();
    for sid in db.server_ids()? {
        apply_server(db, cfg, sid, now_ms, &mut report)?;
    }
    Ok(report)
}

/// Retention for one server (PostgreSQL runs one transaction per server).
pub(crate) fn apply_server(
    db: &dyn Db,
    cfg: &Config,
    sid: i64,
    now_ms: i64,
    report: &mut RetentionReport,
) -> Result<()> {
    if let Some(rolled) = db.watermark(sid, Tier::M1)? {
        let limit = now_ms.saturating_sub(cfg.retention_ms(Tier::Raw)).min(rolled);
        report.raw_deleted += db.delete_raw_before(sid, limit)?;
    }
    for (i, tier) in Tier::ROLLUPS.into_iter().enumerate() {
        let mut limit = now_ms.saturating_sub(cfg.retention_ms(tier));
        if let Some(&next) = Tier::ROLLUPS.get(i + 1) {
            match db.watermark(sid, next)? {
                Some(w) => limit = limit.min(w),
                None => continue,
            }
        }
        trim_tier(db, sid, tier, limit, report)?;
    }
    Ok(())
}

fn trim_tier(db: &dyn Db, sid: i64, tier: Tier, limit: i64, report: &mut RetentionReport) -> Result<()> {
    report.chunks_deleted += db.delete_chunks_upto(sid, tier, limit.saturating_sub(tier.chunk_ms()))?;
    // Only chunks whose window contains `limit` remain partly expired: at most one per metric.
    let mut straddling: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    db.scan_chunks(sid, tier, None, i64::MIN, limit.saturating_sub(1), &mut |row| {
        straddling.push((row.metric_id, row.start_ms, row.data.to_vec()));
        Ok(true)
    })?;
    for (mid, start, blob) in straddling {
        let points = decode_chunk(start, &blob)?;
        let kept: Vec<_> = points.iter().copied().filter(|p| p.ts >= limit).collect();
        if kept.len() == points.len() {
            continue;
        }
        if kept.is_empty() {
            db.delete_chunk(sid, tier, mid, start)?;
            report.chunks_deleted += 1;
        } else {
            let exp = chunk_exp(&blob)?;
            db.put_chunk(sid, tier, mid, start, &encode_chunk(start, exp, &kept))?;
            report.chunks_trimmed += 1;
        }
    }
    Ok(())
}
