//! `/api/alerts`: alerts with filters and a cursor, acknowledgement, and the rules and silences that
//! drive them. Edits go to the store first and then to the engine, one edit at a time, so what the
//! engine runs is always what a restart would load.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody, FieldError};
use super::json::{ApiJson, from_value, object_mut};
use crate::alerts::{Alert, AlertFilter, AlertState, Alerting, Rule, Severity, Silence, persist};
use crate::auth::Principal;
use crate::clock;
use crate::state::AppState;

/// Most rules and silences kept: each rule is evaluated against every server every interval.
pub const MAX_RULES: usize = 200;
pub const MAX_SILENCES: usize = 500;
const MAX_LIMIT: usize = 500;

pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
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
pub struct Body<T> {
    success: bool,
    data: T,
    timestamp: String,
}

pub fn ok<T>(data: T) -> Body<T> {
    Body { success: true, data, timestamp: clock::now_rfc3339() }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertPage {
    success: bool,
    data: Vec<Alert>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
    timestamp: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// pending | firing | resolved
    state: Option<String>,
    #[serde(rename = "serverId")]
    server_id: Option<String>,
    /// critical | warning | info
    severity: Option<String>,
    /// Items per page (default 100, at most 500).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

pub fn alerting(state: &AppState) -> Result<&std::sync::Arc<Alerting>, ApiError> {
    state
        .alerting
        .get()
        .ok_or_else(|| ApiError::Unavailable { message: "alerting is starting".into(), retry_after: Some(1) })
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    field: &str,
    raw: &Option<String>,
    allowed: &str,
) -> Result<Option<T>, ApiError> {
    raw.as_ref()
        .map(|s| {
            serde_json::from_value(Value::String(s.to_lowercase()))
                .map_err(|_| ApiError::validation(vec![FieldError::new(field, format!("must be one of {allowed}"))]))
        })
        .transpose()
}

/// Alerts, active first (newest first), then resolved ones.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertPage), (status = 422, body = ErrorBody)))]
async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<AlertPage>, ApiError> {
    let filter = AlertFilter {
        state: parse_enum::<AlertState>("state", &q.state, "pending, firing, resolved")?,
        server_id: q.server_id.clone(),
        severity: parse_enum::<Severity>("severity", &q.severity, "critical, warning, info")?,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let all = alerting(&state)?.engine().list(&filter, usize::MAX);
    let start = match &q.cursor {
        Some(c) => all.iter().position(|a| &a.id == c).map(|i| i + 1).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new("cursor", "unknown or expired cursor; start again")])
        })?,
        None => 0,
    };
    let page: Vec<Alert> = all.iter().skip(start).take(limit).cloned().collect();
    let next_cursor = (start + page.len() < all.len()).then(|| page.last().map(|a| a.id.clone())).flatten();
    Ok(Json(AlertPage { success: true, data: page, next_cursor, timestamp: clock::now_rfc3339() }))
}

#[utoipa::path(get, path = "/api/alerts/{id}", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, body = Body<Alert>), (status = 404, body = ErrorBody)))]
async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Body<Alert>>, ApiError> {
    let alert = alerting(&state)?.engine().get(&id).cloned();
    alert.map(|a| Json(ok(a))).ok_or_else(|| ApiError::not_found(format!("alert `{id}` not found")))
}

/// Acknowledges an active alert: it stops repeating notifications and still resolves as usual.
#[utoipa::path(post, path = "/api/alerts/{id}/ack", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, body = Body<Alert>), (status = 404, body = ErrorBody)))]
async fn ack(
    State(state): State<AppState>,
    Path(id): Path<String>,
    principal: Option<axum::Extension<Principal>>,
) -> Result<Json<Body<Alert>>, ApiError> {
    let by = principal.map(|p| p.0.name).unwrap_or_default();
    let alert = alerting(&state)?.engine().acknowledge(&id, &by, clock::now_millis());
    alert.map(|a| Json(ok(a))).ok_or_else(|| ApiError::not_found(format!("no active alert `{id}`")))
}

#[utoipa::path(get, path = "/api/alerts/rules", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, body = Body<Vec<Rule>>)))]
async fn list_rules(State(state): State<AppState>) -> Result<Json<Body<Vec<Rule>>>, ApiError> {
    Ok(Json(ok(alerting(&state)?.engine().rules().to_vec())))
}

/// A random id with a readable prefix.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    format!("{prefix}-{}", hex::encode(bytes))
}

fn internal(e: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(e.into())
}

