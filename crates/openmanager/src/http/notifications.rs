//! `/api/notifications`: channels (webhook, Slack, Discord, Telegram, ntfy) with write-only secrets,
//! a test send, and the recent delivery log. Changing channels needs the `admin` scope: a channel
//! makes the server send requests to a URL of the caller's choosing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::derived::NewChannel;
use super::envelope::{Envelope, ok};
use super::error::{ApiError, ErrorBody};
use super::json::ApiObject;
use super::state::AppState;
use crate::alerts::notify::{Channel, DeliveryRecord, Outcome};

pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(deliveries))
}

pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upsert)).routes(routes!(remove)).routes(routes!(test))
}

/// Channels, secrets masked.
#[utoipa::path(get, path = "/api/notifications/channels", tag = "notifications",
    responses((status = 200, body = Envelope<Vec<Channel>>)))]
async fn list(State(state): State<AppState>) -> Json<Envelope<Vec<Channel>>> {
    ok(state.alerting.channels())
}

/// The latest delivery attempts, newest first.
#[utoipa::path(get, path = "/api/notifications/deliveries", tag = "notifications",
    responses((status = 200, body = Envelope<Vec<DeliveryRecord>>)))]
async fn deliveries(State(state): State<AppState>) -> Json<Envelope<Vec<DeliveryRecord>>> {
    ok(state.alerting.deliveries())
}

/// Adds a channel (201) or replaces the one with the same `id` (200). A secret sent back as the mask
/// `********` keeps its stored value, so a form can save what a GET showed.
#[utoipa::path(post, path = "/api/notifications/channels", tag = "notifications", request_body = NewChannel,
    responses((status = 201, description = "Added", body = Envelope<Channel>),
              (status = 200, description = "Replaced the channel with this `id`", body = Envelope<Channel>),
              (status = 409, description = "There are 50 channels already", body = ErrorBody)))]
async fn upsert(
    State(state): State<AppState>,
    ApiObject(body): ApiObject,
) -> Result<(StatusCode, Json<Envelope<Channel>>), ApiError> {
    let (channel, created) = state.alerting.upsert_channel(body).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, ok(channel)))
}

/// Removes a channel; rules that name it keep the name (their alerts skip it with a warning).
#[utoipa::path(delete, path = "/api/notifications/channels/{id}", tag = "notifications",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.alerting.delete_channel(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message now (one attempt) and answers with its delivery record; a failed delivery
/// is 502 with the receiver's answer in the message.
#[utoipa::path(post, path = "/api/notifications/channels/{id}/test", tag = "notifications",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, description = "Delivered", body = Envelope<DeliveryRecord>), (status = 404, body = ErrorBody),
              (status = 409, description = "The channel's host is not in `alerts.channel_hosts`; nothing was sent", body = ErrorBody),
              (status = 502, description = "The receiver did not accept the message (its status in the message)", body = ErrorBody)))]
async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<DeliveryRecord>>, ApiError> {
    let record = state.alerting.test_channel(&id).await?;
    if record.outcome == Outcome::Delivered {
        return Ok(ok(record));
    }
    let status = record.status.map(|s| format!("status {s}")).unwrap_or_else(|| "no answer".into());
    let why = record.error.clone().unwrap_or_default();
    Err(ApiError::Upstream(format!("the test message was not delivered ({status}): {why}")))
}
