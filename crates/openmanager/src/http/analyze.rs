//! `/api/ai/analyze`: the `analysis` crate's statistics over the fleet's history (health, anomaly,
//! prediction, pattern, correlation, optimization), with findings in Korean or English. A quick
//! analysis answers at once; one that takes longer than [`SYNC_WAIT`] answers 202 with a job,
//! fetched at `GET /api/ai/analyze/{id}` from a bounded table whose entries expire.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use analysis::{AnalysisType, Input, Lang, Metric, Options, Point, Report, ServerSeries, Specs};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody, FieldError};
use super::json::ApiJson;
use crate::clock;
use crate::fleet::model::Source;
use crate::fleet::simulated;
use crate::state::AppState;
use protocol::metric;

/// How long a request waits for its analysis before answering 202 with a job.
pub const SYNC_WAIT: Duration = Duration::from_secs(3);
/// Jobs kept; the oldest finished ones go first.
const MAX_JOBS: usize = 64;
/// A finished job is kept this long.
const JOB_TTL_MS: i64 = 10 * 60_000;
/// Points per series read from the store (the analyses downsample further as they need).
const MAX_POINTS: usize = 5_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analyze, catalog)).routes(routes!(job))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyzeBody {
    /// health | anomaly | prediction | pattern | correlation | optimization
    #[serde(rename = "type")]
    pub kind: String,
    /// One server (default: the whole fleet).
    pub server_id: Option<String>,
    /// cpu | memory | disk | load1 | networkIn | networkOut
    pub metric: Option<String>,
    /// 1h | 6h | 24h | 7d | 30d (default 24h; 7d or more for daily patterns).
    pub time_range: Option<String>,
    /// The question that led here (kept for the web app; analyses do not parse it).
    pub query: Option<String>,
    /// ko | en (default from `Accept-Language`).
    pub lang: Option<String>,
}

/// A job of a long analysis.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// running | done | failed
    pub status: &'static str,
    pub created_at: String,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Report>,
    pub error: Option<String>,
    #[serde(skip)]
    created_ms: i64,
}

/// The job table.
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, Job>>);

impl Jobs {
    fn insert(&self, job: Job) -> Result<(), ApiError> {
        let mut jobs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = clock::now_millis();
        jobs.retain(|_, j| j.status == "running" || now - j.created_ms < JOB_TTL_MS);
        if jobs.len() >= MAX_JOBS {
            let oldest =
                jobs.values().filter(|j| j.status != "running").min_by_key(|j| j.created_ms).map(|j| j.id.clone());
            match oldest {
                Some(id) => {
                    jobs.remove(&id);
                }
                None => {
                    return Err(ApiError::Unavailable {
                        message: format!("{MAX_JOBS} analyses are running; retry shortly"),
                        retry_after: Some(5),
                    });
                }
            }
        }
        jobs.insert(job.id.clone(), job);
        Ok(())
    }

    fn finish(&self, id: &str, outcome: Result<Report, String>) {
        let mut jobs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(job) = jobs.get_mut(id) {
            match outcome {
                Ok(r) => (job.status, job.result) = ("done", Some(r)),
                Err(e) => (job.status, job.error) = ("failed", Some(e)),
            }
        }
    }

    fn get(&self, id: &str) -> Option<Job> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }
}

fn range_secs(s: &str) -> Option<i64> {
    Some(match s {
        "1h" => 3_600,
        "6h" => 6 * 3_600,
        "24h" | "1d" => 86_400,
        "7d" => 7 * 86_400,
        "30d" => 30 * 86_400,
        _ => return None,
    })
}

/// The store's names for an analysis metric.
fn store_name(m: Metric) -> &'static str {
    match m {
        Metric::Cpu => metric::CPU,
        Metric::Memory => metric::MEMORY,
        Metric::Disk => metric::DISK,
        Metric::Load1 => metric::LOAD1,
        Metric::NetworkIn => metric::NET_RX,
        Metric::NetworkOut => metric::NET_TX,
    }
}

