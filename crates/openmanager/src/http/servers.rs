//! `/api/servers`: the fleet list with filters, pagination and summary, one server's detail, and
//! registration, change and removal of servers by hand. Each handler calls one fleet operation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::envelope::{Envelope, ok};
use super::error::{ApiError, ErrorBody};
use super::json::{ApiJson, ApiQuery};
use super::state::AppState;
use crate::clock;
use crate::fleet::detail::ServerDetail;
use crate::fleet::listing::{ListQuery, Pagination, Summary};
use crate::fleet::model::ServerView;
use crate::fleet::request::{NewServer, ServerPatch};

/// Read routes (`read` scope).
pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(list_all)).routes(routes!(get_one))
}

/// Write routes (`write` scope).
pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(update, remove))
}

#[derive(Serialize, ToSchema)]
pub struct ServerList {
    pub success: bool,
    pub data: Vec<ServerView>,
    pub summary: Summary,
    pub pagination: Pagination,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

fn listing(state: &AppState, q: &ListQuery, paginate: bool) -> Result<Json<ServerList>, ApiError> {
    let l = state.fleet.list(q, paginate)?;
    Ok(Json(ServerList {
        success: true,
        data: l.servers,
        summary: l.summary,
        pagination: l.pagination,
        timestamp: clock::now_rfc3339(),
    }))
}

/// The fleet, filtered and paginated, with a status summary of the filtered set.
#[utoipa::path(get, path = "/api/servers", tag = "servers", params(ListQuery),
    responses((status = 200, body = ServerList), (status = 422, description = "A bad query parameter, named in `details`", body = ErrorBody)))]
async fn list(State(state): State<AppState>, ApiQuery(q): ApiQuery<ListQuery>) -> Result<Json<ServerList>, ApiError> {
    listing(&state, &q, true)
}

/// Every server (filters apply; no pagination).
#[utoipa::path(get, path = "/api/servers/all", tag = "servers", params(ListQuery),
    responses((status = 200, body = ServerList), (status = 422, description = "A bad query parameter, named in `details`", body = ErrorBody)))]
async fn list_all(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ServerList>, ApiError> {
    listing(&state, &q, false)
}

/// One server with system info, interfaces, top processes, per-core CPU and disks.
#[utoipa::path(get, path = "/api/servers/{id}", tag = "servers",
    params(("id" = String, Path, description = "Server id", max_length = 128)),
    responses((status = 200, body = Envelope<ServerDetail>), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<ServerDetail>>, ApiError> {
    Ok(ok(state.fleet.detail(&id)?))
}

/// Registers a server by hand (`unknown` until data arrives for it).
#[utoipa::path(post, path = "/api/servers", tag = "servers", request_body = NewServer,
    responses((status = 201, body = Envelope<ServerView>),
              (status = 409, description = "The name is taken, or the fleet is full", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewServer>,
) -> Result<(StatusCode, Json<Envelope<ServerView>>), ApiError> {
    Ok((StatusCode::CREATED, ok(state.fleet.register(body).await?)))
}

/// Changes a server's description (`maintenance: true` shows it in maintenance).
#[utoipa::path(patch, path = "/api/servers/{id}", tag = "servers", request_body = ServerPatch,
    params(("id" = String, Path, description = "Server id", max_length = 128)),
    responses((status = 200, body = Envelope<ServerView>), (status = 404, body = ErrorBody),
              (status = 409, description = "The new name is taken, or the server is simulated", body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ServerPatch>,
) -> Result<Json<Envelope<ServerView>>, ApiError> {
    Ok(ok(state.fleet.modify(&id, patch).await?))
}

/// Removes a server and its history.
#[utoipa::path(delete, path = "/api/servers/{id}", tag = "servers",
    params(("id" = String, Path, description = "Server id", max_length = 128)),
    responses((status = 204), (status = 404, body = ErrorBody),
              (status = 409, description = "Simulated servers cannot be removed", body = ErrorBody)))]
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.remove_server(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
