//! A server's metrics over time: the `/api/metrics/history` query (ranges, cursors, pages) and the
//! one series function every reader of history uses (the history page, the assistant, analyses,
//! tools). Stored servers are read at the store's tier for the span; simulated ones are computed at
//! the resolution that tier would have, so both look alike.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::metric::Metric;
use super::model::Live;
use crate::clock;
use crate::validation::{FieldError, check};

pub const DEFAULT_LIMIT: usize = 1000;
pub const MAX_LIMIT: usize = 10_000;
const HOUR_MS: i64 = 3_600_000;

/// How far back a history reaches when no `from` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, schemars::JsonSchema)]
pub enum TimeRange {
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "6h")]
    H6,
    #[serde(rename = "24h", alias = "1d")]
    H24,
    #[serde(rename = "7d")]
    D7,
    #[serde(rename = "30d")]
    D30,
}

impl TimeRange {
    pub fn millis(self) -> i64 {
        match self {
            TimeRange::M15 => HOUR_MS / 4,
            TimeRange::H1 => HOUR_MS,
            TimeRange::H6 => 6 * HOUR_MS,
            TimeRange::H24 => 24 * HOUR_MS,
            TimeRange::D7 => 7 * 24 * HOUR_MS,
            TimeRange::D30 => 30 * 24 * HOUR_MS,
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// A server id (default: this host when it is monitored, else the first server).
    #[param(max_length = 128)]
    pub server_id: Option<String>,
    /// Only this metric.
    pub metric: Option<Metric>,
    /// How far back (default 1h); ignored when `from` is given.
    pub time_range: Option<TimeRange>,
    /// Start, RFC 3339 or Unix milliseconds (at most 15 digits); not after `to`.
    #[param(schema_with = time_schema)]
    pub from: Option<String>,
    /// End, RFC 3339 or Unix milliseconds (default now).
    #[param(schema_with = time_schema)]
    pub to: Option<String>,
    /// Points per page (default 1000, at most 10000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

/// Unix milliseconds as `from`/`to` take them: 15 digits at most (30,000 years either way), so
/// spans never overflow.
const MAX_MS_DIGITS: usize = 15;

/// `from`/`to`: an RFC 3339 date-time or Unix milliseconds.
fn time_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^-?[0-9]{1,15}$")))
        .build()
        .into()
}

/// A checked history query.
#[derive(Debug, Clone)]
pub struct Window {
    pub from: i64,
    pub to: i64,
    pub limit: usize,
}

fn parse_time(field: &str, v: &str) -> Result<i64, FieldError> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match v.parse::<i64>() {
            Ok(ms) if digits.len() <= MAX_MS_DIGITS => Ok(ms),
            _ => Err(FieldError::new(field, format!("Unix milliseconds have at most {MAX_MS_DIGITS} digits"))),
        };
    }
    v.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| FieldError::new(field, "must be RFC 3339 or Unix milliseconds"))
}

impl HistoryQuery {
    /// The window the query asks for at `now`, or every field that is wrong.
    pub fn window(&self, now: i64) -> Result<Window, Vec<FieldError>> {
        let mut errors = Vec::new();
        let to = match self.to.as_deref().map(|v| parse_time("to", v)) {
            Some(Err(e)) => {
                errors.push(e);
                now
            }
            Some(Ok(t)) => t,
            None => now,
        };
        let span = self.time_range.map_or(HOUR_MS, TimeRange::millis);
        let from = match self.from.as_deref().map(|v| parse_time("from", v)) {
            Some(Err(e)) => {
                errors.push(e);
                to - span
            }
            Some(Ok(t)) => t,
            None => to.saturating_sub(span),
        };
        if from > to {
            errors.push(FieldError::new("from", "must not be after `to`"));
        }
        let limit = self.limit.map_or(DEFAULT_LIMIT, |l| l as usize);
        if limit == 0 || limit > MAX_LIMIT {
            errors.push(FieldError::new("limit", format!("must be 1-{MAX_LIMIT}")));
        }
        check(errors).map(|()| Window { from, to, limit })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPoint {
    pub bytes_received: Option<f64>,
    pub bytes_sent: Option<f64>,
}

/// One point of a history page (`null` where the metric was not asked for or not known).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryPoint {
    pub timestamp: String,
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    pub disk: Option<f64>,
    pub network: NetworkPoint,
    pub load1: Option<f64>,
}

impl HistoryPoint {
    /// From a value getter by metric, keeping only `only` when given.
    pub fn new(at_ms: i64, get: impl Fn(Metric) -> Option<f64>, only: Option<Metric>) -> Self {
        let want = |m: Metric| match only {
            None => true,
            Some(Metric::Network) => matches!(m, Metric::NetworkIn | Metric::NetworkOut),
            Some(o) => o == m,
        };
        let pick = |m: Metric| if want(m) { get(m) } else { None };
        HistoryPoint {
            timestamp: clock::millis_rfc3339(at_ms),
            cpu: pick(Metric::Cpu),
            memory: pick(Metric::Memory),
            disk: pick(Metric::Disk),
            network: NetworkPoint { bytes_received: pick(Metric::NetworkIn), bytes_sent: pick(Metric::NetworkOut) },
            load1: pick(Metric::Load1),
        }
    }
}

/// A page of history.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub server_id: String,
    pub points: Vec<HistoryPoint>,
    pub resolution_seconds: u64,
    pub next_cursor: Option<String>,
}

/// The resolution the store keeps for a span (raw up to an hour, then 1-minute, 10-minute and
/// 1-hour rollups), so simulated servers are computed as finely as stored ones are read.
pub fn step_for(span_ms: i64) -> i64 {
    match span_ms {
        s if s <= HOUR_MS => 5_000,
        s if s <= 24 * HOUR_MS => 60_000,
        s if s <= 30 * 24 * HOUR_MS => 600_000,
        _ => HOUR_MS,
    }
}

/// The step for at most `max_points` points over a span: the store's resolution, or coarser.
pub fn step_within(span_ms: i64, max_points: usize) -> i64 {
    let fit = span_ms.div_euclid(max_points.max(1) as i64);
    step_for(span_ms).max(fit).max(1)
}

/// One metric's values over time, oldest first.
pub type Series = Vec<(i64, f64)>;

/// Values of `metrics` in a run of live readings.
pub fn from_lives(lives: &[Live], metrics: &[Metric]) -> Vec<(Metric, Series)> {
    metrics.iter().map(|m| (*m, lives.iter().filter_map(|l| m.of_live(l).map(|v| (l.at_ms, v))).collect())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_names_every_bad_field() {
        let q = HistoryQuery { from: Some("yesterday".into()), limit: Some(0), ..HistoryQuery::default() };
        let e = q.window(1_000_000).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["from", "limit"]);
        let ok = HistoryQuery { time_range: Some(TimeRange::H6), ..HistoryQuery::default() };
        let w = ok.window(10 * HOUR_MS).unwrap();
        assert_eq!((w.from, w.to, w.limit), (4 * HOUR_MS, 10 * HOUR_MS, DEFAULT_LIMIT));
    }

    #[test]
    fn steps_follow_the_tiers_and_the_point_budget() {
        assert_eq!(step_for(HOUR_MS), 5_000);
        assert_eq!(step_for(7 * 24 * HOUR_MS), 600_000);
        assert_eq!(step_within(HOUR_MS, 60), 60_000);
        assert_eq!(step_within(HOUR_MS, 10_000), 5_000);
    }
}