/// The language from the body, else `Accept-Language`, else English.
pub fn lang_of(explicit: Option<&str>, headers: &HeaderMap) -> Lang {
    match explicit {
        Some(l) => Lang::parse(l),
        None => headers.get("accept-language").and_then(|v| v.to_str().ok()).map_or(Lang::En, Lang::parse),
    }
}

/// A checked request, ready to gather.
pub struct Plan {
    pub kind: AnalysisType,
    pub server_id: Option<String>,
    pub metric: Option<Metric>,
    pub range_secs: i64,
    pub lang: Lang,
}

impl Plan {
    pub fn check(state: &AppState, body: &AnalyzeBody, lang: Lang) -> Result<Plan, ApiError> {
        let mut errors = Vec::new();
        let kind = AnalysisType::parse(&body.kind).map_err(|_| {
            errors.push(FieldError::new(
                "type",
                "must be one of health, anomaly, prediction, pattern, correlation, optimization",
            ))
        });
        let metric = match body.metric.as_deref() {
            None => Ok(None),
            Some(m) => Metric::parse(m).map(Some).map_err(|_| {
                errors.push(FieldError::new("metric", "must be one of cpu, memory, disk, load1, networkIn, networkOut"))
            }),
        };
        let range = match body.time_range.as_deref() {
            None => Some(86_400),
            Some(r) => range_secs(r),
        };
        if range.is_none() {
            errors.push(FieldError::new("timeRange", "must be one of 1h, 6h, 24h, 7d, 30d"));
        }
        if let (Ok(kind), Ok(metric), Some(range)) = (kind, metric, range)
            && errors.is_empty()
        {
            if let Some(id) = &body.server_id
                && state.fleet.source_of(id).is_none()
            {
                return Err(ApiError::not_found(format!("server `{id}` not found")));
            }
            return Ok(Plan { kind, server_id: body.server_id.clone(), metric, range_secs: range, lang });
        }
        Err(ApiError::validation(errors))
    }
}

/// The series the analyses read: every server (correlation compares peers even for one server),
/// each metric over the range, from the store or the simulation.
pub async fn gather(state: &AppState, plan: &Plan) -> Input {
    let now_ms = clock::now_millis();
    let from = now_ms - plan.range_secs * 1000;
    let snaps = state.fleet.snapshots(now_ms);
    let wanted: Vec<Metric> = match (plan.kind, plan.metric) {
        (AnalysisType::Health, _) | (_, None) => Metric::ALL.to_vec(),
        (_, Some(m)) => vec![m],
    };
    let mut servers = Vec::new();
    for snap in snaps {
        let view = &snap.view;
        let focus = plan.server_id.as_deref().is_none_or(|id| id == view.id);
        // Only correlation needs the others.
        if !focus && plan.kind != AnalysisType::Correlation {
            continue;
        }
        let mut metrics: BTreeMap<Metric, Vec<Point>> = BTreeMap::new();
        match (view.source, state.fleet.simulation_seed()) {
            (Source::Simulated, Some(seed)) => {
                let step = (plan.range_secs * 1000 / 1000).max(60_000);
                let lives = simulated::history(&view.id, from, now_ms, step, seed);
                for m in &wanted {
                    let points = lives
                        .iter()
                        .filter_map(|l| {
                            super::history::live_value(l, store_name(*m))
                                .map(|v| Point::new(l.at_ms.div_euclid(1000), v))
                        })
                        .collect();
                    metrics.insert(*m, points);
                }
            }
            _ => {
                let names: Vec<&str> = wanted.iter().map(|m| store_name(*m)).collect();
                match state.store.history(&view.id, &names, from, now_ms, MAX_POINTS, None).await {
                    Ok(h) => {
                        for m in &wanted {
                            let name = store_name(*m);
                            let points = h
                                .points
                                .iter()
                                .filter_map(|p| {
                                    p.values.get(name).map(|s| Point::new(p.timestamp_ms.div_euclid(1000), s.avg))
                                })
                                .collect();
                            metrics.insert(*m, points);
                        }
                    }
                    Err(e) => tracing::warn!(server = view.id, error = %e, "history for an analysis failed"),
                }
            }
        }
        servers.push(ServerSeries {
            id: view.id.clone(),
            name: view.name.clone(),
            server_type: view.server_type.as_str().to_owned(),
            specs: Specs {
                cpu_cores: view.specs.cpu_cores,
                memory_gb: view.specs.memory_gb,
                disk_gb: view.specs.disk_gb,
            },
            metrics,
        });
    }
    Input { servers, now: now_ms.div_euclid(1000) }
}

