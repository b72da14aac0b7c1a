//! `/api/notifications`: channels (webhook, Slack, Discord, Telegram, ntfy) with write-only secrets,
//! a test send, and the recent delivery log. Changing channels needs the `admin` scope: a channel
//! makes the server send requests to a URL of the caller's choosing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alerts::{Body, alerting, new_id, ok};
use super::error::{ApiError, ErrorBody};
use super::json::{ApiJson, from_value, object_mut};
use crate::notify::channel::{CHANNEL_PREFIX, save_channel};
use crate::notify::{Channel, DeliveryRecord, Outcome};
use crate::state::AppState;

/// Most channels kept (each has a worker and a queue).
pub const MAX_CHANNELS: usize = 50;

pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(deliveries))
}

pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upsert)).routes(routes!(remove)).routes(routes!(test))
}

/// Channels, secrets masked.
#[utoipa::path(get, path = "/api/notifications/channels", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Body<Vec<Channel>>)))]
async fn list(State(state): State<AppState>) -> Result<Json<Body<Vec<Channel>>>, ApiError> {
    Ok(Json(ok(alerting(&state)?.notifier.channels())))
}

/// The latest delivery attempts, newest first.
#[utoipa::path(get, path = "/api/notifications/deliveries", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Body<Vec<DeliveryRecord>>)))]
async fn deliveries(State(state): State<AppState>) -> Result<Json<Body<Vec<DeliveryRecord>>>, ApiError> {
    Ok(Json(ok(alerting(&state)?.notifier.log())))
}

/// Adds a channel (201) or replaces the one with the same `id` (200). A secret sent back as the mask
/// `********` keeps its stored value, so a form can save what a GET showed.
#[utoipa::path(post, path = "/api/notifications/channels", tag = "notifications", request_body = Channel,
    security(("bearer" = [])),
    responses((status = 201, body = Body<Channel>), (status = 200, body = Body<Channel>), (status = 422, body = ErrorBody)))]
async fn upsert(State(state): State<AppState>, ApiJson(mut body): ApiJson<Value>) -> Result<Response, ApiError> {
    let a = alerting(&state)?;
    let obj = object_mut(&mut body)?;
    obj.entry("id").or_insert_with(|| Value::String(new_id("channel")));
    let mut channel: Channel = from_value(body)?;
    let _edit = a.edits.lock().await;
    let existing = a.notifier.channels();
    let previous = existing.iter().find(|c| c.id == channel.id);
    if previous.is_none() && existing.len() >= MAX_CHANNELS {
        return Err(ApiError::Conflict(format!("at most {MAX_CHANNELS} channels; delete one first")));
    }
    // The notifier's copy holds the real secrets (only their serialization is masked).
    if let Some(stored) = previous {
        channel.keep_unchanged_secrets(stored);
    }
    channel.validate().map_err(ApiError::validation)?;
    save_channel(&state.store, &channel).await.map_err(|e| ApiError::Internal(e.into()))?;
    a.notifier.upsert_channel(channel.clone());
    let status = if previous.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(ok(channel))).into_response())
}

/// Removes a channel; rules that name it keep the name (their alerts skip it with a warning).
#[utoipa::path(delete, path = "/api/notifications/channels/{id}", tag = "notifications", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let a = alerting(&state)?;
    let _edit = a.edits.lock().await;
    if !a.notifier.channels().iter().any(|c| c.id == id) {
        return Err(ApiError::not_found(format!("channel `{id}` not found")));
    }
    state.store.delete_kv(&format!("{CHANNEL_PREFIX}{id}")).await.map_err(|e| ApiError::Internal(e.into()))?;
    a.notifier.remove_channel(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message now (one attempt) and answers with its delivery record; a failed delivery
/// is 502 with the receiver's answer in the message.
#[utoipa::path(post, path = "/api/notifications/channels/{id}/test", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Body<DeliveryRecord>), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn test(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Body<DeliveryRecord>>, ApiError> {
    let a = alerting(&state)?;
    let record = a.notifier.test(&id).await.map_err(|_| ApiError::not_found(format!("channel `{id}` not found")))?;
    if record.outcome == Outcome::Delivered {
        return Ok(Json(ok(record)));
    }
    let status = record.status.map(|s| format!("status {s}")).unwrap_or_else(|| "no answer".into());
    let why = record.error.clone().unwrap_or_default();
    Err(ApiError::Upstream(format!("the test message was not delivered ({status}): {why}")))
}
