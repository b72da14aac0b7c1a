//! `/api/checks`: service checks (create, change, delete with `write`; read with `read`), running
//! one now, and a check's history. Each handler calls one checks operation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::derived::CheckPatch;
use super::envelope::{Envelope, ok};
use super::error::{ApiError, ErrorBody};
use super::json::{ApiObject, ApiQuery};
use super::state::AppState;
use crate::checks::history::{CheckHistory, CheckHistoryQuery};
use crate::checks::wire::{CheckSpec, CheckView};
use crate::clock;

pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(get_one)).routes(routes!(history))
}

pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(update, delete)).routes(routes!(run))
}

/// Every check with its state (the worst of its places) and uptime.
#[utoipa::path(get, path = "/api/checks", tag = "checks",
    responses((status = 200, body = Envelope<Vec<CheckView>>)))]
async fn list(State(state): State<AppState>) -> Json<Envelope<Vec<CheckView>>> {
    ok(state.checks.list(clock::now_millis()))
}

#[utoipa::path(get, path = "/api/checks/{id}", tag = "checks",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = Envelope<CheckView>), (status = 404, body = ErrorBody)))]
async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Envelope<CheckView>>, ApiError> {
    Ok(ok(state.checks.get(&id, clock::now_millis())?))
}

/// Creates a check; `id` is generated when absent. It is saved, then runs where `runOn` says.
#[utoipa::path(post, path = "/api/checks", tag = "checks", request_body = CheckSpec,
    responses((status = 201, body = Envelope<CheckView>),
              (status = 409, description = "The id is taken, or there are `checks.max_checks` already", body = ErrorBody),
              (status = 422, description = "A field is invalid, including what the schema cannot say: a target that does not parse for the kind, `timeoutMs` not below the interval, options of another kind, a `dns.expect` that `dns.recordType` cannot answer, a header or URL that carries one of this hub's tokens", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ApiObject(body): ApiObject,
) -> Result<(StatusCode, Json<Envelope<CheckView>>), ApiError> {
    Ok((StatusCode::CREATED, ok(state.checks.create(body, &state.tokens).await?)))
}

/// Changes a check: the fields sent replace the check's. Header values sent back as `<hidden>` keep
/// the stored ones.
#[utoipa::path(patch, path = "/api/checks/{id}", tag = "checks", request_body = CheckPatch,
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = Envelope<CheckView>), (status = 404, body = ErrorBody),
              (status = 422, description = "The check the change makes is invalid (the same rules as creation), or `id` differs from the path", body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiObject(patch): ApiObject,
) -> Result<Json<Envelope<CheckView>>, ApiError> {
    Ok(ok(state.checks.update(&id, patch, &state.tokens).await?))
}

/// Deletes a check with its history.
#[utoipa::path(delete, path = "/api/checks/{id}", tag = "checks",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.checks.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs a check on the hub now (outside its schedule, which is unchanged) and answers with its new
/// state.
#[utoipa::path(post, path = "/api/checks/{id}/run", tag = "checks",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = Envelope<CheckView>), (status = 404, body = ErrorBody),
              (status = 409, description = "The check does not run on the hub", body = ErrorBody),
              (status = 503, description = "Too many run requests wait already, or the hub runs no checks", body = ErrorBody)))]
async fn run(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Envelope<CheckView>>, ApiError> {
    Ok(ok(state.checks.run_now(&id).await?))
}

/// A check's results over time at one place: per point the share up, mean latency, status code and
/// certificate days, at the stored tier's resolution.
#[utoipa::path(get, path = "/api/checks/{id}/history", tag = "checks", params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$"), CheckHistoryQuery),
    responses((status = 200, body = Envelope<CheckHistory>), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<CheckHistoryQuery>,
) -> Result<Json<Envelope<CheckHistory>>, ApiError> {
    Ok(ok(state.checks.history(&id, q, clock::now_millis()).await?))
}
