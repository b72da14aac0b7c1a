//! `/api/servers`: the fleet list with filters, pagination and summary, one server's detail, and
//! registration, change and removal of servers by hand (persisted in the store's key-value table).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, FieldError};
use super::json::ApiJson;
use crate::clock;
use crate::fleet::model::{ServerMeta, ServerView};
use crate::fleet::request::{NewServer, ServerPatch};
use crate::fleet::{FleetError, Summary, detail};
use crate::state::AppState;

const MAX_LIMIT: usize = 500;

/// Read routes (`read` scope).
pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(list_all)).routes(routes!(get_one))
}

/// Write routes (`write` scope).
pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(update, remove))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1-based page (default 1).
    pub page: Option<usize>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<usize>,
    /// online | warning | critical | offline | maintenance | unknown
    pub status: Option<String>,
    /// web | api | database | cache | monitoring | backup | security | firewall | other
    #[serde(rename = "type")]
    pub server_type: Option<String>,
    /// self | agent | simulated | static
    pub source: Option<String>,
    /// Case-insensitive text in id, name, hostname, ip, role or location.
    pub q: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    page: usize,
    limit: usize,
    pub total: usize,
    total_pages: usize,
    has_next: bool,
    has_prev: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ServerList {
    pub success: bool,
    pub data: Vec<ServerView>,
    pub summary: Summary,
    pub pagination: Pagination,
    pub timestamp: String,
}

#[derive(Serialize, ToSchema)]
pub struct ServerBody<T> {
    success: bool,
    data: T,
    timestamp: String,
}

fn ok<T>(data: T) -> ServerBody<T> {
    ServerBody { success: true, data, timestamp: clock::now_rfc3339() }
}

fn enum_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn matches(v: &ServerView, q: &ListQuery) -> bool {
    let eq = |want: &Option<String>, have: String| want.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(&have));
    if !eq(&q.status, enum_str(&v.status)) || !eq(&q.server_type, enum_str(&v.server_type)) {
        return false;
    }
    if !eq(&q.source, enum_str(&v.source)) {
        return false;
    }
    match &q.q {
        Some(text) if !text.is_empty() => {
            let t = text.to_lowercase();
            [&v.id, &v.name, &v.hostname, &v.ip, &v.role, &v.location].iter().any(|f| f.to_lowercase().contains(&t))
        }
        _ => true,
    }
}

fn check_query(q: &ListQuery) -> Result<(), ApiError> {
    const STATUS: &[&str] = &["online", "warning", "critical", "offline", "maintenance", "unknown"];
    const TYPES: &[&str] =
        &["web", "api", "database", "cache", "monitoring", "backup", "security", "firewall", "other"];
    const SOURCES: &[&str] = &["self", "agent", "simulated", "static"];
    let mut errors = Vec::new();
    for (field, value, allowed) in
        [("status", &q.status, STATUS), ("type", &q.server_type, TYPES), ("source", &q.source, SOURCES)]
    {
        if let Some(v) = value
            && !allowed.iter().any(|a| a.eq_ignore_ascii_case(v))
        {
            errors.push(FieldError::new(field, format!("must be one of {}", allowed.join(", "))));
        }
    }
    if q.limit.is_some_and(|l| l == 0 || l > MAX_LIMIT) {
        errors.push(FieldError::new("limit", format!("must be 1-{MAX_LIMIT}")));
    }
    if q.page == Some(0) {
        errors.push(FieldError::new("page", "starts at 1"));
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// The list as `/api/servers` answers it (also used by the MCP tools).
pub fn listing(state: &AppState, q: ListQuery, paginate: bool) -> Result<ServerList, ApiError> {
    check_query(&q)?;
    let snapshots = state.fleet.snapshots(clock::now_millis());
    let views: Vec<&ServerView> = snapshots.iter().map(|s| &s.view).filter(|v| matches(v, &q)).collect();
    let summary = Summary::of(&views);
    let total = views.len();
    let (page, limit) = if paginate { (q.page.unwrap_or(1), q.limit.unwrap_or(50)) } else { (1, total.max(1)) };
    let data: Vec<ServerView> = views.into_iter().skip((page - 1) * limit).take(limit).cloned().collect();
    let total_pages = total.div_ceil(limit);
    Ok(ServerList {
        success: true,
        data,
        summary,
        pagination: Pagination { page, limit, total, total_pages, has_next: page < total_pages, has_prev: page > 1 },
        timestamp: clock::now_rfc3339(),
    })
}

/// The fleet, filtered and paginated, with a status summary of the filtered set.
#[utoipa::path(get, path = "/api/servers", tag = "servers", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = ServerList), (status = 422, body = super::error::ErrorBody)))]
async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<ServerList>, ApiError> {
    listing(&state, q, true).map(Json)
}

/// Every server (filters apply; no pagination).
#[utoipa::path(get, path = "/api/servers/all", tag = "servers", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = ServerList)))]
async fn list_all(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<ServerList>, ApiError> {
    listing(&state, q, false).map(Json)
}

/// One server with system info, interfaces, top processes, per-core CPU and disks.
#[utoipa::path(get, path = "/api/servers/{id}", tag = "servers", security(("bearer" = [])),
    responses((status = 200, body = ServerBody<detail::ServerDetail>), (status = 404, body = super::error::ErrorBody)))]
async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let now = clock::now_millis();
    let snap = state.fleet.get(&id, now).ok_or_else(|| ApiError::not_found(format!("server `{id}` not found")))?;
    Ok(Json(ok(detail::ServerDetail::of(&snap, state.fleet.simulation_seed()))).into_response())
}

