//! `POST /api/agents/report`: an agent's batch of samples (`protocol::AgentMessage`, JSON, usually
//! gzip), decoded here and handed to the fleet's ingest, which answers once the batch is durable.

use std::io::Read;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use protocol::{AgentMessage, ReportAck};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody, FieldError};
use super::state::AppState;

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
#[utoipa::path(post, path = "/api/agents/report", tag = "servers", security(("bearer" = [])),
    request_body(content = Object, description = "protocol::AgentMessage (`{type: \"report\", version: 1, agent, samples, inventory}`), JSON, optionally gzip"),
    responses((status = 200, description = "protocol::ReportAck: the batch is durable", body = Object),
              (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn report(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<ReportAck>, ApiError> {
    let text = body_text(&headers, &body)?;
    let AgentMessage::Report(report) = serde_json::from_slice::<AgentMessage>(&text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::BadRequest(format!("malformed JSON: {e}"))
        } else {
            ApiError::validation(vec![FieldError::new("body", e.to_string())])
        }
    })?;
    Ok(Json(state.fleet.ingest(report).await?))
}
