//! The AI endpoints of API.md: `POST /api/ai/query` (JSON, or SSE with `stream: true`),
//! `POST /api/ai/edge-v2`, `GET /api/ai/status`. Every answer comes through the gateway's router,
//! which ends in the local engine, so a question is always answered.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, FieldError};
use super::json::ApiJson;
use crate::clock;
use crate::state::AppState;

const MAX_QUERY_CHARS: usize = 4000;

/// Gives answers their voice and scope; the local engine ignores it.
const SYSTEM_PROMPT: &str = "You are the OpenManager monitoring assistant. Answer questions about the user's servers \
concisely, in the language of the question (Korean or English), with the numbers you rely on.";

/// Query totals for `/api/metrics`.
#[derive(Default)]
pub struct AiTotals {
    queries: AtomicU64,
    succeeded: AtomicU64,
    total_ms: AtomicU64,
}

#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AiMetrics {
    pub total_queries: u64,
    /// Percent of queries answered.
    pub success_rate: f64,
    /// Milliseconds.
    pub avg_latency: f64,
}

impl AiTotals {
    pub fn record(&self, ok: bool, ms: u64) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.succeeded.fetch_add(1, Ordering::Relaxed);
        }
        self.total_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// `(queries, answered)` since start.
    pub fn counts(&self) -> (u64, u64) {
        (self.queries.load(Ordering::Relaxed), self.succeeded.load(Ordering::Relaxed))
    }

    pub fn snapshot(&self) -> AiMetrics {
        let q = self.queries.load(Ordering::Relaxed);
        let ok = self.succeeded.load(Ordering::Relaxed);
        let ms = self.total_ms.load(Ordering::Relaxed);
        AiMetrics {
            total_queries: q,
            success_rate: if q == 0 { 100.0 } else { (ok as f64 * 1000.0 / q as f64).round() / 10.0 },
            avg_latency: if q == 0 { 0.0 } else { (ms as f64 / q as f64 * 10.0).round() / 10.0 },
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(edge_v2)).routes(routes!(status))
}

/// `/api/ai/query` streams, so it is mounted without the request timeout (the router's deadline
/// bounds it instead).
pub fn stream_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(query))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryBody {
    /// The question, 1-4000 characters.
    query: String,
    /// auto | local | google-ai | <provider> | <provider>/<model>
    mode: Option<String>,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    /// Extra text given to remote engines with the question.
    context: Option<Value>,
    include_thinking: Option<bool>,
    session_id: Option<String>,
    timeout_ms: Option<u64>,
    stream: Option<bool>,
    /// Use the cache even when the request is not deterministic.
    cache: Option<bool>,
}

pub(crate) fn router_of(state: &AppState) -> Result<&ai::Router, ApiError> {
    state
        .ai
        .get()
        .ok_or_else(|| ApiError::Unavailable { message: "the AI gateway is starting".into(), retry_after: Some(1) })
}

pub fn ai_error(e: ai::AiError) -> ApiError {
    let message = e.to_string();
    match e.http_status() {
        400 => ApiError::BadRequest(message),
        404 => ApiError::not_found(message),
        429 => ApiError::RateLimited { retry_after: e.retry_after().map(|d| d.as_secs().max(1)).unwrap_or(60) },
        503 => ApiError::Unavailable { message, retry_after: e.retry_after().map(|d| d.as_secs().max(1)) },
        504 => ApiError::Timeout(0),
        _ => ApiError::Upstream(message),
    }
}

pub(crate) fn check_query(q: &str) -> Result<(), ApiError> {
    let n = q.chars().count();
    if q.trim().is_empty() || n > MAX_QUERY_CHARS {
        return Err(ApiError::validation(vec![FieldError::new(
            "query",
            format!("must be 1-{MAX_QUERY_CHARS} characters"),
        )]));
    }
    Ok(())
}

