//! `/api/alerts`: alerts with filters and a cursor, acknowledgement, and the rules and silences that
//! drive them. Each handler calls one alerting operation (which owns the store-first rule).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::derived::{NewRule, NewSilence, RulePatch};
use super::envelope::{Envelope, ok};
use super::error::{ApiError, ErrorBody, FieldError};
use super::json::{ApiObject, ApiQuery};
use super::state::AppState;
use crate::alerts::{Alert, AlertFilter, AlertState, Rule, Severity, Silence};
use crate::clock;
use crate::tokens::Principal;

const MAX_LIMIT: u32 = 500;

pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(explain))
        .routes(routes!(list_rules))
        .routes(routes!(list_silences))
}

pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ack))
        .routes(routes!(create_rule))
        .routes(routes!(update_rule, delete_rule))
        .routes(routes!(create_silence))
        .routes(routes!(delete_silence))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertPage {
    success: bool,
    data: Vec<Alert>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<AlertState>,
    #[serde(rename = "serverId")]
    #[param(rename = "serverId", max_length = 128)]
    server_id: Option<String>,
    severity: Option<Severity>,
    /// Items per page (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    #[param(max_length = 256)]
    cursor: Option<String>,
}

fn principal_name(p: Option<axum::Extension<Principal>>) -> String {
    p.map(|p| p.0.name).unwrap_or_default()
}

/// Alerts, active first (newest first), then resolved ones.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", params(ListQuery),
    responses((status = 200, body = AlertPage),
              (status = 422, description = "A bad query parameter, or a cursor that names no alert (start again)", body = ErrorBody)))]
async fn list(State(state): State<AppState>, ApiQuery(q): ApiQuery<ListQuery>) -> Result<Json<AlertPage>, ApiError> {
    let mut errors = Vec::new();
    if q.limit.is_some_and(|l| l == 0 || l > MAX_LIMIT) {
        errors.push(FieldError::new("limit", "must be 1-500"));
    }
    if q.server_id.as_ref().is_some_and(|s| s.chars().count() > 128) {
        errors.push(FieldError::new("serverId", "at most 128 characters"));
    }
    if q.cursor.as_ref().is_some_and(|c| c.chars().count() > 256) {
        errors.push(FieldError::new("cursor", "at most 256 characters"));
    }
    crate::validation::check(errors).map_err(ApiError::validation)?;
    let filter = AlertFilter { state: q.state, server_id: q.server_id, severity: q.severity };
    let limit = q.limit.unwrap_or(100) as usize;
    let (data, next_cursor) = state.alerting.list(&filter, q.cursor.as_deref(), limit)?;
    Ok(Json(AlertPage { success: true, data, next_cursor, timestamp: clock::now_rfc3339() }))
}

#[utoipa::path(get, path = "/api/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "An alert id", max_length = 256)),
    responses((status = 200, body = Envelope<Alert>), (status = 404, body = ErrorBody)))]
async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Envelope<Alert>>, ApiError> {
    Ok(ok(state.alerting.get(&id)?))
}

/// Acknowledges an active alert: it stops repeating notifications and still resolves as usual.
#[utoipa::path(post, path = "/api/alerts/{id}/ack", tag = "alerts",
    params(("id" = String, Path, description = "An alert id", max_length = 256)),
    responses((status = 200, body = Envelope<Alert>), (status = 404, body = ErrorBody)))]
