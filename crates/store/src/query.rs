//! Read queries: history with tier selection and cursor pagination, latest sample, server list.

use std::collections::{BTreeMap, HashMap};

use crate::db::Db;
use crate::encoding::{decode_chunk, decode_raw};
use crate::error::{Error, Result};
use crate::types::{Config, History, Point, Sample, Stat, Tier};

/// Largest page a caller can ask for; bounds the memory of one query.
pub const MAX_LIMIT: usize = 10_000;

struct Metrics {
    by_id: HashMap<i64, (String, i8)>,
}

impl Metrics {
    fn load(db: &dyn Db) -> Result<Self> {
        Ok(Self { by_id: db.metrics()?.into_iter().map(|(id, name, exp)| (id, (name, exp))).collect() })
    }

    fn exp(&self, id: i64) -> Option<i8> {
        self.by_id.get(&id).map(|m| m.1)
    }

    fn name(&self, id: i64) -> Option<&str> {
        self.by_id.get(&id).map(|m| m.0.as_str())
    }

    /// Requested names -> ids (unknown names are simply absent); empty request = every metric.
    fn select(&self, names: &[String]) -> BTreeMap<i64, String> {
        self.by_id
            .iter()
            .filter(|(_, (n, _))| names.is_empty() || names.iter().any(|w| w == n))
            .map(|(&id, (n, _))| (id, n.clone()))
            .collect()
    }
}

pub(crate) fn server_ids(db: &dyn Db) -> Result<Vec<String>> {
    db.server_names()
}

/// The newest stored sample (retention always keeps one per server).
pub(crate) fn latest(db: &dyn Db, server: &str) -> Result<Option<Sample>> {
    let Some(sid) = db.server_id(server)? else { return Ok(None) };
    let Some((ts, data)) = db.newest_raw(sid)? else { return Ok(None) };
    let metrics = Metrics::load(db)?;
    let mut sample = Sample::new(server, ts);
    for (mid, v) in decode_raw(&data, |id| metrics.exp(id))? {
        if let Some(name) = metrics.name(mid) {
            sample.values.insert(name.to_owned(), v);
        }
    }
    Ok(Some(sample))
}

/// Span-based choice: <= 1 h raw, <= 24 h 1-minute, <= 30 d 10-minute, else 1-hour. Then, if
/// `from` is already past that tier's retention horizon (measured from the server's newest
/// sample, so no wall clock is involved), fall back to the next coarser tier that still has it.
fn choose_tier(db: &dyn Db, cfg: &Config, sid: Option<i64>, from: i64, to: i64) -> Result<Tier> {
    const HOUR: i64 = 3_600_000;
    let span = to.saturating_sub(from);
    let mut tier = if span <= HOUR {
        Tier::Raw
    } else if span <= 24 * HOUR {
        Tier::M1
    } else if span <= 30 * 24 * HOUR {
        Tier::M10
    } else {
        Tier::H1
    };
    let Some(sid) = sid else { return Ok(tier) };
    let Some(newest) = db.max_raw_ts(sid)? else { return Ok(tier) };
    while tier != Tier::H1 && from < newest.saturating_sub(cfg.retention_ms(tier)) {
        tier = match tier {
            Tier::Raw => Tier::M1,
            Tier::M1 => Tier::M10,
            Tier::M10 | Tier::H1 => Tier::H1,
        };
    }
    Ok(tier)
}

/// Cursor = the tier of the first page and the last timestamp returned, hex-encoded so clients
/// treat it as opaque. Keeping the tier means later pages never switch resolution midway.
fn encode_cursor(tier: Tier, last_ts: i64) -> String {
    let text = format!("1:{}:{last_ts}", tier.code());
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Result<(Tier, i64)> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > 128 {
        return Err(Error::InvalidCursor);
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| cursor.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    let text = String::from_utf8(bytes.ok_or(Error::InvalidCursor)?).map_err(|_| Error::InvalidCursor)?;
    let mut parts = text.split(':');
    match (
        parts.next(),
        parts.next().and_then(|t| t.parse().ok()).and_then(Tier::from_code),
        parts.next(),
        parts.next(),
    ) {
        (Some("1"), Some(tier), Some(ts), None) => Ok((tier, ts.parse().map_err(|_| Error::InvalidCursor)?)),
        _ => Err(Error::InvalidCursor),
    }
}

pub(crate) struct HistoryRequest<'a> {
    pub server: &'a str,
    pub metrics: &'a [String],
    pub from_ms: i64,
    pub to_ms: i64,
    pub limit: usize,
    pub cursor: Option<&'a str>,
    /// Force a tier instead of choosing one from the range.
    pub tier: Option<Tier>,
}

