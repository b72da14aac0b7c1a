//! `/api/health`, `/health`, `/api/health/live`, `/api/health/ready`: public, cheap, never rate limited.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::state::AppState;
use crate::clock;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthBody {
    /// `healthy`, or `degraded` when a check fails (still 200: `checks` says what is wrong).
    #[schema(value_type = HealthStatus)]
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Seconds since the process started.
    pub uptime: f64,
    pub memory: MemoryInfo,
    pub version: &'static str,
    /// Each component's check: `ok` or what is wrong.
    #[schema(value_type = BTreeMap<String, String>)]
    pub checks: BTreeMap<&'static str, String>,
    /// The HTTPS certificate (absent while `tls.mode` is `off`); `checks.tls` says whether it needs
    /// attention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsHealth>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsHealth {
    /// `files`, `acme` or `self-signed`.
    pub mode: String,
    /// `ok`, `expiring` (a third of the lifetime left), `expired`, `renewal-failing` or `missing`.
    pub state: &'static str,
    /// When the certificate being served expires.
    #[schema(format = DateTime)]
    pub not_after: Option<String>,
    /// The certificate's issuer (its distinguished name); absent until there is a certificate.
    pub issuer: Option<String>,
    /// The names and IP addresses the certificate covers (the configured ones while there is none).
    /// Public anyway: every TLS client sees them in the handshake.
    pub identifiers: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryInfo {
    /// Resident set size in bytes.
    pub rss: u64,
    /// Highest resident set size so far, in bytes.
    pub peak_rss: u64,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum HealthStatus {
    Healthy,
    Degraded,
}

#[derive(Serialize, ToSchema)]
pub struct ProbeBody {
    /// `alive`, `ready` or `not_ready`.
    #[schema(value_type = ProbeStatus)]
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// When not ready: why (e.g. `store: the database is unreachable: ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ProbeStatus {
    Alive,
    Ready,
    NotReady,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(health_short))
        .routes(routes!(live))
        .routes(routes!(ready))
}

pub fn body(state: &AppState) -> HealthBody {
    let (ok, checks) = state.health.report();
    HealthBody {
        status: if ok { "healthy" } else { "degraded" },
        timestamp: clock::now_rfc3339(),
        uptime: state.started.elapsed().as_secs_f64(),
        memory: MemoryInfo {
            rss: state.telemetry.memory.rss_bytes(),
            peak_rss: state.telemetry.memory.peak_rss_bytes(),
        },
        version: env!("CARGO_PKG_VERSION"),
        checks,
        tls: tls_health(state),
    }
}

fn tls_health(state: &AppState) -> Option<TlsHealth> {
    if state.tls.settings().mode == tls::Mode::Off {
        return None;
    }
    let status = state.tls.status();
    Some(TlsHealth {
        mode: status.mode.to_string(),
        state: status.state.as_str(),
        not_after: status.not_after.map(|t| t.to_string()),
        issuer: status.issuer,
        identifiers: status.identifiers,
    })
}

/// Health of the server and its components.
#[utoipa::path(get, path = "/api/health", tag = "health", responses((status = 200, body = HealthBody)))]
async fn health(State(state): State<AppState>) -> Json<HealthBody> {
    Json(body(&state))
}

/// Same as `/api/health` (the path load balancers probe by default).
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = HealthBody)))]
async fn health_short(State(state): State<AppState>) -> Json<HealthBody> {
    Json(body(&state))
}

/// 200 while the process answers.
#[utoipa::path(get, path = "/api/health/live", tag = "health", responses((status = 200, body = ProbeBody)))]
async fn live() -> Json<ProbeBody> {
    Json(ProbeBody { status: "alive", timestamp: clock::now_rfc3339(), reason: None })
}

/// 200 once start-up finished and the store is writable; 503 otherwise.
#[utoipa::path(get, path = "/api/health/ready", tag = "health",
    responses((status = 200, body = ProbeBody), (status = 503, body = ProbeBody)))]
async fn ready(State(state): State<AppState>) -> Response {
    match state.health.not_ready_reason() {
        None => Json(ProbeBody { status: "ready", timestamp: clock::now_rfc3339(), reason: None }).into_response(),
        Some(reason) => {
            let body = ProbeBody { status: "not_ready", timestamp: clock::now_rfc3339(), reason: Some(reason) };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}
