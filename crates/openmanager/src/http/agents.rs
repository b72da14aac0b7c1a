//! `POST /api/agents/report`: an agent's batch of samples (`protocol::AgentMessage`, JSON, usually
//! gzip), decoded here and handed to the fleet's ingest, which answers once the batch is durable.
//! A compact body (`"type":"compact"`, `protocol::compact`) is answered with the fewest bytes HTTP
//! allows: `204` without a body when durable; `428` (rare) when the agent must resend whole.

use std::io::Read;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::AgentMessage;
use protocol::compact::{COMPACT_TYPE, CompactReport};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::fleet::ingest::CompactOutcome;
use crate::fleet::wire::{AgentReport, ReportAckBody};

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

/// Receives an agent's batch; answers when it is durable.
#[utoipa::path(post, path = "/api/agents/report", tag = "servers",
    request_body(content = AgentReport, description = "`protocol::AgentMessage`, JSON, optionally with `Content-Encoding: gzip`"),
    responses((status = 200, description = "The batch is durable", body = ReportAckBody),
              (status = 204, description = "A compact batch is durable"),
              (status = 428, description = "A compact batch needs resending whole, with the agent's identity", body = ErrorBody),
              (status = 409, description = "The id belongs to a server that is not an agent, or the fleet is full", body = ErrorBody),
              (status = 503, description = "The store cannot take the batch now (disk full, database down): keep it and retry after `Retry-After`", body = ErrorBody)))]
async fn report(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType("expected `Content-Type: application/json`".into()));
    }
    let text = body_text(&headers, &body)?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    if value.get("type").and_then(|t| t.as_str()) == Some(COMPACT_TYPE) {
        let compact = super::json::from_value::<CompactReport>(value).map_err(ApiError::validation)?;
        let (server_id, samples, held) = (compact.id.clone(), compact.s.len(), compact.ch.clone());
        return Ok(match state.fleet.ingest_compact(compact).await? {
            CompactOutcome::Stored => {
                // An agent whose checks hash is this hub's gets the empty 204, as does an agent
                // without a hash and without checks; any other learns its set (and its hash) here.
                let location = probe::agent_location(&server_id);
                if held.as_deref() == Some(state.checks.hash_for(&location).as_str()) {
                    return Ok(StatusCode::NO_CONTENT.into_response());
                }
                let (checks, hash) = state.checks.defs_and_hash(&location);
                if checks.is_empty() && held.is_none() {
                    StatusCode::NO_CONTENT.into_response()
                } else {
                    Json(protocol::ReportAck {
                        version: protocol::PROTOCOL_VERSION,
                        accepted: u32::try_from(samples).unwrap_or(u32::MAX),
                        duplicates: 0,
                        server_id,
                        check_results: 0,
                        checks: Some(checks),
                        checks_hash: Some(hash),
                    })
                    .into_response()
                }
            }
            CompactOutcome::Resync(what) => {
                return Err(ApiError::PreconditionRequired(format!(
                    "this hub does not hold the {what} the compact report relies on; send it whole with the agent's identity"
                )));
            }
        });
    }
    let AgentMessage::Report(mut report) =
        super::json::from_value::<AgentMessage>(value).map_err(ApiError::validation)?;
    let results = std::mem::take(&mut report.check_results);
    let wants_checks = report.checks_version >= protocol::CHECKS_VERSION_LIST;
    // Left in the report, whose validation bounds it.
    let held = report.checks_hash.clone();
    let mut ack = state.fleet.ingest(report).await?;
    // Samples first, then check results: a failure of either is a 503 the agent retries with both
    // (the store drops what it already has).
    ack.check_results = state.checks.ingest(&ack.server_id, results).await?;
    if wants_checks {
        // The list only when the agent does not hold this very set (version 1 agents send no hash).
        let location = probe::agent_location(&ack.server_id);
        if held.as_deref() != Some(state.checks.hash_for(&location).as_str()) {
            let (checks, hash) = state.checks.defs_and_hash(&location);
            ack.checks = Some(checks);
            ack.checks_hash = Some(hash);
        }
    }
    Ok(Json(ack).into_response())
}

#[cfg(test)]
mod tests {
    use crate::fleet::wire::{AgentReport, ReportAckBody};
    use crate::http::docs::shape::assert_shape;

    #[test]
    fn mirrors_match_the_protocol() {
        let report = protocol::AgentMessage::Report(protocol::Report {
            version: protocol::PROTOCOL_VERSION,
            agent: protocol::AgentIdentity {
                machine_id: "m".into(),
                name: "n".into(),
                hostname: "h".into(),
                agent_version: "0.1.0".into(),
            },
            samples: vec![protocol::Sample { timestamp_ms: 1, values: [("cpu".to_string(), 1.0)].into() }],
            inventory: Some(protocol::Inventory {
                interfaces: vec![protocol::Interface::default()],
                disks: vec![protocol::Disk::default()],
                top_processes: vec![protocol::Process::default()],
                cpu_cores_percent: vec![1.0],
                ..Default::default()
            }),
            checks_version: 2,
            check_results: Vec::new(),
            checks_hash: Some("0123abcd".into()),
        });
        assert_shape::<AgentReport>(&serde_json::to_value(&report).unwrap());
        let ack = protocol::ReportAck {
            version: 1,
            accepted: 1,
            duplicates: 0,
            server_id: "m".into(),
            check_results: 0,
            checks: Some(Vec::new()),
            checks_hash: Some("0123abcd".into()),
        };
        assert_shape::<ReportAckBody>(&serde_json::to_value(&ack).unwrap());
    }
}
