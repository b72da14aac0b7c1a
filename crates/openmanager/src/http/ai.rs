//! The AI endpoints of API.md: `POST /api/ai/query` (JSON, or SSE with `stream: true`),
//! `POST /api/ai/edge-v2`, `GET /api/ai/status`. Every answer comes from the assistant service,
//! whose gateway ends in the local engine, so a question is always answered.

use std::convert::Infallible;
use std::time::{Duration, Instant};

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

use super::error::{ApiError, ErrorBody, FieldError};
use super::json::ApiJson;
use super::state::AppState;
use crate::assistant::{Assistant, Question};
use crate::clock;
use crate::telemetry::ai_totals::AiMetrics;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(edge_v2)).routes(routes!(status))
}

/// `/api/ai/query` streams, so it is mounted without the request timeout (the router's deadline
/// bounds it instead).
pub fn stream_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(query))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryBody {
    /// The question: 1-4000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    query: String,
    /// `auto`, `local`, `google-ai`, a provider name, or `<provider>/<model>` (an unknown one is 404).
    #[schema(max_length = 200, example = "auto")]
    mode: Option<String>,
    #[schema(minimum = 0.0, maximum = 2.0)]
    temperature: Option<f64>,
    #[schema(minimum = 1, maximum = 65536)]
    max_tokens: Option<u32>,
    /// Extra text given to remote engines with the question.
    context: Option<Value>,
    include_thinking: Option<bool>,
    /// 1-128 printable characters (what the assistant checks).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    session_id: Option<String>,
    #[schema(minimum = 100, maximum = 120000)]
    timeout_ms: Option<u64>,
    stream: Option<bool>,
    /// Use the cache even when the request is not deterministic.
    cache: Option<bool>,
}

impl QueryBody {
    /// The bounds the document states that the assistant does not check itself.
    fn validate(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        if self.mode.as_ref().is_some_and(|m| m.chars().count() > 200) {
            errors.push(FieldError::new("mode", "at most 200 characters"));
        }
        if self.temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
            errors.push(FieldError::new("temperature", "must be 0-2"));
        }
        if self.max_tokens.is_some_and(|t| !(1..=65_536).contains(&t)) {
            errors.push(FieldError::new("maxTokens", "must be 1-65536"));
        }
        if self.session_id.as_ref().is_some_and(|s| s.chars().count() > 128) {
            errors.push(FieldError::new("sessionId", "at most 128 characters"));
        }
        if self.timeout_ms.is_some_and(|t| !(100..=120_000).contains(&t)) {
            errors.push(FieldError::new("timeoutMs", "must be 100-120000"));
        }
        crate::validation::check(errors).map_err(ApiError::validation)
    }
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

/// How an answer was made.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerMetadata {
    mode: String,
    intent: String,
    query_id: String,
    cache_hit: bool,
    fallback: bool,
    engine: String,
    model: String,
    /// Each engine tried.
    #[schema(value_type = Vec<super::ai_types::Attempt>)]
    attempts: Vec<ai::Attempt>,
    /// Empty when `includeThinking` is false.
    #[schema(value_type = Vec<super::ai_types::ThinkingStep>)]
    thinking_steps: Vec<ai::ThinkingStep>,
    #[schema(value_type = super::ai_types::Usage)]
    usage: ai::Usage,
    /// When the engine asks back: the readings (or server names) it offers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    clarify: Vec<String>,
    /// The time window the answer used (absent for the latest values).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    window: Option<Window>,
}

/// A time window, RFC 3339 both ends (named apart from the alert rules' `Window`).
#[derive(Serialize, ToSchema)]
#[schema(as = ExplainWindow)]
pub struct Window {
    #[schema(format = DateTime)]
    from: String,
    #[schema(format = DateTime)]
    to: String,
}

impl Window {
    pub fn of(w: Option<(i64, i64)>) -> Option<Self> {
        w.map(|(from, to)| Self { from: clock::millis_rfc3339(from), to: clock::millis_rfc3339(to) })
    }
}

