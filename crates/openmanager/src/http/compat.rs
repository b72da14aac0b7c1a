//! Drop-in endpoints for existing clients: OpenAI-compatible `POST /v1/chat/completions` and
//! `GET /v1/models` (model ids `auto`, `local`, `<provider>/<model>`), and the Google AI proxy under
//! `/api/ai/google/v1beta/models/...` in Gemini's own wire format, so Google's SDKs work with only
//! their base URL changed. All go through the gateway's router: fallback, cache, quotas, metrics.

use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ai::{ai_error, header};
use super::error::ApiError;
use crate::state::AppState;

/// Both stream, so neither has the request timeout; the router's deadline bounds them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_completions))
        .routes(routes!(models))
        .routes(routes!(google_post, google_get))
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
}

fn gateway(state: &AppState) -> Result<&ai::Router, ApiError> {
    state
        .ai
        .get()
        .ok_or_else(|| ApiError::Unavailable { message: "the AI gateway is starting".into(), retry_after: Some(1) })
}

fn completion_id() -> String {
    let mut b = [0u8; 12];
    let _ = getrandom::fill(&mut b);
    format!("chatcmpl-{}", hex::encode(b))
}

/// OpenAI-compatible chat completions (with `stream` and `tools`).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "ai", security(("bearer" = [])),
    request_body(content = Object, description = "OpenAI chat completion request"),
    responses((status = 200, description = "chat.completion, or chat.completion.chunk events", body = Object)))]
async fn chat_completions(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let router = gateway(&state)?;
    let value = json_body(&body)?;
    let (chat, target, stream) = ai::compat::openai_request(&value).map_err(ai_error)?;
    let req = ai::AiRequest::new(chat).target(target);
    let id = completion_id();
    let created = crate::clock::now_millis() / 1000;
    if stream {
        let s = router.stream(req).await.map_err(ai_error)?;
        let heads = gateway_headers(&s.engine, s.cache_status, s.fallback);
        let model = if s.engine == s.model { s.engine.clone() } else { format!("{}/{}", s.engine, s.model) };
        let events = s
            .events
            .filter_map(move |ev| {
                let data = match &ev {
                    ai::StreamEvent::Error(e) => json!({"error": {"message": e.to_string(), "type": e.code()}}),
                    other => match ai::compat::openai_chunk(other, &id, created, &model) {
                        Some(v) => v,
                        None => return std::future::ready(None),
                    },
                };
                std::future::ready(Some(Ok::<_, Infallible>(Event::default().data(data.to_string()))))
            })
            .chain(futures_util::stream::once(async { Ok(Event::default().data("[DONE]")) }));
        return Ok((heads, Sse::new(events)).into_response());
    }
    let answer = router.query(req).await.map_err(ai_error)?;
    let heads = gateway_headers(&answer.engine, answer.cache_status, answer.fallback);
    Ok((heads, Json(ai::compat::openai_response(&answer, &id, created))).into_response())
}

/// The model ids this gateway answers to.
#[utoipa::path(get, path = "/v1/models", tag = "ai", security(("bearer" = [])), responses((status = 200, body = Object)))]
async fn models(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let router = gateway(&state)?;
    let data: Vec<Value> = router
        .model_ids()
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "openmanager"}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

#[derive(Deserialize)]
struct AltQuery {
    alt: Option<String>,
}

/// `POST /api/ai/google/v1beta/models/{model}:generateContent` and `:streamGenerateContent`.
#[utoipa::path(post, path = "/api/ai/google/v1beta/models/{call}", tag = "ai", security(("bearer" = [])),
    params(("call" = String, Path, description = "`<model>:generateContent` or `<model>:streamGenerateContent`")),
    request_body(content = Object, description = "Gemini GenerateContentRequest"),
    responses((status = 200, description = "GenerateContentResponse, or its SSE chunks with alt=sse", body = Object)))]
async fn google_post(
    State(state): State<AppState>,
    Path(call): Path<String>,
    Query(q): Query<AltQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let router = gateway(&state)?;
    let (model, method) = call.split_once(':').ok_or_else(|| ApiError::not_found(format!("no method in `{call}`")))?;
    let chat = ai::compat::gemini_request(&json_body(&body)?).map_err(ai_error)?;
    let target = ai::Target::parse(&format!("google-ai/{model}"));
    let req = ai::AiRequest::new(chat).target(target);
    match method {
        "generateContent" => {
            let answer = router.query(req).await.map_err(ai_error)?;
            let heads = gateway_headers(&answer.engine, answer.cache_status, answer.fallback);
            Ok((heads, Json(ai::compat::gemini_response(&answer))).into_response())
        }
        "streamGenerateContent" => {
            if q.alt.as_deref() != Some("sse") {
                return Err(ApiError::BadRequest("use `?alt=sse` for streaming".into()));
            }
            let s = router.stream(req).await.map_err(ai_error)?;
            let heads = gateway_headers(&s.engine, s.cache_status, s.fallback);
            let events = s.events.filter_map(|ev| {
                let data = match &ev {
                    ai::StreamEvent::Error(e) => {
                        Some(json!({"error": {"code": 500, "message": e.to_string(), "status": e.code()}}))
                    }
                    other => ai::compat::gemini_chunk(other),
                };
                std::future::ready(data.map(|d| Ok::<_, Infallible>(Event::default().data(d.to_string()))))
            });
            Ok((heads, Sse::new(events)).into_response())
        }
        other => Err(ApiError::not_found(format!("unknown method `{other}`"))),
    }
}

/// Describes a model (no generation quota spent).
#[utoipa::path(get, path = "/api/ai/google/v1beta/models/{call}", tag = "ai", security(("bearer" = [])),
    params(("call" = String, Path, description = "model id")), responses((status = 200, body = Object)))]
async fn google_get(State(state): State<AppState>, Path(call): Path<String>) -> Result<Json<Value>, ApiError> {
    let router = gateway(&state)?;
    let known = router.model_ids().iter().any(|id| id == &format!("google-ai/{call}"));
    if !known {
        return Err(ApiError::not_found(format!("model `{call}` is not configured")));
    }
    Ok(Json(json!({
        "name": format!("models/{call}"),
        "displayName": call,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent"],
    })))
}

/// The gateway's own headers on an SDK-format answer too: which engine, whether the cache answered,
/// whether a fallback did.
fn gateway_headers(engine: &str, cache: ai::CacheStatus, fallback: bool) -> [(HeaderName, HeaderValue); 3] {
    [
        header("x-ai-engine", engine),
        header("x-cache-status", cache.as_header()),
        header("x-fallback", if fallback { "true" } else { "false" }),
    ]
}
