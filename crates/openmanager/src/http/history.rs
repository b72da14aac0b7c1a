//! `GET /api/metrics/history`: a server's metrics over a range, at the resolution of the stored tier
//! (simulated servers are computed at that resolution instead), with a cursor for the next page.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, FieldError};
use crate::clock;
use crate::fleet::model::{Live, Source};
use crate::fleet::simulated;
use crate::state::AppState;
use protocol::metric;

/// The metrics a history point carries, by their store names.
const METRICS: [&str; 6] = [metric::CPU, metric::MEMORY, metric::DISK, metric::NET_RX, metric::NET_TX, metric::LOAD1];
const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(history))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// A server id (default: this host when it is monitored, else the first server).
    pub server_id: Option<String>,
    /// Limit the point to one metric: cpu, memory, disk, network, load1.
    pub metric: Option<String>,
    /// 15m | 1h | 6h | 24h | 7d | 30d (default 1h); ignored when `from` is given.
    pub time_range: Option<String>,
    /// Start, RFC 3339 or Unix milliseconds.
    pub from: Option<String>,
    /// End, RFC 3339 or Unix milliseconds (default now).
    pub to: Option<String>,
    /// Points per page (default 1000, at most 10000).
    pub limit: Option<usize>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPoint {
    bytes_received: Option<f64>,
    bytes_sent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryPoint {
    timestamp: String,
    cpu: Option<f64>,
    memory: Option<f64>,
    disk: Option<f64>,
    network: NetworkPoint,
    load1: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryBody {
    pub success: bool,
    pub server_id: String,
    pub data: Vec<HistoryPoint>,
    /// Seconds between points.
    pub resolution: String,
    pub next_cursor: Option<String>,
    pub timestamp: String,
}

fn parse_time(field: &str, v: &str) -> Result<i64, FieldError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    v.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| FieldError::new(field, "must be RFC 3339 or Unix milliseconds"))
}

fn range_ms(s: &str) -> Option<i64> {
    const MIN: i64 = 60_000;
    Some(match s {
        "15m" => 15 * MIN,
        "1h" => 60 * MIN,
        "6h" => 360 * MIN,
        "24h" | "1d" => 1440 * MIN,
        "7d" => 7 * 1440 * MIN,
        "30d" => 30 * 1440 * MIN,
        _ => return None,
    })
}

/// The resolution the store would use for a range, so simulated and stored servers look alike.
fn step_for(span_ms: i64) -> i64 {
    const HOUR: i64 = 3_600_000;
    match span_ms {
        s if s <= HOUR => 5_000,
        s if s <= 24 * HOUR => 60_000,
        s if s <= 30 * 24 * HOUR => 600_000,
        _ => HOUR,
    }
}

fn point(ts: i64, get: impl Fn(&str) -> Option<f64>, only: Option<&str>) -> HistoryPoint {
    let want =
        |m: &str| only.is_none_or(|o| o == m || (o == "network" && (m == metric::NET_RX || m == metric::NET_TX)));
    let pick = |m: &str| if want(m) { get(m) } else { None };
    HistoryPoint {
        timestamp: clock::millis_rfc3339(ts),
        cpu: pick(metric::CPU),
        memory: pick(metric::MEMORY),
        disk: pick(metric::DISK),
        network: NetworkPoint { bytes_received: pick(metric::NET_RX), bytes_sent: pick(metric::NET_TX) },
        load1: pick(metric::LOAD1),
    }
}

/// A stored metric's value in a live reading (the simulated fleet's history is a series of these).
pub(crate) fn live_value(l: &Live, m: &str) -> Option<f64> {
    match m {
        metric::CPU => l.cpu,
        metric::MEMORY => l.memory,
        metric::DISK => l.disk,
        metric::NET_RX => Some(l.net_in),
        metric::NET_TX => Some(l.net_out),
        metric::LOAD1 => Some(l.load[0]),
        _ => None,
    }
}

/// A server's metrics over time.
#[utoipa::path(get, path = "/api/metrics/history", tag = "metrics", params(HistoryQuery), security(("bearer" = [])),
    responses((status = 200, body = HistoryBody), (status = 404, body = super::error::ErrorBody),
              (status = 422, body = super::error::ErrorBody)))]