impl AnswerMetadata {
    fn of(a: &ai::AiAnswer, mode: &str, intent: &str, query_id: &str, with_thinking: bool) -> Self {
        Self {
            mode: mode.to_owned(),
            intent: intent.to_owned(),
            query_id: query_id.to_owned(),
            cache_hit: a.cache_status == ai::CacheStatus::Hit,
            fallback: a.fallback,
            engine: a.engine.clone(),
            model: a.model.clone(),
            attempts: a.attempts.clone(),
            thinking_steps: if with_thinking { a.thinking_steps.clone() } else { Vec::new() },
            usage: a.usage,
            clarify: a.clarify.clone(),
            window: Window::of(a.window),
        }
    }
}

/// The answer of `/api/ai/query` (and the last event of its stream, with `done: true`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryReply {
    success: bool,
    query: String,
    answer: String,
    /// The same text as `answer` (the web app's older name).
    response: String,
    /// 0-1, how sure the engine is that it understood the question; only engines that say so.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 1.0, nullable = false)]
    confidence: Option<f64>,
    engine: String,
    /// Milliseconds.
    response_time: u64,
    #[schema(format = DateTime)]
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    session_id: Option<String>,
    metadata: AnswerMetadata,
}

fn query_id() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    format!("q_{}", hex::encode(b))
}

fn question(body: &QueryBody, mode: &str) -> Question {
    Question {
        text: body.query.clone(),
        mode: Some(mode.to_owned()),
        temperature: body.temperature.map(|t| t as f32),
        max_tokens: body.max_tokens,
        context: body.context.clone(),
        timeout: body.timeout_ms.map(Duration::from_millis),
        cache: body.cache == Some(true),
        session_id: body.session_id.clone(),
    }
}

/// Asks the gateway. With `stream: true` the answer is `text/event-stream`: `data: {"delta": …}`
/// events and a final `data: {"done": true, …}` with the metadata.
#[utoipa::path(post, path = "/api/ai/query", tag = "ai", request_body = QueryBody,
    params(("X-AI-Mode" = Option<String>, Header, description = "Overrides `mode`")),
    responses((status = 200, description = "The answer; with `stream: true` an event stream of `{delta}` events whose last event is this body with `done: true`",
                content((QueryReply = "application/json"), (super::docs::SseEvent = "text/event-stream")),
                headers(("X-AI-Engine" = String, description = "The engine that answered"),
                        ("X-Cache-Status" = String, description = "`HIT`, `MISS` or `BYPASS`"),
                        ("X-Response-Time" = String, description = "Milliseconds, as `12ms` (not on streams)"),
                        ("X-Query-Intent" = String), ("X-Fallback" = String, description = "`true` when a fallback engine answered"))),
              (status = 400, description = "The gateway refused the request (`AI_INVALID_REQUEST`)", body = ErrorBody),
              (status = 404, description = "`mode` names no configured engine or model", body = ErrorBody),
              (status = 429, description = "A pinned engine's quota is spent", body = ErrorBody),
              (status = 502, description = "The pinned engine failed", body = ErrorBody),
              (status = 503, description = "The engine is not configured, its circuit is open, or the wait queue is full", body = ErrorBody),
              (status = 504, description = "No engine answered within the deadline", body = ErrorBody)))]
