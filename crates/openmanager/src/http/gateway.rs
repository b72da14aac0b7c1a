//! The gateway's drop-in endpoints for existing clients: OpenAI-compatible `POST /v1/chat/completions`
//! and `GET /v1/models` (model ids `auto`, `local`, `<provider>/<model>`), and the Google AI proxy
//! under `/api/ai/google/{v1,v1beta,v1alpha}/models/...` in Gemini's own wire format, so Google's
//! SDKs work with only their base URL changed, whatever API version they default to. All go through
//! the assistant's gateway: fallback, cache, quotas, metrics.

use std::convert::Infallible;

use axum::Json;
use axum::extract::{Path, State};
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
use super::gateway_types::{
    ChatCompletionRequest, GeminiModel, GeminiModelList, GenerateContentRequest, ModelEntry, ModelList, typed,
};
use super::json::{ApiJson, ApiQuery};
use super::state::AppState;

/// Both stream, so neither has the request timeout; the router's deadline bounds them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_completions))
        .routes(routes!(models))
        .routes(routes!(google_post, google_get))
        .routes(routes!(google_list))
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
#[utoipa::path(post, path = "/v1/chat/completions", tag = "ai", request_body = ChatCompletionRequest,
    responses((status = 200, description = "`chat.completion`, or with `stream: true` `chat.completion.chunk` events ending in `[DONE]` (OpenAI's format)",
                content((Object = "application/json"), (super::docs::SseEvent = "text/event-stream")),
                headers(("X-AI-Engine" = String), ("X-Cache-Status" = String), ("X-Fallback" = String))),
              (status = 400, description = "A field of the wrong type or out of range, or no question (no user message with text)", body = ErrorBody),
              (status = 404, description = "`model` names no configured engine or model", body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn chat_completions(State(state): State<AppState>, ApiJson(value): ApiJson<Value>) -> Result<Response, ApiError> {
    typed::<ChatCompletionRequest>(&value)?.check()?;
    let (chat, target, stream) = ai::compat::openai_request(&value)?;
    let req = ai::AiRequest::new(chat).target(target);
    let id = completion_id();
    let created = crate::clock::now_millis() / 1000;
    if stream {
        let s = state.assistant.stream_request(req).await?;
        let heads = gateway_headers(&s.engine, s.cache_status, s.fallback);
        let model = if s.engine == s.model { s.engine.clone() } else { format!("{}/{}", s.engine, s.model) };
        let usage = value.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
        let events = s
            .events
            .flat_map(move |ev| {
                let data = match &ev {
                    ai::StreamEvent::Error(e) => vec![json!({"error": {"message": e.to_string(), "type": e.code()}})],
                    other => ai::compat::openai_chunks(other, &id, created, &model, usage),
                };
                futures_util::stream::iter(
                    data.into_iter().map(|d| Ok::<_, Infallible>(Event::default().data(d.to_string()))),
                )
            })
            .chain(futures_util::stream::once(async { Ok(Event::default().data("[DONE]")) }));
        return Ok((heads, Sse::new(events)).into_response());
    }
    let answer = state.assistant.ask_request(req).await?;
    let heads = gateway_headers(&answer.engine, answer.cache_status, answer.fallback);
    Ok((heads, Json(ai::compat::openai_response(&answer, &id, created))).into_response())
}

/// The model ids this gateway answers to.
#[utoipa::path(get, path = "/v1/models", tag = "ai", responses((status = 200, body = ModelList)))]
async fn models(State(state): State<AppState>) -> Json<ModelList> {
    let data = state
        .assistant
        .gateway()
        .model_ids()
        .into_iter()
        .map(|id| ModelEntry { id, object: "model", created: 0, owned_by: "openmanager" })
        .collect();
    Json(ModelList { object: "list", data })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AltQuery {
    /// `sse` for a stream of server-sent events (the only streaming form served).
    #[param(value_type = Option<AltForm>)]
    alt: Option<String>,
}

/// The response forms `alt` names.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum AltForm {
    Sse,
}

/// `POST /api/ai/google/{version}/models/{model}:generateContent` and `:streamGenerateContent`.
#[utoipa::path(post, path = "/api/ai/google/{version}/models/{call}", tag = "ai",
    params(("version" = String, Path, description = "v1beta, v1 or v1alpha", pattern = "^(v1beta|v1|v1alpha)$"),
           ("call" = String, Path, description = "`<model>:generateContent` or `<model>:streamGenerateContent`",
            pattern = "^[A-Za-z0-9._-]{1,128}:(generateContent|streamGenerateContent)$"),
           AltQuery),
    request_body = GenerateContentRequest,
    responses((status = 200, description = "GenerateContentResponse, or with `:streamGenerateContent?alt=sse` its chunks as events (Gemini's format)",
                content((Object = "application/json"), (super::docs::SseEvent = "text/event-stream")),
                headers(("X-AI-Engine" = String), ("X-Cache-Status" = String), ("X-Fallback" = String))),
              (status = 400, description = "A field of the wrong type or out of range, no question, or streaming without `alt=sse`", body = ErrorBody),
              (status = 404, description = "The version, method or model is unknown", body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn google_post(
    State(state): State<AppState>,
    Path((version, call)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<AltQuery>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    check_version(&version)?;
    if q.alt.as_deref().is_some_and(|a| a != "sse") {
        return Err(ApiError::validation(vec![super::error::FieldError::new("alt", "only `sse` is served")]));
    }
    let (model, method) = call.split_once(':').ok_or_else(|| ApiError::not_found(format!("no method in `{call}`")))?;
    typed::<GenerateContentRequest>(&value)?.check()?;
    let chat = ai::compat::gemini_request(&value)?;
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
#[utoipa::path(get, path = "/api/ai/google/{version}/models/{call}", tag = "ai",
    params(("version" = String, Path, description = "v1beta, v1 or v1alpha", pattern = "^(v1beta|v1|v1alpha)$"),
           ("call" = String, Path, description = "model id", pattern = "^[A-Za-z0-9._-]{1,128}$")),
    responses((status = 200, body = GeminiModel), (status = 404, description = "Not a configured Google AI model", body = ErrorBody)))]
async fn google_get(
    State(state): State<AppState>,
    Path((version, call)): Path<(String, String)>,
) -> Result<Json<GeminiModel>, ApiError> {
    check_version(&version)?;
    let known = state.assistant.gateway().model_ids().iter().any(|id| id == &format!("google-ai/{call}"));
    if !known {
        return Err(ApiError::not_found(format!("model `{call}` is not configured")));
    }
    Ok(Json(GeminiModel::of(&call)))
}

/// `GET .../models` paging, as the SDKs send it (every configured model fits in one page).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ModelListQuery {
    /// Models per page (all are answered at once).
    #[param(minimum = 0, maximum = 1000)]
    page_size: Option<u32>,
    /// A token from an earlier page (there is never a next one).
    #[param(max_length = 1024)]
    page_token: Option<String>,
}

/// Lists the configured Google AI models, as `models.list()` in Google's SDKs reads them.
#[utoipa::path(get, path = "/api/ai/google/{version}/models", tag = "ai",
    params(("version" = String, Path, description = "v1beta, v1 or v1alpha", pattern = "^(v1beta|v1|v1alpha)$"),
           ModelListQuery),
    responses((status = 200, body = GeminiModelList), (status = 404, description = "An unknown API version", body = ErrorBody),
              (status = 422, description = "`pageSize` or `pageToken` out of range", body = ErrorBody)))]
async fn google_list(
    State(state): State<AppState>,
    Path(version): Path<String>,
    ApiQuery(page): ApiQuery<ModelListQuery>,
) -> Result<Json<GeminiModelList>, ApiError> {
    check_version(&version)?;
    let mut bad = Vec::new();
    if page.page_size.is_some_and(|n| n > 1000) {
        bad.push(super::error::FieldError::new("pageSize", "must be 0-1000"));
    }
    if page.page_token.as_ref().is_some_and(|t| t.len() > 1024) {
        bad.push(super::error::FieldError::new("pageToken", "at most 1024 characters"));
    }
    if !bad.is_empty() {
        return Err(ApiError::validation(bad));
    }
    let models = state
        .assistant
        .gateway()
        .model_ids()
        .iter()
        .filter_map(|id| id.strip_prefix("google-ai/"))
        .map(GeminiModel::of)
        .collect();
    Ok(Json(GeminiModelList { models }))
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
