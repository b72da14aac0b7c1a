//! `/api/maintenance`: maintenance windows (list with `read`; create and delete with `write`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::envelope::{Envelope, ok};
use super::error::{ApiError, ErrorBody};
use super::json::ApiObject;
use super::state::AppState;
use crate::maintenance::Window;

pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_windows))
}

pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_window)).routes(routes!(delete_window))
}

#[utoipa::path(get, path = "/api/maintenance", tag = "checks",
    responses((status = 200, body = Envelope<Vec<Window>>)))]
async fn list_windows(State(state): State<AppState>) -> Json<Envelope<Vec<Window>>> {
    ok(state.maintenance.list())
}

/// Creates a window; `id` is generated when absent. Weekly windows recur in UTC between `start` and
/// `end`.
#[utoipa::path(post, path = "/api/maintenance", tag = "checks", request_body = Window,
    responses((status = 201, body = Envelope<Window>),
              (status = 409, description = "The id is taken, or there are 200 windows already", body = ErrorBody),
              (status = 422, description = "A field is invalid, including `end` not after `start` and a window that names no server or check", body = ErrorBody)))]
async fn create_window(
    State(state): State<AppState>,
    ApiObject(body): ApiObject,
) -> Result<(StatusCode, Json<Envelope<Window>>), ApiError> {
    let window = state.maintenance.create(body).await?;
    // The status page shows items in maintenance: rebuilt now rather than at its next minute.
    refresh_status_page(&state).await;
    Ok((StatusCode::CREATED, ok(window)))
}

#[utoipa::path(delete, path = "/api/maintenance/{id}", tag = "checks",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_window(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.maintenance.delete(&id).await?;
    refresh_status_page(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The window is saved either way; a failed rebuild is retried by the page's own job.
async fn refresh_status_page(state: &AppState) {
    if let Err(e) = crate::jobs::status_page::refresh(&state.services).await {
        tracing::warn!(error = %e, "cannot rebuild the status page after a maintenance change");
    }
}