/// A client's `context` as a system message for remote engines (bounded; `null` is none).
pub(crate) fn context_message(ctx: &Value) -> Option<ai::Message> {
    let text = match ctx {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(ai::Message::system(format!("Context: {}", text.chars().take(8000).collect::<String>())))
}

/// The router request for a question: the system prompt, optional context, the question.
pub fn request_for(query: &str, mode: Option<&str>, body: Option<&QueryBody>) -> ai::AiRequest {
    let mut messages = vec![ai::Message::system(SYSTEM_PROMPT)];
    messages.extend(body.and_then(|b| b.context.as_ref()).and_then(context_message));
    messages.push(ai::Message::user(query));
    let chat = ai::ChatRequest {
        messages,
        temperature: body.and_then(|b| b.temperature),
        max_tokens: body.and_then(|b| b.max_tokens),
        ..Default::default()
    };
    let mut req = ai::AiRequest::new(chat).target(ai::Target::parse(mode.unwrap_or("auto")));
    if let Some(ms) = body.and_then(|b| b.timeout_ms) {
        req = req.timeout(Duration::from_millis(ms.clamp(100, 120_000)));
    }
    if body.and_then(|b| b.cache) == Some(true) {
        req = req.cache(true);
    }
    req
}

/// Asks the router with the tool registry offered to remote engines (Gemini `functionDeclarations`,
/// OpenAI `tools`): their calls run here and the results go back, for up to `ai.max_tool_steps`
/// rounds within the deadline; each call shows as a thinking step. The local engine reads the
/// fleet directly and ignores the tools. Streams are answered without tools.
pub async fn ask(state: &AppState, router: &ai::Router, mut req: ai::AiRequest) -> Result<ai::AiAnswer, ai::AiError> {
    if state.config.ai.max_tool_steps == 0 {
        return router.query(req).await;
    }
    req.chat.tools = state.mcp.registry.specs();
    let runner =
        std::sync::Arc::new(crate::tools::GatewayRunner { state: state.clone(), registry: state.mcp.registry.clone() });
    router.query_with_tools(req, runner, None).await
}

/// The intent of a question, from the local engine's parser (remote engines do not say).
pub(crate) fn intent_of(query: &str) -> &'static str {
    ai::local::LocalEngine::new().understand(query).name()
}

pub(crate) fn header(name: &'static str, v: &str) -> (HeaderName, HeaderValue) {
    (HeaderName::from_static(name), HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")))
}

fn answer_headers(a: &ai::AiAnswer, intent: &str, ms: u64) -> [(HeaderName, HeaderValue); 5] {
    [
        header("x-ai-engine", &a.engine),
        header("x-cache-status", a.cache_status.as_header()),
        header("x-response-time", &format!("{ms}ms")),
        header("x-query-intent", intent),
        header("x-fallback", if a.fallback { "true" } else { "false" }),
    ]
}

fn metadata(a: &ai::AiAnswer, mode: &str, intent: &str, query_id: &str, with_thinking: bool) -> Value {
    json!({
        "mode": mode,
        "intent": intent,
        "queryId": query_id,
        "cacheHit": a.cache_status == ai::CacheStatus::Hit,
        "fallback": a.fallback,
        "engine": a.engine,
        "model": a.model,
        "attempts": a.attempts,
        "thinkingSteps": if with_thinking { json!(a.thinking_steps) } else { json!([]) },
        "usage": a.usage,
    })
}

fn query_id() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    format!("q_{}", hex::encode(b))
}

/// Asks the gateway. With `stream: true` the answer is `text/event-stream`: `data: {"delta": …}`
/// events and a final `data: {"done": true, …}` with the metadata.
#[utoipa::path(post, path = "/api/ai/query", tag = "ai", request_body = QueryBody, security(("bearer" = [])),
    responses((status = 200, description = "The answer (or an event stream)", body = Object),
              (status = 422, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody)))]
