//! The status page: `GET /status` (HTML) and `GET /status.json`, public and served from memory with
//! an `ETag` (a matching `If-None-Match` gets 304; the compression layer compresses the rest); and
//! its settings, `GET|PATCH /api/status-page` with `admin`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::envelope::{Envelope, ok};
use super::error::{ApiError, ErrorBody};
use super::json::{ApiJson, ApiObject};
use super::state::AppState;
use crate::status_page::Settings;
use crate::status_page::incidents::{Incident, NewNote};
use crate::status_page::page::Page;

pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status_html)).routes(routes!(status_json))
}

pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(list_incidents))
        .routes(routes!(add_note))
}

fn off() -> ApiError {
    ApiError::not_found("the status page is not enabled")
}

fn serve(state: &AppState, headers: &HeaderMap, json: bool) -> Result<Response, ApiError> {
    let page = state.status_page.rendered().ok_or_else(off)?;
    let etag = HeaderValue::from_str(&page.etag).map_err(|e| ApiError::Internal(e.into()))?;
    let cache = HeaderValue::from_static("public, max-age=30");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == page.etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)]).into_response());
    }
    let (plain, gz, kind) = if json {
        (&page.json, &page.json_gz, "application/json")
    } else {
        (&page.html, &page.html_gz, "text/html; charset=utf-8")
    };
    let common =
        [(header::CONTENT_TYPE, HeaderValue::from_static(kind)), (header::ETAG, etag), (header::CACHE_CONTROL, cache)];
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    // Compressed once when the page was built; the compression layer leaves an encoded body alone.
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.split(';').next().is_some_and(|n| n.trim() == "gzip")));
    if gzip_ok && !gz.is_empty() {
        let encoding = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return Ok((common, [vary, encoding], gz.clone()).into_response());
    }
    Ok((common, [vary], plain.clone()).into_response())
}

/// The public status page (HTML, works without JavaScript). 404 while it is off; a request whose
/// `If-None-Match` holds the current `ETag` gets 304.
#[utoipa::path(get, path = "/status", tag = "status",
    responses((status = 200, description = "The page", content_type = "text/html"),
              (status = 404, description = "The status page is off", body = ErrorBody)))]
async fn status_html(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    serve(&state, &headers, false)
}

/// The public status page's content. 404 while it is off; 304 for a matching `If-None-Match`.
#[utoipa::path(get, path = "/status.json", tag = "status",
    responses((status = 200, body = Page),
              (status = 404, description = "The status page is off", body = ErrorBody)))]
async fn status_json(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    serve(&state, &headers, true)
}

#[utoipa::path(get, path = "/api/status-page", tag = "status",
    responses((status = 200, body = Envelope<Settings>)))]
async fn get_settings(State(state): State<AppState>) -> Json<Envelope<Settings>> {
    ok(state.status_page.settings())
}

/// Changes what the page shows; the page is rebuilt at once.
#[utoipa::path(patch, path = "/api/status-page", tag = "status", request_body = super::docs::derived::StatusPagePatch,
    responses((status = 200, body = Envelope<Settings>), (status = 422, body = ErrorBody)))]
async fn update_settings(
    State(state): State<AppState>,
    ApiObject(patch): ApiObject,
) -> Result<Json<Envelope<Settings>>, ApiError> {
    let settings = state.status_page.update(patch).await?;
    crate::jobs::status_page::refresh(&state.services).await?;
    Ok(ok(settings))
}

/// The status page's incidents, newest first (at most 200 are kept: open ones, and the newest
/// resolved), with their notes. Opened by listed checks going down and by alerts of listed items.
#[utoipa::path(get, path = "/api/status-page/incidents", tag = "status",
    responses((status = 200, body = Envelope<Vec<Incident>>)))]
async fn list_incidents(State(state): State<AppState>) -> Json<Envelope<Vec<Incident>>> {
    ok(state.status_page.incidents.list())
}

/// Adds an operator's note to an incident (at most 20 per incident, 1-1000 characters each); the
/// public page shows it (escaped) from its next rebuild, which starts at once.
#[utoipa::path(post, path = "/api/status-page/incidents/{id}/notes", tag = "status", request_body = NewNote,
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 201, body = Envelope<Incident>),
              (status = 404, description = "No such incident", body = ErrorBody),
              (status = 409, description = "The incident has 20 notes already", body = ErrorBody),
              (status = 422, description = "`text` is empty, too long or has control characters", body = ErrorBody)))]
async fn add_note(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(note): ApiJson<NewNote>,
) -> Result<(StatusCode, Json<Envelope<Incident>>), ApiError> {
    let incident = state.status_page.incidents.add_note(&id, note, crate::clock::now_millis()).await?;
    // The note is saved; a failed rebuild is retried by the page's own job.
    if let Err(e) = crate::jobs::status_page::refresh(&state.services).await {
        tracing::warn!(error = format!("{e:#}"), "cannot rebuild the status page after a note");
    }
    Ok((StatusCode::CREATED, ok(incident)))
}
