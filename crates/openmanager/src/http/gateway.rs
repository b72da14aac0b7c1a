//! The gateway's drop-in endpoints for existing clients: OpenAI-compatible `POST /v1/chat/completions`
//! and `GET /v1/models` (model ids `auto`, `local`, `<provider>/<model>`), and the Google AI proxy
//! under `/api/ai/google/{v1,v1beta,v1alpha}/models/...` in Gemini's own wire format, so Google's
//! SDKs work with only their base URL changed, whatever API version they default to. All go through
//! the assistant's gateway: fallback, cache, quotas, metrics.

use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};

use super::json::ApiQuery;
use axum::http::{HeaderName, HeaderValue};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ai::header;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;

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

/// The API versions Google's SDKs put in their paths (`v1beta` by default; `v1` and `v1alpha` on
/// request), all served alike.
const GOOGLE_VERSIONS: [&str; 3] = ["v1beta", "v1", "v1alpha"];

fn check_version(version: &str) -> Result<(), ApiError> {
    if GOOGLE_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("unknown API version `{version}` (use v1beta, v1 or v1alpha)")))
    }
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
    let value = json_body(&body)?;
    let (chat, target, stream) = ai::compat::openai_request(&value)?;
    let req = ai::AiRequest::new(chat).target(target);
    let id = completion_id();
    let created = crate::clock::now_millis() / 1000;
    if stream {
        let s = state.assistant.stream_request(req).await?;
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
    let answer = state.assistant.ask_request(req).await?;
    let heads = gateway_headers(&answer.engine, answer.cache_status, answer.fallback);
    Ok((heads, Json(ai::compat::openai_response(&answer, &id, created))).into_response())
}

/// The model ids this gateway answers to.
#[utoipa::path(get, path = "/v1/models", tag = "ai", security(("bearer" = [])), responses((status = 200, body = Object)))]
async fn models(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let data: Vec<Value> = state
        .assistant
        .gateway()
        .model_ids()
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "openmanager"}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AltQuery {
    /// `sse` for a stream of server-sent events (the only streaming form served).
    #[param(pattern = "^sse$")]
    alt: Option<String>,
}

/// `POST /api/ai/google/{version}/models/{model}:generateContent` and `:streamGenerateContent`.
#[utoipa::path(post, path = "/api/ai/google/{version}/models/{call}", tag = "ai", security(("bearer" = [])),
    params(("version" = String, Path, description = "v1beta, v1 or v1alpha", pattern = "^(v1beta|v1|v1alpha)$"),
           ("call" = String, Path, description = "`<model>:generateContent` or `<model>:streamGenerateContent`",
            pattern = "^[A-Za-z0-9._-]+:(generateContent|streamGenerateContent)$"),
           AltQuery),
    request_body(content = Object, description = "Gemini GenerateContentRequest"),
    responses((status = 200, description = "GenerateContentResponse, or its SSE chunks with alt=sse", body = Object)))]
async fn google_post(
    State(state): State<AppState>,
    Path((version, call)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<AltQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_version(&version)?;
    let (model, method) = call.split_once(':').ok_or_else(|| ApiError::not_found(format!("no method in `{call}`")))?;
    let chat = ai::compat::gemini_request(&json_body(&body)?)?;
    let target = ai::Target::parse(&format!("google-ai/{model}"));
    let req = ai::AiRequest::new(chat).target(target);
    match method {
        "generateContent" => {
            let answer = state.assistant.ask_request(req).await?;
            let heads = gateway_headers(&answer.engine, answer.cache_status, answer.fallback);
            Ok((heads, Json(ai::compat::gemini_response(&answer))).into_response())
        }
        "streamGenerateContent" => {
            if q.alt.as_deref() != Some("sse") {
                return Err(ApiError::BadRequest("use `?alt=sse` for streaming".into()));
            }
            let s = state.assistant.stream_request(req).await?;
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
#[utoipa::path(get, path = "/api/ai/google/{version}/models/{call}", tag = "ai", security(("bearer" = [])),
    params(("version" = String, Path, description = "v1beta, v1 or v1alpha", pattern = "^(v1beta|v1|v1alpha)$"),
           ("call" = String, Path, description = "model id", pattern = "^[A-Za-z0-9._-]+$")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn google_get(
    State(state): State<AppState>,
    Path((version, call)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check_version(&version)?;
    let known = state.assistant.gateway().model_ids().iter().any(|id| id == &format!("google-ai/{call}"));
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