async fn ack(
    State(state): State<AppState>,
    Path(id): Path<String>,
    principal: Option<axum::Extension<Principal>>,
) -> Result<Json<Envelope<Alert>>, ApiError> {
    Ok(ok(state.alerting.acknowledge(&id, &principal_name(principal), clock::now_millis())?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainBody {
    /// `ko` or `en` (default from `Accept-Language`).
    #[schema(value_type = Option<super::analyze::CatalogLang>)]
    lang: Option<String>,
}

/// Why an alert fired, in words.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    alert_id: String,
    answer: String,
    lang: String,
    /// The history window the explanation looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    window: Option<super::ai::Window>,
    #[schema(value_type = Vec<Object>)]
    thinking_steps: Vec<ai::local::Step>,
}

/// Why an alert fired, from its evidence: the rule and threshold, the values over the window, the
/// top processes when it fired, related anomalies and servers that moved with it. Reads only.
#[utoipa::path(post, path = "/api/alerts/{id}/explain", tag = "alerts",
    params(("id" = String, Path, max_length = 256)), request_body(content = Option<ExplainBody>, description = "Optional"),
    responses((status = 200, body = Envelope<Explanation>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn explain(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Envelope<Explanation>>, ApiError> {
    // The body is optional: none at all, `null` (what the document's optional body allows), or
    // `{"lang": ...}`.
    let body: ExplainBody = if body.iter().all(u8::is_ascii_whitespace) {
        ExplainBody::default()
    } else {
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
        if value.is_null() {
            ExplainBody::default()
        } else {
            crate::validation::from_value(value).map_err(ApiError::validation)?
        }
    };
    let lang = match body.lang {
        Some(l) if l == "ko" || l == "en" => l,
        Some(_) => {
            return Err(ApiError::validation(vec![super::error::FieldError::new("lang", "must be `ko` or `en`")]));
        }
        None => super::analyze::header_lang(&headers).code().to_owned(),
    };
    let answer = state
        .assistant
        .explain(&id, ai::local::Lang::parse(&lang))
        .await
        .ok_or_else(|| ApiError::not_found(format!("alert `{id}` not found")))?;
    Ok(ok(Explanation {
        alert_id: id,
        answer: answer.text,
        lang: answer.lang,
        window: super::ai::Window::of(answer.window),
        thinking_steps: answer.thinking_steps,
    }))
}

#[utoipa::path(get, path = "/api/alerts/rules", tag = "alerts",
    responses((status = 200, body = Envelope<Vec<Rule>>)))]
async fn list_rules(State(state): State<AppState>) -> Json<Envelope<Vec<Rule>>> {
    ok(state.alerting.rules())
}

/// Creates a rule; `id` is generated when absent.
#[utoipa::path(post, path = "/api/alerts/rules", tag = "alerts", request_body = NewRule,
    responses((status = 201, body = Envelope<Rule>),
              (status = 409, description = "The id is taken, or there are 200 rules already", body = ErrorBody),
              (status = 422, description = "A field is invalid, including what the schema cannot say: `clearThreshold` on the clear side of `threshold` (at most it for `>`/`>=`, at least it for `<`/`<=`), `window.n` at most `window.m`, `checkId` only with a `check.*` metric, and `channels` that exist", body = ErrorBody)))]
async fn create_rule(
    State(state): State<AppState>,
    ApiObject(body): ApiObject,
) -> Result<(StatusCode, Json<Envelope<Rule>>), ApiError> {
    Ok((StatusCode::CREATED, ok(state.alerting.create_rule(body, clock::now_millis()).await?)))
}

/// Changes a rule: the fields sent replace the rule's (`id` cannot change).
#[utoipa::path(patch, path = "/api/alerts/rules/{id}", tag = "alerts", request_body = RulePatch,
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = Envelope<Rule>), (status = 404, body = ErrorBody),
              (status = 422, description = "The rule the change makes is invalid (the same rules as creation), or `id` differs from the path", body = ErrorBody)))]
async fn update_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiObject(patch): ApiObject,
) -> Result<Json<Envelope<Rule>>, ApiError> {
    Ok(ok(state.alerting.update_rule(&id, patch, clock::now_millis()).await?))
}

/// Deletes a rule; its active alerts end without a notice.
#[utoipa::path(delete, path = "/api/alerts/rules/{id}", tag = "alerts",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_rule(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.alerting.delete_rule(&id, clock::now_millis()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/alerts/silences", tag = "alerts",
    responses((status = 200, body = Envelope<Vec<Silence>>)))]
async fn list_silences(State(state): State<AppState>) -> Json<Envelope<Vec<Silence>>> {
    ok(state.alerting.silences())
}

/// Creates a silence; `id` is generated, `startsAt` defaults to now and `createdBy` to the token's name.
#[utoipa::path(post, path = "/api/alerts/silences", tag = "alerts", request_body = NewSilence,
    responses((status = 201, body = Envelope<Silence>),
              (status = 409, description = "The id is taken, or there are 500 silences already", body = ErrorBody),
              (status = 422, description = "A field is invalid, including `endsAt` not after `startsAt` (now when absent)", body = ErrorBody)))]
async fn create_silence(
    State(state): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    ApiObject(body): ApiObject,
) -> Result<(StatusCode, Json<Envelope<Silence>>), ApiError> {
    let silence = state.alerting.create_silence(body, &principal_name(principal), clock::now_millis()).await?;
    Ok((StatusCode::CREATED, ok(silence)))
}

#[utoipa::path(delete, path = "/api/alerts/silences/{id}", tag = "alerts",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_silence(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.alerting.delete_silence(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
