//! The analyses service: the `analysis` crate's statistics over the fleet's history, with bounded
//! memory and work. At most [`MAX_RUNNING`] analyses run at once and the rest wait in a bounded job
//! table; each loads its history inside its job, after choosing how many points it can afford
//! ([`MAX_TOTAL_POINTS`] across every series it reads), so twenty concurrent requests over a large
//! fleet hold two analyses' worth of data, not twenty. A request waits [`SYNC_WAIT`] for its report;
//! past that it gets the job to fetch later.

pub mod request;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use analysis::{AnalysisType, Input, Lang, Options, Point, Report, ServerSeries, Specs};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{Semaphore, oneshot};
use utoipa::ToSchema;

use crate::clock;
use crate::fleet::Fleet;
use crate::lifecycle::supervisor::Supervisor;
pub use request::{AnalyzeRequest, Plan};

/// How long a request waits for its analysis before answering with a job.
pub const SYNC_WAIT: Duration = Duration::from_secs(3);
/// Analyses computing at once; the others wait their turn (queued).
pub const MAX_RUNNING: usize = 2;
/// Jobs kept (queued, running and finished); the oldest finished ones go first.
pub const MAX_JOBS: usize = 64;
/// A finished job is kept this long.
const JOB_TTL_MS: i64 = 10 * 60_000;
/// Points one analysis loads across all its series (about 16 bytes each as loaded).
pub const MAX_TOTAL_POINTS: usize = 1_000_000;
/// Points per series at most, whatever the budget allows: one server's analysis may look closely;
/// one across servers compares shapes, for which a thousand points are plenty.
const MAX_SERIES_POINTS: usize = 5_000;
const MAX_FLEET_SERIES_POINTS: usize = 1_000;
/// Points per series at least, so a fleet-wide analysis still sees a shape.
const MIN_SERIES_POINTS: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum AnalysesError {
    #[error("server `{0}` not found")]
    NotFound(String),
    #[error("{0} analyses are waiting or running; retry shortly")]
    Full(usize),
    #[error("the analysis stopped: {0}")]
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

/// An analysis as a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: JobStatus,
    pub created_at: String,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Report>,
    pub error: Option<String>,
    #[serde(skip)]
    created_ms: i64,
}

/// What a submitted analysis became within the wait.
pub enum Submitted {
    Done(Report),
    Pending(Job),
}

pub struct Analyses {
    fleet: Arc<Fleet>,
    supervisor: Supervisor,
    jobs: Mutex<HashMap<String, Job>>,
    running: Arc<Semaphore>,
}

impl Analyses {
    pub fn new(fleet: Arc<Fleet>, supervisor: Supervisor) -> Self {
        Self { fleet, supervisor, jobs: Mutex::default(), running: Arc::new(Semaphore::new(MAX_RUNNING)) }
    }

    /// Checks a plan against the fleet (an unknown server is refused before any work).
    pub fn check(&self, plan: &Plan) -> Result<(), AnalysesError> {
        match &plan.server_id {
            Some(id) if self.fleet.registry().source_of(id).is_none() => Err(AnalysesError::NotFound(id.clone())),
            _ => Ok(()),
        }
    }

    pub fn job(&self, id: &str) -> Option<Job> {
        self.jobs.lock().get(id).cloned()
    }

    fn insert(&self, job: Job) -> Result<(), AnalysesError> {
        let mut jobs = self.jobs.lock();
        let now = clock::now_millis();
        let finished = |j: &Job| matches!(j.status, JobStatus::Done | JobStatus::Failed);
        jobs.retain(|_, j| !finished(j) || now - j.created_ms < JOB_TTL_MS);
        if jobs.len() >= MAX_JOBS {
            let oldest = jobs.values().filter(|j| finished(j)).min_by_key(|j| j.created_ms).map(|j| j.id.clone());
            match oldest {
                Some(id) => {
                    jobs.remove(&id);
                }
                None => return Err(AnalysesError::Full(MAX_JOBS)),
            }
        }
        jobs.insert(job.id.clone(), job);
        Ok(())
    }

    fn set(&self, id: &str, f: impl FnOnce(&mut Job)) {
        if let Some(job) = self.jobs.lock().get_mut(id) {
            f(job);
        }
    }

