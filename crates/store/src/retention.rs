//! Retention: drop data older than each tier's horizon, but never data the next tier has not
//! rolled up yet (so calling retention before rollup, or after downtime, loses nothing).

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::encoding::{chunk_exp, decode_chunk, encode_chunk};
use crate::error::Result;
use crate::rollup::{put_chunk, watermark};
use crate::types::{Config, Tier};

/// What one `apply_retention` call removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub raw_deleted: u64,
    pub chunks_deleted: u64,
    /// Chunks straddling a horizon, rewritten without their expired points.
    pub chunks_trimmed: u64,
}

/// Delete, per server:
/// - raw samples with `ts < min(now - raw_retention, 1m watermark)`, except the server's newest
///   sample (kept so `latest` still answers for a server that went quiet);
/// - rollup points with `ts < min(now - tier_retention, next tier's watermark)` (the coarsest
///   tier has no next tier).
pub(crate) fn apply(conn: &Connection, cfg: &Config, now_ms: i64) -> Result<RetentionReport> {
    let servers: Vec<i64> =
        conn.prepare_cached("SELECT id FROM server")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut report = RetentionReport::default();
    for sid in servers {
        if let Some(rolled) = watermark(conn, sid, Tier::M1)? {
            let limit = now_ms.saturating_sub(cfg.retention_ms(Tier::Raw)).min(rolled);
            report.raw_deleted += conn
                .prepare_cached(
                    "DELETE FROM raw WHERE server_id = ?1 AND ts < ?2
                       AND ts < (SELECT MAX(ts) FROM raw WHERE server_id = ?1)",
                )?
                .execute(params![sid, limit])? as u64;
        }
        for (i, tier) in Tier::ROLLUPS.into_iter().enumerate() {
            let mut limit = now_ms.saturating_sub(cfg.retention_ms(tier));
            if let Some(&next) = Tier::ROLLUPS.get(i + 1) {
                match watermark(conn, sid, next)? {
                    Some(w) => limit = limit.min(w),
                    None => continue,
                }
            }
            trim_tier(conn, sid, tier, limit, &mut report)?;
        }
    }
    Ok(report)
}

fn trim_tier(conn: &Connection, sid: i64, tier: Tier, limit: i64, report: &mut RetentionReport) -> Result<()> {
    report.chunks_deleted += conn
        .prepare_cached("DELETE FROM chunk WHERE server_id = ?1 AND tier = ?2 AND start_ms <= ?3")?
        .execute(params![sid, tier.code(), limit.saturating_sub(tier.chunk_ms())])? as u64;
    // Only chunks whose window contains `limit` remain partly expired: at most one per metric.
    let straddling: Vec<(i64, i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT metric_id, start_ms, data FROM chunk WHERE server_id = ?1 AND tier = ?2 AND start_ms < ?3",
        )?
        .query_map(params![sid, tier.code(), limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (mid, start, blob) in straddling {
        let points = decode_chunk(start, &blob)?;
        let kept: Vec<_> = points.iter().copied().filter(|p| p.ts >= limit).collect();
        if kept.len() == points.len() {
            continue;
        }
        if kept.is_empty() {
            conn.prepare_cached(
                "DELETE FROM chunk WHERE server_id = ?1 AND tier = ?2 AND metric_id = ?3 AND start_ms = ?4",
            )?
            .execute(params![sid, tier.code(), mid, start])?;
            report.chunks_deleted += 1;
        } else {
            let exp = chunk_exp(&blob)?;
            put_chunk(conn, sid, tier, mid, start, &encode_chunk(start, exp, &kept))?;
            report.chunks_trimmed += 1;
        }
    }
    Ok(())
}