async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<QueryBody>,
) -> Result<Response, ApiError> {
    let mode = headers
        .get("x-ai-mode")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| body.mode.clone())
        .unwrap_or_else(|| "auto".into());
    body.validate()?;
    let q = question(&body, &mode);
    q.check()?;
    let intent = Assistant::intent_of(&body.query);
    let with_thinking = body.include_thinking.unwrap_or(true);
    let qid = query_id();
    let started = Instant::now();

    if body.stream == Some(true) {
        let stream = state.assistant.stream(&q).await?;
        let heads = [
            header("x-ai-engine", &stream.engine),
            header("x-cache-status", stream.cache_status.as_header()),
            header("x-query-intent", intent),
            header("x-fallback", if stream.fallback { "true" } else { "false" }),
        ];
        let (query_text, session) = (body.query.clone(), body.session_id.clone());
        let events = stream.events.map(move |ev| {
            let data = match ev {
                ai::StreamEvent::Text(t) => json!({ "delta": t }),
                ai::StreamEvent::ToolCall(c) => json!({ "toolCall": c }),
                ai::StreamEvent::Done(a) => {
                    let ms = started.elapsed().as_millis() as u64;
                    let reply = reply(&query_text, &a, ms, session.clone(), &mode, intent, &qid, with_thinking);
                    let mut v = serde_json::to_value(reply).unwrap_or_default();
                    v["done"] = json!(true);
                    v
                }
                ai::StreamEvent::Error(e) => {
                    json!({ "done": true, "success": false, "error": e.code(), "message": e.to_string() })
                }
            };
            Ok::<_, Infallible>(Event::default().data(data.to_string()))
        });
        return Ok((heads, Sse::new(events).keep_alive(KeepAlive::default())).into_response());
    }

    let answer = state.assistant.ask(&q).await?;
    let ms = started.elapsed().as_millis() as u64;
    let heads = answer_headers(&answer, intent, ms);
    let body = reply(&body.query, &answer, ms, body.session_id.clone(), &mode, intent, &qid, with_thinking);
    Ok((heads, Json(body)).into_response())
}

#[allow(clippy::too_many_arguments)]
fn reply(
    query: &str,
    a: &ai::AiAnswer,
    ms: u64,
    session_id: Option<String>,
    mode: &str,
    intent: &str,
    qid: &str,
    with_thinking: bool,
) -> QueryReply {
    QueryReply {
        success: true,
        query: query.to_owned(),
        answer: a.text.clone(),
        response: a.text.clone(),
        confidence: a.confidence,
        engine: a.engine.clone(),
        response_time: ms,
        timestamp: clock::now_rfc3339(),
        session_id,
        metadata: AnswerMetadata::of(a, mode, intent, qid, with_thinking),
    }
}

/// The web app's edge form. Only `query` and `services` shape the answer; the other fields are
/// accepted as the web app sends them (unknown ones too).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct EdgeBody {
    /// The question: 1-4000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    query: String,
    #[schema(max_length = 128)]
    user_id: Option<String>,
    /// 1-128 printable characters (what the assistant checks).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    session_id: Option<String>,
    /// Names shown back in `processing.services`.
    #[schema(max_items = 16, inline, value_type = Option<Vec<ServiceName>>)]
    services: Option<Vec<String>>,
    parallel: Option<bool>,
    metadata: Option<Value>,
}

/// A service name in the edge form: 1-64 printable characters.
#[derive(ToSchema)]
#[schema(min_length = 1, max_length = 64, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
#[allow(dead_code)]
pub struct ServiceName(String);

impl EdgeBody {
    fn validate(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        for (field, v) in [("userId", &self.user_id), ("sessionId", &self.session_id)] {
            if v.as_ref().is_some_and(|v| v.chars().count() > 128) {
                errors.push(FieldError::new(field, "at most 128 characters"));
            }
        }
        if let Some(services) = &self.services {
            if services.len() > 16 {
                errors.push(FieldError::new("services", "at most 16"));
            }
            for (i, name) in services.iter().enumerate() {
                let n = name.chars().count();
                if n == 0 || n > 64 || name.chars().any(char::is_control) {
                    errors.push(FieldError::new(format!("services[{i}]"), "must be 1-64 printable characters"));
                }
            }
        }
        crate::validation::check(errors).map_err(ApiError::validation)
    }
}