async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<QueryBody>,
) -> Result<Response, ApiError> {
    check_query(&body.query)?;
    let router = router_of(&state)?;
    let mode = headers
        .get("x-ai-mode")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| body.mode.clone())
        .unwrap_or_else(|| "auto".into());
    let intent = intent_of(&body.query);
    let with_thinking = body.include_thinking.unwrap_or(true);
    let qid = query_id();
    let req = request_for(&body.query, Some(&mode), Some(&body));
    let started = std::time::Instant::now();

    if body.stream == Some(true) {
        let stream = router.stream(req).await.map_err(|e| {
            state.ai_stats.record(false, started.elapsed().as_millis() as u64);
            ai_error(e)
        })?;
        let heads = [
            header("x-ai-engine", &stream.engine),
            header("x-cache-status", stream.cache_status.as_header()),
            header("x-query-intent", intent),
            header("x-fallback", if stream.fallback { "true" } else { "false" }),
        ];
        let (query_text, mode2, st) = (body.query.clone(), mode.clone(), state.clone());
        let events = stream.events.map(move |ev| {
            let data = match ev {
                ai::StreamEvent::Text(t) => json!({ "delta": t }),
                ai::StreamEvent::ToolCall(c) => json!({ "toolCall": c }),
                ai::StreamEvent::Done(a) => {
                    let ms = started.elapsed().as_millis() as u64;
                    st.ai_stats.record(true, ms);
                    json!({
                        "done": true, "success": true, "query": query_text, "answer": a.text, "response": a.text,
                        "confidence": a.confidence.unwrap_or(0.85), "engine": a.engine, "responseTime": ms,
                        "timestamp": clock::now_rfc3339(),
                        "metadata": metadata(&a, &mode2, intent, &qid, with_thinking),
                    })
                }
                ai::StreamEvent::Error(e) => {
                    st.ai_stats.record(false, started.elapsed().as_millis() as u64);
                    json!({ "done": true, "success": false, "error": e.code(), "message": e.to_string() })
                }
            };
            Ok::<_, Infallible>(Event::default().data(data.to_string()))
        });
        return Ok((heads, Sse::new(events).keep_alive(KeepAlive::default())).into_response());
    }

    let answer = ask(&state, router, req).await.map_err(|e| {
        state.ai_stats.record(false, started.elapsed().as_millis() as u64);
        ai_error(e)
    })?;
    let ms = started.elapsed().as_millis() as u64;
    state.ai_stats.record(true, ms);
    let body = json!({
        "success": true,
        "query": body.query,
        "answer": answer.text,
        "response": answer.text,
        "confidence": answer.confidence.unwrap_or(0.85),
        "engine": answer.engine,
        "responseTime": ms,
        "timestamp": clock::now_rfc3339(),
        "sessionId": body.session_id,
        "metadata": metadata(&answer, &mode, intent, &qid, with_thinking),
    });
    Ok((answer_headers(&answer, intent, ms), Json(body)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EdgeBody {
    query: String,
    user_id: Option<String>,
    session_id: Option<String>,
    services: Option<Vec<String>>,
    parallel: Option<bool>,
    metadata: Option<Value>,
}

/// The web app's edge query form, answered through the same router.
#[utoipa::path(post, path = "/api/ai/edge-v2", tag = "ai", request_body = EdgeBody, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = super::error::ErrorBody)))]
async fn edge_v2(State(state): State<AppState>, ApiJson(body): ApiJson<EdgeBody>) -> Result<Response, ApiError> {
    check_query(&body.query)?;
    let router = router_of(&state)?;
    let started = std::time::Instant::now();
    let answer = ask(&state, router, request_for(&body.query, None, None)).await.map_err(ai_error)?;
    let ms = started.elapsed().as_millis() as u64;
    state.ai_stats.record(true, ms);
    let intent = intent_of(&body.query);
    let routing: Vec<String> = answer.attempts.iter().map(|a| format!("{}:{}", a.engine, a.outcome)).collect();
    let _ = (&body.user_id, &body.session_id, body.parallel, &body.metadata);
    let reply = json!({
        "id": query_id(),
        "success": true,
        "answer": answer.text,
        "response": answer.text,
        "confidence": answer.confidence.unwrap_or(0.85),
        "context": { "sources": [answer.engine.clone()] },
        "processing": {
            "totalTime": ms,
            "services": body.services.clone().unwrap_or_else(|| vec![answer.engine.clone()]),
            "thinkingSteps": answer.thinking_steps,
            "routingPath": routing,
        },
        "metadata": {
            "requestId": query_id(),
            "mode": "auto",
            "intent": intent,
            "cacheHit": answer.cache_status == ai::CacheStatus::Hit,
            "fallbackUsed": answer.fallback,
        },
    });
    Ok((answer_headers(&answer, intent, ms), Json(reply)).into_response())
}

/// Each engine's health, circuit, quota left, latency and errors; the cache and the queue.
#[utoipa::path(get, path = "/api/ai/status", tag = "ai", security(("bearer" = [])), responses((status = 200, body = Object)))]
async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let router = router_of(&state)?;
    let status = router.status().await;
    let hits = state.cache_hits.snapshot(state.started.elapsed());
    // Cache hits as the server saw them: from arrival at the first layer to the response leaving it.
    let served = json!({"count": hits.requests, "p50Ms": hits.response_time_p50, "p95Ms": hits.response_time_p95,
                        "p99Ms": hits.response_time_p99});
    Ok(Json(json!({
        "success": true, "data": status, "totals": state.ai_stats.snapshot(), "cacheHitLatency": served,
        "timestamp": clock::now_rfc3339(),
    })))
}