/// Points with `from_ms <= timestamp <= to_ms` in ascending order, at most `limit` per page.
pub(crate) fn history(db: &dyn Db, cfg: &Config, req: &HistoryRequest<'_>) -> Result<History> {
    let limit = req.limit.clamp(1, MAX_LIMIT);
    let sid = db.server_id(req.server)?;
    let (tier, lo) = match req.cursor {
        Some(c) => {
            let (tier, last) = decode_cursor(c)?;
            (tier, req.from_ms.max(last.saturating_add(1)))
        }
        None => match req.tier {
            Some(t) => (t, req.from_ms),
            None => (choose_tier(db, cfg, sid, req.from_ms, req.to_ms)?, req.from_ms),
        },
    };
    let resolution_seconds = match tier {
        Tier::Raw => cfg.raw_interval_secs,
        t => (t.step_ms() / 1000) as u64,
    };
    let mut points = match sid {
        Some(sid) if lo <= req.to_ms => {
            let metrics = Metrics::load(db)?;
            let wanted = metrics.select(req.metrics);
            if tier == Tier::Raw {
                raw_points(db, sid, &metrics, &wanted, lo, req.to_ms, limit + 1)?
            } else {
                chunk_points(db, sid, tier, &wanted, lo, req.to_ms, limit + 1)?
            }
        }
        _ => Vec::new(),
    };
    let next_cursor = if points.len() > limit {
        points.truncate(limit);
        points.last().map(|p| encode_cursor(tier, p.timestamp_ms))
    } else {
        None
    };
    Ok(History { points, tier, resolution_seconds, next_cursor })
}

fn raw_points(
    db: &dyn Db,
    sid: i64,
    metrics: &Metrics,
    wanted: &BTreeMap<i64, String>,
    lo: i64,
    hi: i64,
    take: usize,
) -> Result<Vec<Point>> {
    let mut out = Vec::new();
    db.scan_raw(sid, lo, hi, &mut |ts, data| {
        let values: BTreeMap<String, Stat> = decode_raw(data, |id| metrics.exp(id))?
            .into_iter()
            .filter_map(|(mid, v)| wanted.get(&mid).map(|n| (n.clone(), Stat { avg: v, min: v, max: v })))
            .collect();
        if !values.is_empty() {
            out.push(Point { timestamp_ms: ts, values });
        }
        Ok(out.len() < take)
    })?;
    Ok(out)
}

/// Each metric's first `take` points in range; the first `take` distinct timestamps of their
/// union are then exactly the first `take` of the full merge, so memory stays metrics x take.
fn chunk_points(
    db: &dyn Db,
    sid: i64,
    tier: Tier,
    wanted: &BTreeMap<i64, String>,
    lo: i64,
    hi: i64,
    take: usize,
) -> Result<Vec<Point>> {
    let mut merged: BTreeMap<i64, Point> = BTreeMap::new();
    for (&mid, name) in wanted {
        let mut n = 0;
        db.scan_chunks(sid, tier, Some(mid), lo.saturating_sub(tier.chunk_ms()), hi, &mut |row| {
            for p in decode_chunk(row.start_ms, row.data)? {
                if p.ts < lo || p.ts > hi {
                    continue;
                }
                if n == take {
                    return Ok(false);
                }
                n += 1;
                merged
                    .entry(p.ts)
                    .or_insert_with(|| Point { timestamp_ms: p.ts, values: BTreeMap::new() })
                    .values
                    .insert(name.clone(), Stat { avg: p.avg, min: p.min, max: p.max });
            }
            Ok(true)
        })?;
    }
    Ok(merged.into_values().take(take).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = encode_cursor(Tier::M10, 1_700_000_000_123);
        assert_eq!(decode_cursor(&c).unwrap(), (Tier::M10, 1_700_000_000_123));
        for bad in ["", "zz", "abc", "313a393a31", &"00".repeat(70)] {
            assert!(matches!(decode_cursor(bad), Err(Error::InvalidCursor)), "{bad}");
        }
    }
}
