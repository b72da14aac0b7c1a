//! `/api/ai/analyze`: runs an analysis through the analyses service and answers with its report, or
//! 202 with a job when it takes longer than the service's wait (or waits its turn);
//! `GET /api/ai/analyze/{id}` fetches a job; `GET /api/ai/analyze?type=status` lists the analyses.

use analysis::{AnalysisInfo, AnalysisType, Lang, Report};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody, FieldError};
use super::json::{ApiJson, ApiQuery};
use super::state::AppState;
use crate::analyses::{AnalyzeRequest, Job, SYNC_WAIT, Submitted};
use crate::clock;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analyze, catalog)).routes(routes!(job))
}

/// The language from `Accept-Language`, else English.
pub fn header_lang(headers: &HeaderMap) -> Lang {
    headers.get("accept-language").and_then(|v| v.to_str().ok()).map_or(Lang::En, Lang::parse)
}

#[derive(Serialize, ToSchema)]
pub struct ReportBody {
    success: bool,
    #[schema(value_type = Object)]
    data: Report,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
pub struct JobBody {
    success: bool,
    job: Job,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// Runs an analysis: findings with evidence, severity and recommendations.
#[utoipa::path(post, path = "/api/ai/analyze", tag = "ai", request_body = AnalyzeRequest,
    params(("Accept-Language" = Option<String>, Header, description = "`ko` for Korean findings (default English)")),
    responses((status = 200, description = "The report", body = ReportBody),
              (status = 202, description = "Queued or still running: poll `GET /api/ai/analyze/{id}`", body = JobBody),
              (status = 404, description = "`serverId` names no server", body = ErrorBody),
              (status = 503, description = "Too many analyses are waiting", body = ErrorBody)))]
async fn analyze(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AnalyzeRequest>,
) -> Result<Response, ApiError> {
    let plan = body.plan(header_lang(&headers)).map_err(ApiError::validation)?;
    match state.analyses.submit(plan, SYNC_WAIT).await? {
        Submitted::Done(report) => {
            Ok(Json(ReportBody { success: true, data: report, timestamp: clock::now_rfc3339() }).into_response())
        }
        Submitted::Pending(job) => {
            Ok((StatusCode::ACCEPTED, Json(JobBody { success: true, job, timestamp: clock::now_rfc3339() }))
                .into_response())
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// `status` lists the analyses.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<CatalogKind>)]
    kind: Option<String>,
    /// The language of the descriptions (default from `Accept-Language`).
    #[param(value_type = Option<CatalogLang>)]
    lang: Option<String>,
}

/// `analysis::AnalysisInfo`: one analysis the catalog lists.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AnalysisEntry {
    /// The `type` to ask for.
    #[serde(rename = "type")]
    #[schema(value_type = crate::analyses::request::AnalysisKind)]
    analysis: String,
    /// The name in the requested language.
    name: String,
    /// One line, in the requested language.
    description: String,
}

/// What `GET /api/ai/analyze` lists.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum CatalogKind {
    Status,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum CatalogLang {
    Ko,
    En,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    #[schema(value_type = Vec<AnalysisEntry>)]
    analyses: Vec<AnalysisInfo>,
    sync_wait_ms: u64,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogBody {
    success: bool,
    /// Always `available`.
    status: &'static str,
    data: Catalog,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// `?type=status`: the analyses available, with a one-line description each.
#[utoipa::path(get, path = "/api/ai/analyze", tag = "ai",
    params(CatalogQuery, ("Accept-Language" = Option<String>, Header, description = "`ko` for Korean descriptions")),
    responses((status = 200, body = CatalogBody), (status = 422, body = ErrorBody)))]
async fn catalog(headers: HeaderMap, ApiQuery(q): ApiQuery<CatalogQuery>) -> Result<Json<CatalogBody>, ApiError> {
    if q.kind.as_deref().is_some_and(|k| k != "status") {
        return Err(ApiError::validation(vec![FieldError::new(
            "type",
            "only `status` is supported on GET; POST runs an analysis",
        )]));
    }
    let lang = match q.lang.as_deref() {
        Some("ko") => Lang::Ko,
        Some("en") => Lang::En,
        Some(_) => return Err(ApiError::validation(vec![FieldError::new("lang", "must be `ko` or `en`")])),
        None => header_lang(&headers),
    };
    Ok(Json(CatalogBody {
        success: true,
        status: "available",
        data: Catalog { analyses: AnalysisType::catalog(lang), sync_wait_ms: SYNC_WAIT.as_millis() as u64 },
        timestamp: clock::now_rfc3339(),
    }))
}

/// A job's state, and its report once done.
#[utoipa::path(get, path = "/api/ai/analyze/{id}", tag = "ai",
    params(("id" = String, Path, description = "The job's id from a 202 answer", pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = JobBody), (status = 404, body = ErrorBody)))]
async fn job(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<JobBody>, ApiError> {
    let job = state
        .analyses
        .job(&id)
        .ok_or_else(|| ApiError::not_found(format!("analysis job `{id}` not found or expired")))?;
    Ok(Json(JobBody { success: true, job, timestamp: clock::now_rfc3339() }))
}