#[derive(Serialize, ToSchema)]
pub struct EdgeSources {
    sources: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EdgeProcessing {
    total_time: u64,
    services: Vec<String>,
    #[schema(value_type = Vec<super::ai_types::ThinkingStep>)]
    thinking_steps: Vec<ai::ThinkingStep>,
    routing_path: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EdgeMetadata {
    request_id: String,
    mode: &'static str,
    intent: String,
    cache_hit: bool,
    fallback_used: bool,
}

#[derive(Serialize, ToSchema)]
pub struct EdgeReply {
    id: String,
    success: bool,
    answer: String,
    response: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 1.0, nullable = false)]
    confidence: Option<f64>,
    context: EdgeSources,
    processing: EdgeProcessing,
    metadata: EdgeMetadata,
}

/// The web app's edge query form, answered through the same assistant.
#[utoipa::path(post, path = "/api/ai/edge-v2", tag = "ai", request_body = EdgeBody,
    responses((status = 200, body = EdgeReply,
                headers(("X-AI-Engine" = String), ("X-Cache-Status" = String), ("X-Response-Time" = String),
                        ("X-Query-Intent" = String), ("X-Fallback" = String))),
              (status = 400, body = ErrorBody), (status = 429, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn edge_v2(State(state): State<AppState>, ApiJson(body): ApiJson<EdgeBody>) -> Result<Response, ApiError> {
    body.validate()?;
    let q = Question { session_id: body.session_id.clone(), ..Question::new(body.query.clone()) };
    q.check()?;
    let started = Instant::now();
    let answer = state.assistant.ask(&q).await?;
    let ms = started.elapsed().as_millis() as u64;
    let intent = Assistant::intent_of(&body.query);
    let routing: Vec<String> = answer.attempts.iter().map(|a| format!("{}:{}", a.engine, a.outcome)).collect();
    let reply = EdgeReply {
        id: query_id(),
        success: true,
        answer: answer.text.clone(),
        response: answer.text.clone(),
        confidence: answer.confidence,
        context: EdgeSources { sources: vec![answer.engine.clone()] },
        processing: EdgeProcessing {
            total_time: ms,
            services: body.services.clone().unwrap_or_else(|| vec![answer.engine.clone()]),
            thinking_steps: answer.thinking_steps.clone(),
            routing_path: routing,
        },
        metadata: EdgeMetadata {
            request_id: query_id(),
            mode: "auto",
            intent: intent.to_owned(),
            cache_hit: answer.cache_status == ai::CacheStatus::Hit,
            fallback_used: answer.fallback,
        },
    };
    Ok((answer_headers(&answer, intent, ms), Json(reply)).into_response())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatencyFigures {
    count: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusBody {
    success: bool,
    /// Engines, cache and queue.
    #[schema(value_type = super::ai_types::AiStatus)]
    data: ai::AiStatus,
    totals: AiMetrics,
    /// Cache hits as the server saw them: from arrival at the first layer to the response leaving it.
    cache_hit_latency: LatencyFigures,
    /// With several hubs on Redis: `ok`, or why quotas and the cache fell back to this hub's own
    /// (as `checks.redis` in `/api/health`). Absent without Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<String>,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// Each engine's health, circuit, quota left, latency and errors; the cache and the queue.
#[utoipa::path(get, path = "/api/ai/status", tag = "ai", responses((status = 200, body = StatusBody)))]
async fn status(State(state): State<AppState>) -> Json<StatusBody> {
    let data = state.assistant.gateway().status().await;
    let t = &state.telemetry;
    let hits = t.cache_hits.snapshot(state.started.elapsed());
    Json(StatusBody {
        success: true,
        data,
        totals: t.ai.snapshot(),
        cache_hit_latency: LatencyFigures {
            count: hits.requests,
            p50_ms: hits.response_time_p50,
            p95_ms: hits.response_time_p95,
            p99_ms: hits.response_time_p99,
        },
        redis: state.health.check("redis").map(|c| match c {
            crate::component_health::Check::Ok => "ok".to_string(),
            crate::component_health::Check::Failing(why) => why,
        }),
        timestamp: clock::now_rfc3339(),
    })
}
