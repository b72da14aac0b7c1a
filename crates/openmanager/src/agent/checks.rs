//! The agent's checks: the set the hub sends in each acknowledgement (saved in `checks.json`, so a
//! restarted agent resumes them while the hub is unreachable), a runner at `agent:<serverId>`, and
//! the results spooled (`checks.jsonl`, bounded like the samples) until a report carrying them is
//! acknowledged.

use std::path::{Path, PathBuf};

use probe::{CheckDef, CheckResult, Prober, ProberConfig, Runner, RunnerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::AgentError;
use super::spool::{Batch, Spool, SpoolConfig};

const STATE_FILE: &str = "checks.json";
const SPOOL_FILE: &str = "checks.jsonl";
/// Results kept while the hub is away: a day of 10 checks at one a minute.
pub const SPOOL_BOUNDS: SpoolConfig = SpoolConfig { max_samples: 20_000, max_bytes: 4 * 1024 * 1024 };
/// Probes at once on an agent (fewer than the hub's: an agent is someone else's server).
const MAX_CONCURRENT: usize = 4;
const MAX_CHECKS: usize = 200;

/// What the hub last said this agent runs.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assigned {
    server_id: String,
    checks: Vec<CheckDef>,
    /// The hub's hash of `checks` (absent from older hubs and older state files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
}

struct Running {
    location: String,
    runner: Runner<Prober>,
    results: mpsc::Receiver<CheckResult>,
    stop: CancellationToken,
}

pub struct AgentChecks {
    state_file: PathBuf,
    assigned: Assigned,
    running: Option<Running>,
    pub spool: Spool<CheckResult>,
    /// Stops every runner when the agent stops.
    cancel: CancellationToken,
}

impl AgentChecks {
    /// Opens the spool and resumes the checks saved by an earlier run.
    pub fn open(dir: &Path, cancel: CancellationToken) -> Result<Self, AgentError> {
        let spool = Spool::open_file(dir, SPOOL_FILE, SPOOL_BOUNDS)?;
        let state_file = dir.join(STATE_FILE);
        let assigned: Assigned = match std::fs::read(&state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(file = %state_file.display(), error = %e, "ignoring an unreadable checks file");
                Assigned::default()
            }),
            Err(_) => Assigned::default(),
        };
        let mut me = Self { state_file, assigned: Assigned::default(), running: None, spool, cancel };
        if !assigned.server_id.is_empty() {
            tracing::info!(checks = assigned.checks.len(), "resuming the checks the hub assigned last");
            me.apply(&assigned.server_id.clone(), assigned.checks, assigned.hash);
        }
        Ok(me)
    }

    /// The hub's hash of the set held, repeated in reports so the hub sends the list only when it
    /// changed (`None`: the hub sends it).
    pub fn hash(&self) -> Option<&str> {
        self.assigned.hash.as_deref()
    }

    /// Makes the running set exactly `defs` (those that validate), as the hub's acknowledgement
    /// says; `hash` is what the hub said of them.
    pub fn apply(&mut self, server_id: &str, defs: Vec<CheckDef>, hash: Option<String>) {
        let location = probe::agent_location(server_id);
        if self.running.as_ref().is_none_or(|r| r.location != location) {
            if let Some(old) = self.running.take() {
                old.stop.cancel();
            }
            match Prober::new(ProberConfig::default()) {
                Ok(prober) => {
                    let mut config = RunnerConfig::new(location.clone());
                    config.max_concurrent = MAX_CONCURRENT;
                    config.max_checks = MAX_CHECKS;
                    let (runner, results) = Runner::new(prober, config);
                    let stop = self.cancel.child_token();
                    let job = runner.clone();
                    let token = stop.clone();
                    // The agent's one runtime runs it; it ends with the agent's token.
                    tokio::spawn(async move { job.run(token).await });
                    self.running = Some(Running { location, runner, results, stop });
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot set up the probes; checks will not run");
                    return;
                }
            }
        }
        let valid: Vec<probe::Check> = defs
            .iter()
            .filter_map(|d| {
                d.validate()
                    .map_err(|e| tracing::warn!(check = d.id, errors = ?e, "skipping a check this agent cannot run"))
                    .ok()
            })
            .collect();
        if let Some(r) = &self.running
            && let Err(e) = r.runner.replace_all(valid)
        {
            tracing::warn!(error = %e, "the runner refused the checks");
        }
        if self.assigned.server_id != server_id || self.assigned.checks != defs || self.assigned.hash != hash {
            self.assigned = Assigned { server_id: server_id.to_string(), checks: defs, hash };
            self.save();
        }
    }

    fn save(&self) {
        let Ok(bytes) = serde_json::to_vec(&self.assigned) else { return };
        let tmp = self.state_file.with_extension("json.tmp");
        let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &self.state_file));
        if let Err(e) = written {
            tracing::warn!(file = %self.state_file.display(), error = %e, "cannot save the assigned checks");
        }
    }

    /// The next result of a check (never, while no check runs).
    pub async fn next_result(&mut self) -> CheckResult {
        match &mut self.running {
            Some(r) => match r.results.recv().await {
                Some(result) => result,
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    pub fn keep(&mut self, result: &CheckResult) {
        if let Err(e) = self.spool.push(result) {
            tracing::warn!(error = %e, "cannot write the checks spool; the result is kept in memory");
        }
    }

    pub fn batch(&self, max: usize) -> Option<Batch<'_>> {
        self.spool.batch(max)
    }

    pub fn ack(&mut self, through_seq: u64) {
        if let Err(e) = self.spool.ack(through_seq) {
            tracing::warn!(error = %e, "cannot compact the checks spool; it will be rewritten later");
        }
    }
}
