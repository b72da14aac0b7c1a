//! The [`Runner`]: keeps the checks that run at one place (`hub` or `agent:<serverId>`), runs each at
//! its interval on an evenly spread phase ([`crate::schedule`]), at most `max_concurrent` at once and
//! never two runs of one check together, and reports every result on a bounded channel.
//!
//! Changes (`upsert`, `remove`, `replace_all`, `run_now`) are synchronous: they update the wanted set
//! under a short lock and wake the loop, which reconciles its schedule. The loop owns nothing the
//! handle needs, so after a crash `run` can simply be called again; it stops when its token is
//! cancelled, aborting the probes in flight.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::check::Check;
use crate::result::{CheckResult, Outcome};
use crate::schedule::Schedule;

/// Runs one check once. [`Prober`](crate::Prober) is the real one; tests use fakes.
pub trait Execute: Send + Sync + 'static {
    fn execute(&self, check: &Check) -> impl Future<Output = Outcome> + Send;
}

/// A probe gets this long past its own timeout before the runner gives up on it.
const GRACE: Duration = Duration::from_secs(2);
/// Pending `run_now` requests, and waiters on one check's run.
const MAX_RUN_NOW_QUEUE: usize = 64;
const MAX_WAITERS: usize = 16;

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Where this runner runs: `hub` or `agent:<serverId>`; only checks whose `runOn` lists it are
    /// kept, and every result carries it as `where`.
    pub location: String,
    /// Probes running at once (the rest wait for a slot).
    pub max_concurrent: usize,
    /// Checks kept.
    pub max_checks: usize,
    /// Results waiting for the consumer; when full, probes wait (and their next runs are skipped).
    pub results_capacity: usize,
}

impl RunnerConfig {
    pub fn new(location: impl Into<String>) -> Self {
        Self { location: location.into(), max_concurrent: 16, max_checks: 1000, results_capacity: 1024 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    #[error("no check {0} runs here")]
    NotFound(String),
    #[error("at most {0} checks")]
    TooMany(usize),
    #[error("too many run requests are waiting; try again shortly")]
    Busy,
}

/// Counters for /metrics and status pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunnerStats {
    pub checks: usize,
    pub in_flight: usize,
    pub runs: u64,
    /// Runs skipped because the previous run of the same check had not finished.
    pub skipped_busy: u64,
}

struct Entry {
    check: Arc<Check>,
    /// Bumped when the definition changes; also orders new checks by arrival.
    generation: u64,
}

#[derive(Default)]
struct Wanted {
    checks: HashMap<String, Entry>,
    next_generation: u64,
    run_now: VecDeque<(String, oneshot::Sender<CheckResult>)>,
}

struct Inner<E> {
    exec: Arc<E>,
    config: RunnerConfig,
    permits: Arc<Semaphore>,
    results: mpsc::Sender<CheckResult>,
    wanted: Mutex<Wanted>,
    wake: Notify,
    in_flight: AtomicUsize,
    runs: AtomicU64,
    skipped_busy: AtomicU64,
}

/// The handle: cheap to clone, shared by the API (changes, run now) and the job that calls `run`.
pub struct Runner<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for Runner<E> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

/// What the loop is woken by.
enum Event {
    Stop,
    Changed,
    Due(String),
    Done(Result<(tokio::task::Id, CheckResult), JoinError>),
}

/// The loop's view of what is running.
struct Running {
    tasks: JoinSet<CheckResult>,
    /// Task id to check id, so a task that panicked still frees its check.
    ids: HashMap<tokio::task::Id, String>,
    /// Check id to those waiting for its result.
    waiters: HashMap<String, Vec<oneshot::Sender<CheckResult>>>,
}

impl<E: Execute> Runner<E> {
    /// A runner and the receiving end of its results.
    pub fn new(exec: E, config: RunnerConfig) -> (Self, mpsc::Receiver<CheckResult>) {
        let (tx, rx) = mpsc::channel(config.results_capacity.max(1));
        let inner = Inner {
            exec: Arc::new(exec),
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            config,
            results: tx,
            wanted: Mutex::default(),
            wake: Notify::new(),
            in_flight: AtomicUsize::new(0),
            runs: AtomicU64::new(0),
            skipped_busy: AtomicU64::new(0),
        };
        (Self { inner: Arc::new(inner) }, rx)
    }

