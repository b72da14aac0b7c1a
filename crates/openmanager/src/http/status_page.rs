//! The status page: `GET /status` (HTML) and `GET /status.json`, public and served from memory with
//! an `ETag` (a matching `If-None-Match` gets 304) in the brotli or gzip form made when the page was
//! built; and its settings, `GET|PATCH /api/status-page` with `admin`. A plain GET of the page is
//! usually answered before routing (`short_path`), with the same [`answer`].

use std::sync::OnceLock;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::coding::{self, Encoding};
use super::envelope::{Envelope, ok};
use super::error::{ApiError, ErrorBody};
use super::json::{ApiJson, ApiObject};
use super::state::AppState;
use crate::status_page::incidents::{Incident, NewNote};
use crate::status_page::page::Page;
use crate::status_page::{Rendered, Settings};

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

/// The page's Content-Security-Policy, made once (it depends only on the page's own style).
fn csp() -> HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| {
        HeaderValue::from_str(&crate::status_page::page::content_security_policy())
            .unwrap_or(HeaderValue::from_static("default-src 'none'"))
    })
    .clone()
}

/// The answer to a public GET of the page (`json`: `/status.json`) while it is on: 304 when
/// `If-None-Match` names the current `ETag`, else the form in the best coding the client accepts
/// (compressed when the page was built), with the security headers. The same whether the request
/// took the short path (see `short_path`) or the router, so both give one answer.
pub fn answer(page: &Rendered, headers: &HeaderMap, json: bool) -> Response {
    let etag = HeaderValue::from_str(&page.etag).ok();
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == page.etag || t.trim() == "*");
    let (mut res, form) = if matches {
        (StatusCode::NOT_MODIFIED.into_response(), None)
    } else {
        let (form, kind) =
            if json { (&page.json, "application/json") } else { (&page.html, "text/html; charset=utf-8") };
        // brotli, else gzip, else plain; a coding whose compression failed (empty) is skipped.
        let accepted = coding::accepted(headers);
        let coded = if accepted.br && !form.br.is_empty() {
            Some((Encoding::Br, &form.br))
        } else if accepted.gzip && !form.gzip.is_empty() {
            Some((Encoding::Gzip, &form.gzip))
        } else {
            None
        };
        let mut res = match coded {
            Some((enc, bytes)) => {
                let mut r = Response::new(Body::from(bytes.clone()));
                r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc.name()));
                r
            }
            None => Response::new(Body::from(form.plain.clone())),
        };
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        (res, Some(json))
    };
    let h = res.headers_mut();
    if let Some(etag) = etag {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=30"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if form == Some(false) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp());
    }
    res
}

fn serve(state: &AppState, headers: &HeaderMap, json: bool) -> Result<Response, ApiError> {
    let page = state.status_page.rendered().ok_or_else(off)?;
    Ok(answer(&page, headers, json))
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