async fn history(State(state): State<AppState>, Query(q): Query<HistoryQuery>) -> Result<Json<HistoryBody>, ApiError> {
    fetch(&state, q).await.map(Json)
}

/// The history as `/api/metrics/history` answers it (also used by the MCP tools and analyses).
pub async fn fetch(state: &AppState, q: HistoryQuery) -> Result<HistoryBody, ApiError> {
    let now = clock::now_millis();
    let mut errors = Vec::new();
    let to = match q.to.as_deref().map(|v| parse_time("to", v)) {
        Some(Err(e)) => {
            errors.push(e);
            now
        }
        Some(Ok(t)) => t,
        None => now,
    };
    let span = match q.time_range.as_deref() {
        None => 3_600_000,
        Some(r) => range_ms(r).unwrap_or_else(|| {
            errors.push(FieldError::new("timeRange", "must be one of 15m, 1h, 6h, 24h, 7d, 30d"));
            0
        }),
    };
    let from = match q.from.as_deref().map(|v| parse_time("from", v)) {
        Some(Err(e)) => {
            errors.push(e);
            to - span
        }
        Some(Ok(t)) => t,
        None => to - span,
    };
    if from > to {
        errors.push(FieldError::new("from", "must not be after `to`"));
    }
    if let Some(m) = &q.metric
        && !["cpu", "memory", "disk", "network", "load1"].contains(&m.as_str())
    {
        errors.push(FieldError::new("metric", "must be one of cpu, memory, disk, network, load1"));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        errors.push(FieldError::new("limit", format!("must be 1-{MAX_LIMIT}")));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let server_id = match q.server_id {
        Some(id) => id,
        None => {
            let all = state.fleet.snapshots(now);
            let pick = all.iter().find(|s| s.view.source == Source::Local).or(all.first());
            pick.map(|s| s.view.id.clone()).ok_or_else(|| ApiError::not_found("no servers"))?
        }
    };
    let source = state
        .fleet
        .source_of(&server_id)
        .ok_or_else(|| ApiError::not_found(format!("server `{server_id}` not found")))?;
    let only = q.metric.as_deref();

    if let (Source::Simulated, Some(seed)) = (source, state.fleet.simulation_seed()) {
        let step = step_for(to - from);
        let start = match q.cursor.as_deref() {
            Some(c) => c.parse::<i64>().map_err(|_| {
                ApiError::validation(vec![FieldError::new("cursor", "not a cursor from this endpoint")])
            })?,
            None => from.div_euclid(step) * step,
        };
        let end = to.min(start.saturating_add(step.saturating_mul(limit as i64 - 1)));
        let samples = simulated::history(&server_id, start, end, step, seed);
        let next = (end < to.div_euclid(step) * step).then(|| (end + step).to_string());
        let data = samples.iter().map(|l| point(l.at_ms, |m| live_value(l, m), only)).collect();
        return Ok(HistoryBody {
            success: true,
            server_id,
            data,
            resolution: (step / 1000).to_string(),
            next_cursor: next,
            timestamp: clock::now_rfc3339(),
        });
    }

    let metrics: Vec<&str> = match only {
        Some("network") => vec![metric::NET_RX, metric::NET_TX],
        Some(m) => vec![m],
        None => METRICS.to_vec(),
    };
    let page =
        state.store.history(&server_id, &metrics, from, to, limit, q.cursor.as_deref()).await.map_err(|e| match e {
            store::Error::InvalidCursor => {
                ApiError::validation(vec![FieldError::new("cursor", "not a cursor from this endpoint")])
            }
            other => ApiError::Internal(other.into()),
        })?;
    let data = page.points.iter().map(|p| point(p.timestamp_ms, |m| p.values.get(m).map(|s| s.avg), only)).collect();
    Ok(HistoryBody {
        success: true,
        server_id,
        data,
        resolution: page.resolution_seconds.to_string(),
        next_cursor: page.next_cursor,
        timestamp: clock::now_rfc3339(),
    })
}
