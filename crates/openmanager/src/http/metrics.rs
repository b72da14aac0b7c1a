//! `/api/metrics` (the web app's VMMetrics: the `application` section for now) and `/metrics`
//! (Prometheus text, or OpenMetrics when the scraper asks for it).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use crate::clock;
use crate::fleet::Summary;
use crate::fleet::model::{ServerView, Source, Status};
use crate::state::AppState;
use crate::telemetry::prometheus::{OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use crate::telemetry::stats::ApplicationMetrics;

#[derive(Serialize, ToSchema)]
pub struct MetricsBody {
    /// This host (zeros when self-monitoring is off or before the first sample).
    pub system: SystemMetrics,
    pub application: ApplicationMetrics,
    pub ai: super::ai::AiMetrics,
    pub fleet: FleetMetrics,
    pub timestamp: String,
}

#[derive(Serialize, ToSchema, Default)]
pub struct SystemMetrics {
    /// Percent 0-100.
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub network: NetworkRates,
}

#[derive(Serialize, ToSchema, Default)]
pub struct NetworkRates {
    /// Bytes per second.
    #[serde(rename = "in")]
    pub rx: f64,
    #[serde(rename = "out")]
    pub tx: f64,
}

#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FleetMetrics {
    pub total_servers: usize,
    pub online_servers: usize,
    pub warning_servers: usize,
    pub critical_servers: usize,
    pub offline_servers: usize,
    pub average_cpu: f64,
    pub average_memory: f64,
    pub average_disk: f64,
    pub total_alerts: u64,
}

fn fleet_metrics(views: &[&ServerView]) -> FleetMetrics {
    let s = Summary::of(views);
    // Averages over servers with data; offline and unknown ones would drag them to zero.
    let reporting: Vec<&&ServerView> =
        views.iter().filter(|v| !matches!(v.status, Status::Offline | Status::Unknown)).collect();
    let avg = |f: fn(&ServerView) -> f64| {
        if reporting.is_empty() {
            0.0
        } else {
            (reporting.iter().map(|v| f(v)).sum::<f64>() / reporting.len() as f64 * 10.0).round() / 10.0
        }
    };
    FleetMetrics {
        total_servers: s.total_servers,
        online_servers: s.healthy_count,
        warning_servers: s.warning_count,
        critical_servers: s.critical_count,
        offline_servers: s.offline_count,
        average_cpu: avg(|v| v.cpu),
        average_memory: avg(|v| v.memory),
        average_disk: avg(|v| v.disk),
        total_alerts: views.iter().map(|v| u64::from(v.alerts)).sum(),
    }
}

/// The body of `/api/metrics` (also pushed as `system_update` on the WebSocket).
pub fn metrics_body(state: &AppState) -> MetricsBody {
    let now = clock::now_millis();
    let snapshots = state.fleet.snapshots(now);
    let views: Vec<&ServerView> = snapshots.iter().map(|s| &s.view).collect();
    let system = snapshots
        .iter()
        .find(|s| s.view.source == Source::Local)
        .map(|s| SystemMetrics {
            cpu: s.view.cpu,
            memory: s.view.memory,
            disk: s.view.disk,
            network: NetworkRates { rx: s.view.network_in, tx: s.view.network_out },
        })
        .unwrap_or_default();
    MetricsBody {
        system,
        application: state.stats.snapshot(state.started.elapsed()),
        ai: state.ai_stats.snapshot(),
        fleet: fleet_metrics(&views),
        timestamp: clock::now_rfc3339(),
    }
}

/// `/api/metrics`, behind the `read` scope.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_metrics)).merge(super::history::router())
}

/// `/metrics`, public or behind `read` as configured.
pub fn prometheus_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(prometheus))
}

/// This host, the server's own request statistics (ms) and a fleet summary.
#[utoipa::path(get, path = "/api/metrics", tag = "metrics", security(("bearer" = [])),
    responses((status = 200, body = MetricsBody), (status = 401, body = super::error::ErrorBody)))]
async fn api_metrics(State(state): State<AppState>) -> Json<MetricsBody> {
    Json(metrics_body(&state))
}

/// Prometheus exposition of host, HTTP and component series.
#[utoipa::path(get, path = "/metrics", tag = "metrics", security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String)))]
async fn prometheus(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    state.exporter.resident_memory.set(state.memory.rss_bytes() as i64);
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let body = state
        .exporter
        .encode(openmetrics)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("metrics encoding failed")))?;
    let ct = if openmetrics { OPENMETRICS_CONTENT_TYPE } else { TEXT_CONTENT_TYPE };
    Ok(([(header::CONTENT_TYPE, ct)], body).into_response())
}