fn fleet_error(e: FleetError) -> ApiError {
    match e {
        FleetError::NotFound(_) => ApiError::not_found(e.to_string()),
        FleetError::Duplicate(_) | FleetError::Simulated(_) => ApiError::Conflict(e.to_string()),
        FleetError::Full(_) => ApiError::Unavailable { message: e.to_string(), retry_after: None },
    }
}

pub(crate) fn kv_key(id: &str) -> String {
    format!("fleet/{id}")
}

async fn persist(state: &AppState, meta: &ServerMeta) -> Result<(), ApiError> {
    let value = serde_json::to_value(meta).map_err(|e| ApiError::Internal(e.into()))?;
    state.store.put_kv(&kv_key(&meta.id), &value).await.map_err(|e| ApiError::Internal(e.into()))
}

/// Registers a server by hand (`unknown` until data arrives for it).
#[utoipa::path(post, path = "/api/servers", tag = "servers", request_body = NewServer, security(("bearer" = [])),
    responses((status = 201, body = ServerBody<ServerView>), (status = 409, body = super::error::ErrorBody),
              (status = 422, body = super::error::ErrorBody)))]
async fn create(State(state): State<AppState>, ApiJson(body): ApiJson<NewServer>) -> Result<Response, ApiError> {
    body.validate().map_err(ApiError::validation)?;
    let meta = state.fleet.register(body.into_meta()).map_err(fleet_error)?;
    if let Err(e) = persist(&state, &meta).await {
        let _ = state.fleet.remove(&meta.id);
        return Err(e);
    }
    let snap = state.fleet.get(&meta.id, clock::now_millis()).ok_or_else(|| ApiError::not_found("vanished"))?;
    Ok((StatusCode::CREATED, Json(ok(snap.view))).into_response())
}

/// Changes a server's description (`maintenance: true` shows it in maintenance).
#[utoipa::path(patch, path = "/api/servers/{id}", tag = "servers", request_body = ServerPatch, security(("bearer" = [])),
    responses((status = 200, body = ServerBody<ServerView>), (status = 404, body = super::error::ErrorBody),
              (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ServerPatch>,
) -> Result<Json<ServerBody<ServerView>>, ApiError> {
    patch.validate().map_err(ApiError::validation)?;
    let meta = state.fleet.modify(&id, |m| patch.apply(m)).map_err(fleet_error)?;
    persist(&state, &meta).await?;
    let snap = state.fleet.get(&id, clock::now_millis()).ok_or_else(|| ApiError::not_found("vanished"))?;
    Ok(Json(ok(snap.view)))
}

/// Removes a server and its history.
#[utoipa::path(delete, path = "/api/servers/{id}", tag = "servers", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)))]
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.fleet.remove(&id).map_err(fleet_error)?;
    let store = &state.store;
    store.delete_kv(&kv_key(&id)).await.map_err(|e| ApiError::Internal(e.into()))?;
    store.delete_server(&id).await.map_err(|e| ApiError::Internal(e.into()))?;
    Ok(StatusCode::NO_CONTENT)
}
