//! `/api/metrics` (the web app's VMMetrics: the hub's overview) and `/metrics` (Prometheus text, or
//! OpenMetrics when the scraper asks for it).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::state::AppState;
use crate::overview::{MetricsBody, build};
use crate::telemetry::prometheus::{OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};

/// `/api/metrics`, behind the `read` scope.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_metrics)).merge(super::history::router())
}

/// `/metrics`, public or behind `read` as configured.
pub fn prometheus_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(prometheus))
}

/// This host, the server's own request statistics (ms) and a fleet summary.
#[utoipa::path(get, path = "/api/metrics", tag = "metrics",
    responses((status = 200, body = MetricsBody)))]
async fn api_metrics(State(state): State<AppState>) -> Json<MetricsBody> {
    Json(build(&state))
}

/// Prometheus exposition of host, HTTP and component series.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses((status = 200, description = "Prometheus text, or OpenMetrics when `Accept` asks for `application/openmetrics-text`",
                content((String = "text/plain"), (String = "application/openmetrics-text")))))]
async fn prometheus(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let t = &state.telemetry;
    t.exporter.resident_memory.set(t.memory.rss_bytes() as i64);
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let body =
        t.exporter.encode(openmetrics).map_err(|_| ApiError::Internal(anyhow::anyhow!("metrics encoding failed")))?;
    let ct = if openmetrics { OPENMETRICS_CONTENT_TYPE } else { TEXT_CONTENT_TYPE };
    Ok(([(header::CONTENT_TYPE, ct)], body).into_response())
}
