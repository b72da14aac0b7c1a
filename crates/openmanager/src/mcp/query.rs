//! The web app's older query form, `POST /mcp/query` and `/api/mcp/query`: a JSON-RPC 2.0 envelope
//! (`method: "mcp.query"`) or the bare params, answered through the AI router (with the tools); and
//! `GET /api/mcp/status` with real counts.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::Mcp;
use crate::assistant::{Assistant, Question};
use crate::clock;
use crate::http::error::{ApiError, FieldError};
use crate::http::state::AppState;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Response {
    Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})).into_response()
}

/// The question, the interaction mode and the engine mode from a params object.
fn params_of(p: &Value) -> Result<(String, String, Option<String>), String> {
    let query = p.get("query").and_then(Value::as_str).ok_or("`params.query` (a string) is required")?;
    Question::new(query).check().map_err(|_| "`params.query` must be 1-4000 characters".to_string())?;
    let mode = p.get("mode").and_then(Value::as_str).unwrap_or("natural-language");
    if !["natural-language", "command", "analysis"].contains(&mode) {
        return Err("`params.mode` must be natural-language, command or analysis".into());
    }
    // An engine may be pinned through the options, as `mode` does on /api/ai/query.
    let engine = p.get("options").and_then(|o| o.get("engine")).and_then(Value::as_str).map(str::to_owned);
    Ok((query.to_owned(), mode.to_owned(), engine))
}

async fn answer(
    state: &AppState,
    mcp: &Mcp,
    query: &str,
    engine: Option<&str>,
    context: Option<&Value>,
) -> Result<ai::AiAnswer, ApiError> {
    let q = Question {
        text: query.to_owned(),
        mode: engine.map(str::to_owned),
        context: context.cloned(),
        ..Question::default()
    };
    mcp.stats.record_call();
    Ok(state.assistant.ask(&q).await?)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"))
}

/// JSON-RPC or bare params; JSON-RPC errors (-32700 parse, -32600 envelope, -32601 method, -32602
/// params) come back as JSON-RPC error objects. A body that is not JSON at all is refused before
/// anything runs: 415 without a JSON content type, 400 (with the JSON-RPC parse error) when broken.
pub async fn query(
    State(state): State<AppState>,
    Extension(mcp): Extension<Arc<Mcp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return ApiError::UnsupportedMediaType("expected `Content-Type: application/json`".into()).into_response();
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let mut res = rpc_error(Value::Null, PARSE_ERROR, format!("parse error: {e}"));
            *res.status_mut() = StatusCode::BAD_REQUEST;
            return res;
        }
    };
    if !value.is_object() {
        let mut res = rpc_error(Value::Null, INVALID_REQUEST, "the body must be a JSON object");
        *res.status_mut() = StatusCode::BAD_REQUEST;
        return res;
    }
    if value.get("jsonrpc").is_none() {
        return bare(&state, &mcp, &value).await.unwrap_or_else(IntoResponse::into_response);
    }
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    if value["jsonrpc"] != "2.0" || !matches!(id, Value::Null | Value::String(_) | Value::Number(_)) {
        return rpc_error(id, INVALID_REQUEST, "`jsonrpc` must be \"2.0\" and `id` a string, number or null");
    }
    match value.get("method").and_then(Value::as_str) {
        Some("mcp.query") => {}
        Some(other) => return rpc_error(id, METHOD_NOT_FOUND, format!("method `{other}` not found; use mcp.query")),
        None => return rpc_error(id, INVALID_REQUEST, "`method` is required"),
    }
    let params = value.get("params").cloned().unwrap_or(Value::Null);
    let (query, mode, engine) = match params_of(&params) {
        Ok(p) => p,
        Err(msg) => return rpc_error(id, INVALID_PARAMS, msg),
    };
    match answer(&state, &mcp, &query, engine.as_deref(), params.get("context")).await {
        Ok(a) => Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": {
                "response": a.text, "text": a.text, "mode": mode,
                "cacheHit": a.cache_status == ai::CacheStatus::Hit, "engine": a.engine,
                "intent": Assistant::intent_of(&query), "thinkingSteps": a.thinking_steps,
            },
        }))
        .into_response(),
        Err(e) => rpc_error(id, INTERNAL_ERROR, e.to_string()),
    }
}

async fn bare(state: &AppState, mcp: &Mcp, params: &Value) -> Result<Response, ApiError> {
    let (query, mode, engine) =
        params_of(params).map_err(|msg| ApiError::validation(vec![FieldError::new("query", msg)]))?;
    let a = answer(state, mcp, &query, engine.as_deref(), params.get("context")).await?;
    Ok(Json(json!({
        "success": true,
        "response": a.text,
        "result": {"text": a.text, "mode": mode, "engine": a.engine},
        "metadata": {
            "engine": a.engine, "mode": mode, "intent": Assistant::intent_of(&query),
            "cacheHit": a.cache_status == ai::CacheStatus::Hit, "fallback": a.fallback,
            "thinkingSteps": a.thinking_steps, "timestamp": clock::now_rfc3339(),
        },
    }))
    .into_response())
}

/// `GET /api/mcp/status`.
pub async fn status(State(state): State<AppState>, Extension(mcp): Extension<Arc<Mcp>>) -> Response {
    let mut services: Vec<String> =
        state.gateway.status().await.engines.into_iter().filter(|e| e.configured).map(|e| e.name).collect();
    services.extend(
        ["server-management", "metrics-history", "alerts", "analysis", "service-checks", "free-tier-budget"]
            .map(String::from),
    );
    let tools = state.tools.names();
    Json(json!({
        "status": "connected",
        "services": services,
        "tools": {"available": tools, "count": tools.len()},
        "sessions": mcp.session_count().await,
        "maxSessions": mcp.max_sessions,
        "calls": mcp.stats.calls(),
        "errors": mcp.stats.errors(),
        "lastUsed": mcp.stats.last_used_ms().map(clock::millis_rfc3339),
        "timestamp": clock::now_rfc3339(),
    }))
    .into_response()
}
