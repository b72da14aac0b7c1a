//! `POST /api/agents/report`: an agent's batch of samples (`protocol::AgentMessage`, JSON, usually
//! gzip). The answer is sent only once the batch is durable in the store; a retried batch is not
//! counted twice (the store drops samples it already has).

use std::io::Read;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use protocol::{AgentMessage, PROTOCOL_VERSION, ReportAck};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, FieldError};
use crate::clock;
use crate::fleet::model::{Live, ServerMeta, ServerType, Source, Specs};
use crate::state::AppState;

/// Largest report after decompression (1,000 samples of ~30 metrics is about 1 MB of JSON).
const MAX_DECOMPRESSED: usize = 4 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report))
}

fn body_text(headers: &HeaderMap, body: &Bytes) -> Result<Vec<u8>, ApiError> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    match encoding {
        "identity" => Ok(body.to_vec()),
        "gzip" => {
            let mut out = Vec::new();
            let mut limited = flate2::read::GzDecoder::new(&body[..]).take(MAX_DECOMPRESSED as u64 + 1);
            limited.read_to_end(&mut out).map_err(|e| ApiError::BadRequest(format!("invalid gzip body: {e}")))?;
            if out.len() > MAX_DECOMPRESSED {
                return Err(ApiError::PayloadTooLarge);
            }
            Ok(out)
        }
        other => Err(ApiError::UnsupportedMediaType(format!("Content-Encoding `{other}` is not supported (use gzip)"))),
    }
}

fn meta_for(report: &protocol::Report) -> ServerMeta {
    let inv = report.inventory.clone().unwrap_or_default();
    ServerMeta {
        id: report.agent.machine_id.clone(),
        name: report.agent.name.clone(),
        hostname: report.agent.hostname.clone(),
        ip: inv.ip.clone(),
        os: inv.os.clone(),
        server_type: ServerType::Other,
        role: String::new(),
        environment: "production".into(),
        provider: String::new(),
        location: String::new(),
        source: Source::Agent,
        services: Vec::new(),
        specs: Specs {
            cpu_cores: inv.cpu_cores,
            memory_gb: (inv.memory_total_bytes as f64 / 1e9 * 10.0).round() / 10.0,
            disk_gb: (inv.disk_total_bytes as f64 / 1e9 * 10.0).round() / 10.0,
        },
        maintenance: false,
    }
}

/// Receives an agent's batch; answers when it is durable.
#[utoipa::path(post, path = "/api/agents/report", tag = "servers", security(("bearer" = [])),
    request_body(content = Object, description = "protocol::AgentMessage (`{type: \"report\", version: 1, agent, samples, inventory}`), JSON, optionally gzip"),
    responses((status = 200, description = "protocol::ReportAck: the batch is durable", body = Object),
              (status = 422, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)))]
async fn report(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<ReportAck>, ApiError> {
    let text = body_text(&headers, &body)?;
    let AgentMessage::Report(report) = serde_json::from_slice::<AgentMessage>(&text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::BadRequest(format!("malformed JSON: {e}"))
        } else {
            ApiError::validation(vec![FieldError::new("body", e.to_string())])
        }
    })?;
    report.validate().map_err(|e| ApiError::validation(vec![FieldError::new("report", e.0)]))?;

    let id = report.agent.machine_id.clone();
    let mut meta = meta_for(&report);
    match state.fleet.source_of(&id) {
        Some(Source::Agent) | None => {}
        Some(_) => return Err(ApiError::Conflict(format!("`{id}` is not an agent's id"))),
    }
    // Keep what an operator set by hand (type, role, maintenance...) across reports.
    if let Some(existing) = state.fleet.get(&id, 0).map(|s| s.view) {
        meta.server_type = existing.server_type;
        meta.role = existing.role;
        meta.environment = existing.environment;
        meta.provider = existing.provider;
        meta.location = existing.location;
        meta.services = existing.services;
        meta.maintenance = state.fleet.meta(&id).is_some_and(|m| m.maintenance);
    }
    if state.fleet.meta(&id).as_ref() != Some(&meta) {
        let value = serde_json::to_value(&meta).map_err(|e| ApiError::Internal(e.into()))?;
        state.store.put_kv(&super::servers::kv_key(&id), &value).await.map_err(|e| ApiError::Internal(e.into()))?;
        state.fleet.upsert(meta);
    }

    let sent = report.samples.len();
    let newest = report.samples.iter().max_by_key(|s| s.timestamp_ms).cloned();
    let samples: Vec<store::Sample> = report
        .samples
        .into_iter()
        .map(|s| store::Sample { server: id.clone(), timestamp_ms: s.timestamp_ms, values: s.values })
        .collect();
    let pending = state.store.submit(samples).map_err(|e| match e {
        store::Error::Busy => {
            ApiError::Unavailable { message: "the store is busy; retry".into(), retry_after: Some(1) }
        }
        other => ApiError::Internal(other.into()),
    })?;
    let outcome = pending.wait().await.map_err(|e| ApiError::Internal(e.into()))?;
    if outcome.late > 0 {
        tracing::warn!(agent = %id, late = outcome.late, "samples older than the rolled-up history were dropped");
    }
    state.exporter.ingest_samples.inc_by(outcome.inserted);
    state.exporter.ingest_duplicates.inc_by(outcome.duplicates + outcome.late);
    state.exporter.ingest_reports.inc();

    if let Some(s) = newest {
        let now = clock::now_millis();
        // A clock far ahead would keep the server "online" forever; trust it only up to now.
        let live = Live::from_values(s.timestamp_ms.min(now), &s.values);
        state.fleet.update(&id, live, report.inventory);
    }
    debug_assert_eq!(outcome.inserted + outcome.duplicates + outcome.late, sent as u64);
    Ok(Json(ReportAck {
        version: PROTOCOL_VERSION,
        accepted: outcome.inserted as u32,
        duplicates: (outcome.duplicates + outcome.late) as u32,
        server_id: id,
    }))
}