    /// Queues an analysis and waits up to `wait` for its report; past that, the job to poll.
    pub async fn submit(self: &Arc<Self>, plan: Plan, wait: Duration) -> Result<Submitted, AnalysesError> {
        self.check(&plan)?;
        let now = clock::now_millis();
        let job = Job {
            id: crate::validation::new_id("analysis"),
            kind: plan.kind.as_str().to_owned(),
            status: JobStatus::Queued,
            created_at: clock::millis_rfc3339(now),
            result: None,
            error: None,
            created_ms: now,
        };
        self.insert(job.clone())?;
        let (tx, rx) = oneshot::channel();
        let (me, id) = (self.clone(), job.id.clone());
        // The task records the result in the job table too, so a request that stopped waiting
        // finds its report later. It holds no data until it has a place to run.
        self.supervisor.spawn_task(async move {
            let outcome = me.run_job(&id, plan).await;
            me.set(&id, |j| match &outcome {
                Ok(r) => (j.status, j.result) = (JobStatus::Done, Some(r.clone())),
                Err(e) => (j.status, j.error) = (JobStatus::Failed, Some(e.to_string())),
            });
            let _ = tx.send(outcome);
        });
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(Ok(report))) => Ok(Submitted::Done(report)),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(AnalysesError::Failed("the server is stopping".into())),
            Err(_) => Ok(Submitted::Pending(self.job(&job.id).unwrap_or(job))),
        }
    }

    /// Runs an analysis to its end (for tools, which cannot poll), under the same bound.
    pub async fn run(self: &Arc<Self>, plan: Plan) -> Result<Report, AnalysesError> {
        match self.submit(plan, Duration::from_secs(120)).await? {
            Submitted::Done(report) => Ok(report),
            Submitted::Pending(job) => Err(AnalysesError::Failed(format!("job {} did not finish in time", job.id))),
        }
    }

    async fn run_job(&self, id: &str, plan: Plan) -> Result<Report, AnalysesError> {
        let _permit = self.running.clone().acquire_owned().await.map_err(|_| AnalysesError::Failed("closed".into()))?;
        self.set(id, |j| j.status = JobStatus::Running);
        let input = self.gather(&plan).await;
        let opts = options(&plan);
        let kind = plan.kind;
        let lang = plan.lang;
        tokio::task::spawn_blocking(move || analysis::run(kind, &input, lang, &opts))
            .await
            .map_err(|e| AnalysesError::Failed(e.to_string()))
    }

    /// The series the analyses read: every server when comparing peers (correlation, or a fleet-wide
    /// analysis), else one; each metric over the range, within the point budget.
    async fn gather(&self, plan: &Plan) -> Input {
        let now_ms = clock::now_millis();
        let from = now_ms - plan.range_ms;
        let wanted: Vec<analysis::Metric> = match (plan.kind, plan.metric) {
            (AnalysisType::Health, _) | (_, None) => analysis::Metric::ALL.to_vec(),
            (_, Some(m)) => vec![m],
        };
        let views: Vec<_> = self
            .fleet
            .views()
            .into_iter()
            .filter(|v| plan.kind == AnalysisType::Correlation || plan.server_id.as_deref().is_none_or(|id| id == v.id))
            .collect();
        let series_count = (views.len() * wanted.len()).max(1);
        let cap = if views.len() > 1 { MAX_FLEET_SERIES_POINTS } else { MAX_SERIES_POINTS };
        let per_series = (MAX_TOTAL_POINTS / series_count).clamp(MIN_SERIES_POINTS, cap);
        let fleet_metrics: Vec<_> = wanted.iter().map(|m| request::fleet_metric(*m)).collect();
        let mut servers = Vec::with_capacity(views.len());
        for view in views {
            let mut metrics: BTreeMap<analysis::Metric, Vec<Point>> = BTreeMap::new();
            match self.fleet.series(&view.id, &fleet_metrics, from, now_ms, per_series).await {
                Ok(all) => {
                    for ((_, points), m) in all.into_iter().zip(&wanted) {
                        metrics
                            .insert(*m, points.into_iter().map(|(t, v)| Point::new(t.div_euclid(1000), v)).collect());
                    }
                }
                Err(e) => tracing::warn!(server = view.id, error = %e, "history for an analysis failed"),
            }
            servers.push(ServerSeries {
                id: view.id,
                name: view.name,
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
