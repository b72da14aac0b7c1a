//! Check results in the history tiers: each (check, place) is one series in the store (key
//! `check:<id>@<where>`, never a fleet server: the fleet lists servers from its own records), with
//! `up` (1 or 0), `latency_ms`, and `status_code` and `cert_days_left` when the probe reported them.
//! Rollups average `up`, so a bucket's `up` is the uptime of that bucket; uptime over a window is the
//! mean of the buckets the store answers for it.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::clock;
use crate::fleet::history::{HistoryQuery, TimeRange};
use crate::validation::FieldError;

pub const UP: &str = "up";
pub const LATENCY: &str = "latency_ms";
pub const STATUS_CODE: &str = "status_code";
pub const CERT_DAYS: &str = "cert_days_left";

const DAY_MS: i64 = 86_400_000;

/// The store series of `check` at `location`.
pub fn series(check: &str, location: &str) -> String {
    format!("check:{check}@{location}")
}

/// The sample a result becomes. A result taken in a maintenance window has no `up`: the window is
/// neither up nor down time, so uptime (the mean of `up`) leaves it out, as Uptime Kuma does; its
/// latency and status code are kept.
pub fn sample(result: &probe::CheckResult, in_maintenance: bool) -> store::Sample {
    let o = &result.outcome;
    let mut s = store::Sample::new(series(&result.check_id, &result.location), result.at).with(LATENCY, o.latency_ms);
    if !in_maintenance {
        s = s.with(UP, if o.up { 1.0 } else { 0.0 });
    }
    if let Some(code) = o.status_code {
        s = s.with(STATUS_CODE, f64::from(code));
    }
    if let Some(days) = o.cert_days_left {
        s = s.with(CERT_DAYS, days as f64);
    }
    s
}

/// `GET /api/checks/{id}/history`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckHistoryQuery {
    /// How far back (default 24h); ignored when `from` is given.
    pub time_range: Option<TimeRange>,
    /// Start, RFC 3339 or Unix milliseconds.
    #[param(max_length = 40)]
    pub from: Option<String>,
    /// End, RFC 3339 or Unix milliseconds (default now).
    #[param(max_length = 40)]
    pub to: Option<String>,
    /// Points per page (default 1000, at most 10000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
    #[param(max_length = 256)]
    pub cursor: Option<String>,
    /// The place (`hub` or `agent:<serverId>`; default the check's first).
    #[serde(rename = "where")]
    #[param(rename = "where", max_length = 70)]
    pub location: Option<String>,
}

impl CheckHistoryQuery {
    /// The window, as the metrics history computes it (24 h by default).
    pub fn window(&self, now: i64) -> Result<crate::fleet::history::Window, Vec<FieldError>> {
        let q = HistoryQuery {
            time_range: Some(self.time_range.unwrap_or(TimeRange::H24)),
            from: self.from.clone(),
            to: self.to.clone(),
            limit: self.limit,
            ..HistoryQuery::default()
        };
        q.window(now)
    }
}

/// One point: the bucket's uptime (0-1 for rollups, 0 or 1 for raw results) and mean figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckPoint {
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Share of results that were up, 0-1.
    pub uptime: Option<f64>,
    pub latency_ms: Option<f64>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<f64>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<f64>,
}

/// A page of a check's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckHistory {
    pub check_id: String,
    #[serde(rename = "where")]
    pub location: String,
    pub points: Vec<CheckPoint>,
    /// Seconds per point.
    pub resolution_seconds: u64,
    pub next_cursor: Option<String>,
}

pub fn points(history: &store::History) -> Vec<CheckPoint> {
    let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
    history
        .points
        .iter()
        .map(|p| {
            let avg = |m: &str| p.values.get(m).map(|s| round(s.avg));
            CheckPoint {
                timestamp: clock::millis_rfc3339(p.timestamp_ms),
                uptime: avg(UP),
                latency_ms: avg(LATENCY),
                status_code: avg(STATUS_CODE),
                cert_days_left: avg(CERT_DAYS),
            }
        })
        .collect()
}

/// The windows of a check's uptime summary, in days.
pub const WINDOWS_DAYS: [i64; 4] = [1, 7, 30, 90];

/// Uptime (0-1) of `series` over the `days` before `now`: the mean of the stored buckets' `up`, at
/// the coarsest tier that covers the window (at most ~4,300 points); a finer tier when that one has
/// nothing yet (a young hub has no hourly rollups).
pub async fn uptime(store: &store::Store, series: &str, days: i64, now: i64) -> Result<Option<f64>, store::Error> {
    use store::Tier;
    let from = now - days * DAY_MS;
    let tiers: &[Tier] = match days {
        ..=1 => &[Tier::M1, Tier::Raw],
        2..=30 => &[Tier::M10, Tier::M1, Tier::Raw],
        _ => &[Tier::H1, Tier::M10, Tier::M1, Tier::Raw],
    };
    for &tier in tiers {
        let (mut sum, mut n) = (0.0, 0usize);
        let mut cursor: Option<String> = None;
        // Bounded: at most a few pages for any window at these tiers.
        for _ in 0..8 {
            let page = store.history_at(tier, series, &[UP], from, now, store::MAX_LIMIT, cursor.as_deref()).await?;
            for s in page.points.iter().filter_map(|p| p.values.get(UP)) {
                sum += s.avg;
                n += 1;
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if n > 0 {
            return Ok(Some(sum / n as f64));
        }
    }
    Ok(None)
}

/// Uptime (0-1) per UTC day over the `days` before `now`, for the days with data: the hourly tier,
/// or a finer one when a young hub has no hourly rollups yet.
pub async fn daily(store: &store::Store, series: &str, days: i64, now: i64) -> Result<Vec<(i64, f64)>, store::Error> {
    use store::Tier;
    let from = (now.div_euclid(DAY_MS) - days + 1) * DAY_MS;
    for tier in [Tier::H1, Tier::M10, Tier::M1, Tier::Raw] {
        let mut by_day: std::collections::BTreeMap<i64, (f64, usize)> = std::collections::BTreeMap::new();
        let mut cursor: Option<String> = None;
        for _ in 0..8 {
            let page = store.history_at(tier, series, &[UP], from, now, store::MAX_LIMIT, cursor.as_deref()).await?;
            for p in &page.points {
                if let Some(s) = p.values.get(UP) {
                    let e = by_day.entry(p.timestamp_ms.div_euclid(DAY_MS) * DAY_MS).or_default();
                    e.0 += s.avg;
                    e.1 += 1;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if !by_day.is_empty() {
            return Ok(by_day.into_iter().map(|(d, (sum, n))| (d, sum / n as f64)).collect());
        }
    }
    Ok(Vec::new())
}