    pub fn location(&self) -> &str {
        &self.inner.config.location
    }

    fn wanted(&self) -> MutexGuard<'_, Wanted> {
        // A panic while holding this lock cannot leave the map half-changed, so carry on.
        self.inner.wanted.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds or replaces a check. `Ok(false)` when it does not run here (`runOn` does not list this
    /// place; it is dropped if it was kept). A disabled check is kept (for `run_now`) but not
    /// scheduled. An unchanged definition keeps its schedule.
    pub fn upsert(&self, check: Check) -> Result<bool, RunnerError> {
        let id = check.id().to_string();
        if !check.runs_on(self.location()) {
            self.remove(&id);
            return Ok(false);
        }
        let mut wanted = self.wanted();
        if let Some(entry) = wanted.checks.get(&id)
            && entry.check.def() == check.def()
        {
            return Ok(true);
        }
        if !wanted.checks.contains_key(&id) && wanted.checks.len() >= self.inner.config.max_checks {
            return Err(RunnerError::TooMany(self.inner.config.max_checks));
        }
        wanted.next_generation += 1;
        let generation = wanted.next_generation;
        wanted.checks.insert(id, Entry { check: Arc::new(check), generation });
        drop(wanted);
        self.inner.wake.notify_one();
        Ok(true)
    }

    /// Drops a check; `false` when it was not kept. A run in flight finishes and is reported.
    pub fn remove(&self, id: &str) -> bool {
        let removed = self.wanted().checks.remove(id).is_some();
        if removed {
            self.inner.wake.notify_one();
        }
        removed
    }

    /// Makes the kept set exactly `checks` (those that run here), as an agent does with the list
    /// in the hub's acknowledgement; unchanged checks keep their schedule. Returns how many are kept.
    pub fn replace_all(&self, checks: impl IntoIterator<Item = Check>) -> Result<usize, RunnerError> {
        let here: Vec<Check> = checks.into_iter().filter(|c| c.runs_on(self.location())).collect();
        if here.len() > self.inner.config.max_checks {
            return Err(RunnerError::TooMany(self.inner.config.max_checks));
        }
        let mut wanted = self.wanted();
        let mut old = std::mem::take(&mut wanted.checks);
        for check in here {
            let id = check.id().to_string();
            let entry = match old.remove(&id) {
                Some(entry) if entry.check.def() == check.def() => entry,
                _ => {
                    wanted.next_generation += 1;
                    Entry { check: Arc::new(check), generation: wanted.next_generation }
                }
            };
            wanted.checks.insert(id, entry);
        }
        let kept = wanted.checks.len();
        drop(wanted);
        self.inner.wake.notify_one();
        Ok(kept)
    }

    /// The checks kept, in no particular order.
    pub fn checks(&self) -> Vec<Arc<Check>> {
        self.wanted().checks.values().map(|e| e.check.clone()).collect()
    }

    /// Runs a kept check now (a disabled one too), outside its schedule, which is unchanged. The
    /// result is reported on the channel as usual and also sent to the returned receiver; if the
    /// check is already running, the receiver gets that run's result.
    pub fn run_now(&self, id: &str) -> Result<oneshot::Receiver<CheckResult>, RunnerError> {
        let mut wanted = self.wanted();
        if !wanted.checks.contains_key(id) {
            return Err(RunnerError::NotFound(id.to_string()));
        }
        if wanted.run_now.len() >= MAX_RUN_NOW_QUEUE {
            return Err(RunnerError::Busy);
        }
        let (tx, rx) = oneshot::channel();
        wanted.run_now.push_back((id.to_string(), tx));
        drop(wanted);
        self.inner.wake.notify_one();
        Ok(rx)
    }

    pub fn stats(&self) -> RunnerStats {
        RunnerStats {
            checks: self.wanted().checks.len(),
            in_flight: self.inner.in_flight.load(Ordering::Relaxed),
            runs: self.inner.runs.load(Ordering::Relaxed),
            skipped_busy: self.inner.skipped_busy.load(Ordering::Relaxed),
        }
    }

    /// The loop: runs until `cancel` fires. Call it from one task at a time (the job supervisor's);
    /// it can be called again after it returns.
    pub async fn run(&self, cancel: CancellationToken) {
        let mut schedule = Schedule::new(Instant::now());
        let mut running = Running { tasks: JoinSet::new(), ids: HashMap::new(), waiters: HashMap::new() };
        self.reconcile(&mut schedule, &mut running);
        loop {
            let event = tokio::select! {
                () = cancel.cancelled() => Event::Stop,
                () = self.inner.wake.notified() => Event::Changed,
                id = schedule.next() => Event::Due(id),
                Some(done) = running.tasks.join_next_with_id(), if !running.tasks.is_empty() => Event::Done(done),
            };
            match event {
                Event::Stop => break,
                Event::Changed => self.reconcile(&mut schedule, &mut running),
                Event::Due(id) => self.start(&id, None, &mut running),
                Event::Done(done) => self.finish(done, &mut running),
            }
        }
        // Dropping the JoinSet aborts the probes in flight; their waiters see a closed channel.
        running.tasks.abort_all();
        self.inner.in_flight.store(0, Ordering::Relaxed);
    }

    /// Brings the schedule in line with the wanted set, and starts the `run_now` requests.
    fn reconcile(&self, schedule: &mut Schedule, running: &mut Running) {
        let (mut checks, requests) = {
            let mut wanted = self.wanted();
            let checks: Vec<(String, u64, Arc<Check>)> =
                wanted.checks.iter().map(|(id, e)| (id.clone(), e.generation, e.check.clone())).collect();
            (checks, std::mem::take(&mut wanted.run_now))
        };
        // Older checks take their phases first, so a restart spreads them in the order they came.
        checks.sort_by_key(|(_, generation, _)| *generation);
        let gone: Vec<String> = schedule
            .ids()
            .filter(|id| !checks.iter().any(|(c, _, check)| c == *id && check.enabled()))
            .cloned()
            .collect();
        for id in gone {
            schedule.remove(&id);
        }
        for (id, generation, check) in &checks {
            if check.enabled() && schedule.generation(id) != Some(*generation) {
                schedule.upsert(id, check.interval(), *generation);
            }
        }
        for (id, waiter) in requests {
            self.start(&id, Some(waiter), running);
        }
    }

    /// Starts a run of `id` unless one is in flight (then a waiter joins it).
    fn start(&self, id: &str, waiter: Option<oneshot::Sender<CheckResult>>, running: &mut Running) {
        if let Some(waiters) = running.waiters.get_mut(id) {
            match waiter {
                Some(w) if waiters.len() < MAX_WAITERS => waiters.push(w),
                Some(_) => {} // dropped: the caller sees the channel closed
                None => {
                    self.inner.skipped_busy.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        }
        let Some(check) = self.wanted().checks.get(id).map(|e| e.check.clone()) else { return };
        running.waiters.insert(id.to_string(), waiter.into_iter().collect());
        let inner = self.inner.clone();
        let handle = running.tasks.spawn(async move {
            let permit = inner.permits.clone().acquire_owned().await;
            let at = unix_millis();
            let started = Instant::now();
            let outcome = match tokio::time::timeout(check.timeout() + GRACE, inner.exec.execute(&check)).await {
                Ok(outcome) => outcome,
                Err(_) => Outcome::down(started.elapsed(), "the probe did not finish in time"),
            };
            drop(permit);
            inner.runs.fetch_add(1, Ordering::Relaxed);
            let result =
                CheckResult { check_id: check.id().to_string(), at, location: inner.config.location.clone(), outcome };
            // Waits while the consumer is behind; the check's next runs are skipped meanwhile.
            let _ = inner.results.send(result.clone()).await;
            result
        });
        running.ids.insert(handle.id(), id.to_string());
        self.inner.in_flight.store(running.ids.len(), Ordering::Relaxed);
    }

    fn finish(&self, done: Result<(tokio::task::Id, CheckResult), JoinError>, running: &mut Running) {
        let (task, result) = match done {
            Ok((task, result)) => (task, Some(result)),
            Err(e) => {
                tracing::warn!(error = %e, "a check's probe task failed");
                (e.id(), None)
            }
        };
        if let Some(id) = running.ids.remove(&task)
            && let Some(waiters) = running.waiters.remove(&id)
            && let Some(result) = result
        {
            for w in waiters {
                let _ = w.send(result.clone());
            }
        }
        self.inner.in_flight.store(running.ids.len(), Ordering::Relaxed);
    }
}

fn unix_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