/// Every channel a rule names must exist, or its alerts would go nowhere without a word.
fn check_channels(rule: &Rule, a: &Alerting) -> Result<(), ApiError> {
    let known: Vec<String> = a.notifier.channels().into_iter().map(|c| c.id).collect();
    let errors: Vec<FieldError> = rule
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| !known.contains(c))
        .map(|(i, c)| FieldError::new(format!("channels[{i}]"), format!("unknown channel `{c}`")))
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// Creates a rule; `id` is generated when absent.
#[utoipa::path(post, path = "/api/alerts/rules", tag = "alerts", request_body = Rule, security(("bearer" = [])),
    responses((status = 201, body = Body<Rule>), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rule(State(state): State<AppState>, ApiJson(mut body): ApiJson<Value>) -> Result<Response, ApiError> {
    let a = alerting(&state)?;
    let obj = object_mut(&mut body)?;
    obj.entry("id").or_insert_with(|| Value::String(new_id("rule")));
    let rule: Rule = from_value(body)?;
    rule.validate().map_err(ApiError::validation)?;
    check_channels(&rule, a)?;
    let _edit = a.edits.lock().await;
    let mut rules = a.engine().rules().to_vec();
    if rules.iter().any(|r| r.id == rule.id) {
        return Err(ApiError::Conflict(format!("a rule with id `{}` already exists", rule.id)));
    }
    if rules.len() >= MAX_RULES {
        return Err(ApiError::Conflict(format!("at most {MAX_RULES} rules; delete one first")));
    }
    persist::save_rule(&state.store, &rule).await.map_err(internal)?;
    rules.push(rule.clone());
    a.engine().set_rules(rules, clock::now_millis());
    Ok((StatusCode::CREATED, Json(ok(rule))).into_response())
}

/// Changes a rule: the fields sent replace the rule's (`id` cannot change).
#[utoipa::path(patch, path = "/api/alerts/rules/{id}", tag = "alerts", request_body = Object, security(("bearer" = [])),
    responses((status = 200, body = Body<Rule>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Json<Body<Rule>>, ApiError> {
    let a = alerting(&state)?;
    let Value::Object(patch) = patch else {
        return Err(ApiError::validation(vec![FieldError::new("body", "must be an object")]));
    };
    if patch.get("id").is_some_and(|v| v.as_str() != Some(id.as_str())) {
        return Err(ApiError::validation(vec![FieldError::new("id", "cannot be changed")]));
    }
    let _edit = a.edits.lock().await;
    let mut rules = a.engine().rules().to_vec();
    let i =
        rules.iter().position(|r| r.id == id).ok_or_else(|| ApiError::not_found(format!("rule `{id}` not found")))?;
    let mut merged = serde_json::to_value(&rules[i]).map_err(internal)?;
    if let Some(obj) = merged.as_object_mut() {
        obj.extend(patch);
    }
    let rule: Rule = from_value(merged)?;
    rule.validate().map_err(ApiError::validation)?;
    check_channels(&rule, a)?;
    persist::save_rule(&state.store, &rule).await.map_err(internal)?;
    rules[i] = rule.clone();
    a.engine().set_rules(rules, clock::now_millis());
    Ok(Json(ok(rule)))
}

/// Deletes a rule; its active alerts end without a notice.
#[utoipa::path(delete, path = "/api/alerts/rules/{id}", tag = "alerts", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_rule(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let a = alerting(&state)?;
    let _edit = a.edits.lock().await;
    let mut rules = a.engine().rules().to_vec();
    let before = rules.len();
    rules.retain(|r| r.id != id);
    if rules.len() == before {
        return Err(ApiError::not_found(format!("rule `{id}` not found")));
    }
    persist::delete_rule(&state.store, &id).await.map_err(internal)?;
    a.engine().set_rules(rules, clock::now_millis());
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/alerts/silences", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, body = Body<Vec<Silence>>)))]
async fn list_silences(State(state): State<AppState>) -> Result<Json<Body<Vec<Silence>>>, ApiError> {
    Ok(Json(ok(alerting(&state)?.engine().silences().to_vec())))
}

/// Creates a silence; `id` is generated, `startsAt` defaults to now and `createdBy` to the token's name.
#[utoipa::path(post, path = "/api/alerts/silences", tag = "alerts", request_body = Silence, security(("bearer" = [])),
    responses((status = 201, body = Body<Silence>), (status = 422, body = ErrorBody)))]
async fn create_silence(
    State(state): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    ApiJson(mut body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let a = alerting(&state)?;
    let obj = object_mut(&mut body)?;
    obj.entry("id").or_insert_with(|| Value::String(new_id("silence")));
    obj.entry("startsAt").or_insert_with(|| Value::String(clock::now_rfc3339()));
    let by = principal.map(|p| p.0.name).unwrap_or_default();
    obj.entry("createdBy").or_insert(Value::String(by));
    let silence: Silence = from_value(body)?;
    silence.validate().map_err(ApiError::validation)?;
    let now = clock::now_millis();
    let _edit = a.edits.lock().await;
    persist::prune_silences(&state.store, now).await.map_err(internal)?;
    let mut silences: Vec<Silence> =
        a.engine().silences().iter().filter(|s| s.ends_at.as_millisecond() > now).cloned().collect();
    if silences.iter().any(|s| s.id == silence.id) {
        return Err(ApiError::Conflict(format!("a silence with id `{}` already exists", silence.id)));
    }
    if silences.len() >= MAX_SILENCES {
        return Err(ApiError::Conflict(format!("at most {MAX_SILENCES} silences; delete one first")));
    }
    persist::save_silence(&state.store, &silence).await.map_err(internal)?;
    silences.push(silence.clone());
    a.engine().set_silences(silences);
    Ok((StatusCode::CREATED, Json(ok(silence))).into_response())
}

#[utoipa::path(delete, path = "/api/alerts/silences/{id}", tag = "alerts", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_silence(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let a = alerting(&state)?;
    let _edit = a.edits.lock().await;
    let mut silences = a.engine().silences().to_vec();
    let before = silences.len();
    silences.retain(|s| s.id != id);
    if silences.len() == before {
        return Err(ApiError::not_found(format!("silence `{id}` not found")));
    }
    persist::delete_silence(&state.store, &id).await.map_err(internal)?;
    a.engine().set_silences(silences);
    Ok(StatusCode::NO_CONTENT)
}