fn options(plan: &Plan) -> Options {
    Options {
        server_id: plan.server_id.clone(),
        metric: plan.metric,
        // Korean readers get Korea's time in the text; everyone else UTC.
        utc_offset_secs: if plan.lang == Lang::Ko { 9 * 3600 } else { 0 },
        ..Options::default()
    }
}

/// Runs an analysis on a blocking thread (it is CPU work), however long it takes.
pub async fn run(state: &AppState, plan: Plan) -> Result<Report, ApiError> {
    let input = gather(state, &plan).await;
    let opts = options(&plan);
    tokio::task::spawn_blocking(move || analysis::run(plan.kind, &input, plan.lang, &opts))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("analysis failed: {e}")))
}

/// Runs an analysis: findings with evidence, severity and recommendations.
#[utoipa::path(post, path = "/api/ai/analyze", tag = "ai", request_body = AnalyzeBody, security(("bearer" = [])),
    responses((status = 200, description = "The report", body = Object), (status = 202, body = Object),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn analyze(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AnalyzeBody>,
) -> Result<Response, ApiError> {
    let lang = lang_of(body.lang.as_deref(), &headers);
    let plan = Plan::check(&state, &body, lang)?;
    let kind = plan.kind;
    let input = gather(&state, &plan).await;
    let opts = options(&plan);
    let id = crate::http::alerts::new_id("analysis");
    let now = clock::now_millis();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The blocking thread also records the result in the job table, so a request that stopped
    // waiting (202) still finds its report later.
    let (jobs_state, job_id) = (state.clone(), id.clone());
    let job = Job {
        id: id.clone(),
        kind: kind.as_str().to_owned(),
        status: "running",
        created_at: clock::millis_rfc3339(now),
        result: None,
        error: None,
        created_ms: now,
    };
    state.analyze_jobs.insert(job.clone())?;
    tokio::task::spawn_blocking(move || {
        let report = analysis::run(kind, &input, lang, &opts);
        jobs_state.analyze_jobs.finish(&job_id, Ok(report.clone()));
        let _ = tx.send(report);
    });
    match tokio::time::timeout(SYNC_WAIT, rx).await {
        Ok(Ok(report)) => {
            Ok(Json(json!({"success": true, "data": report, "timestamp": clock::now_rfc3339()})).into_response())
        }
        Ok(Err(_)) => Err(ApiError::Internal(anyhow::anyhow!("the analysis thread stopped"))),
        Err(_) => {
            Ok((StatusCode::ACCEPTED, Json(json!({"success": true, "job": job, "timestamp": clock::now_rfc3339()})))
                .into_response())
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// `status` lists the analyses.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// ko | en
    lang: Option<String>,
}

/// `?type=status`: the analyses available, with a one-line description each.
#[utoipa::path(get, path = "/api/ai/analyze", tag = "ai", params(CatalogQuery), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn catalog(headers: HeaderMap, Query(q): Query<CatalogQuery>) -> Result<Response, ApiError> {
    if q.kind.as_deref().is_some_and(|k| k != "status") {
        return Err(ApiError::validation(vec![FieldError::new(
            "type",
            "only `status` is supported on GET; POST runs an analysis",
        )]));
    }
    let lang = lang_of(q.lang.as_deref(), &headers);
    Ok(Json(json!({
        "success": true,
        "status": "available",
        "data": {"analyses": AnalysisType::catalog(lang), "syncWaitMs": SYNC_WAIT.as_millis() as u64},
        "timestamp": clock::now_rfc3339(),
    }))
    .into_response())
}

/// A job's state, and its report once done.
#[utoipa::path(get, path = "/api/ai/analyze/{id}", tag = "ai", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn job(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let job = state
        .analyze_jobs
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("analysis job `{id}` not found or expired")))?;
    Ok(Json(json!({"success": true, "job": job, "timestamp": clock::now_rfc3339()})).into_response())
}
