//! The task supervisor: every background job is started here, restarted with back-off if it fails or
//! panics, stopped by one cancellation token, and awaited (within a bound) at shutdown. Each job also
//! beats a heartbeat, so a watchdog can tell a wedged job from a working one.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The longest wait between restarts of a failing job.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A job's liveness: the last time (ms since the epoch) it made progress.
#[derive(Clone, Default)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Heartbeat {
    pub fn beat(&self) {
        self.0.store(crate::clock::now_millis(), Ordering::Relaxed);
    }

    pub fn last_millis(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the supervisor knows of one job.
#[derive(Clone)]
pub struct JobInfo {
    pub name: &'static str,
    pub heartbeat: Heartbeat,
    pub restarts: Arc<AtomicI64>,
}

/// Handed to each job: when to stop, and how to say it is alive.
#[derive(Clone)]
pub struct JobContext {
    pub cancel: CancellationToken,
    pub heartbeat: Heartbeat,
}

#[derive(Clone)]
pub struct Supervisor {
    cancel: CancellationToken,
    tracker: TaskTracker,
    jobs: Arc<Mutex<Vec<JobInfo>>>,
    /// The runtime jobs run on: the one the supervisor was made on (the main thread's), whichever
    /// thread starts a job or task later (an HTTP worker starting an analysis, say).
    runtime: tokio::runtime::Handle,
}

impl Supervisor {
    /// Made on the runtime its jobs are to run on.
    pub fn new(cancel: CancellationToken) -> Self {
        Self { cancel, tracker: TaskTracker::new(), jobs: Arc::default(), runtime: tokio::runtime::Handle::current() }
    }

    /// The token that stops everything.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Runs `make(ctx)` until the token is cancelled; if it returns an error or panics before that,
    /// logs why and starts it again after a back-off (1 s doubling to 60 s).
    pub fn spawn<F, Fut>(&self, name: &'static str, make: F)
    where
        F: Fn(JobContext) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let info = JobInfo { name, heartbeat: Heartbeat::default(), restarts: Arc::default() };
        info.heartbeat.beat();
        self.jobs.lock().push(info.clone());
        let cancel = self.cancel.clone();
        let runtime = self.runtime.clone();
        self.tracker.spawn_on(
            async move {
                let mut backoff = Duration::from_secs(1);
                loop {
                    let ctx = JobContext { cancel: cancel.clone(), heartbeat: info.heartbeat.clone() };
                    // A separate task, so a panic is caught by tokio and seen here as a JoinError.
                    let run = runtime.spawn(make(ctx));
                    let outcome = run.await;
                    if cancel.is_cancelled() {
                        return;
                    }
                    match outcome {
                        Ok(Ok(())) => {
                            tracing::debug!(job = name, "job finished");
                            return;
                        }
                        Ok(Err(e)) => tracing::error!(job = name, error = format!("{e:#}"), "job failed; restarting"),
                        Err(e) => tracing::error!(job = name, error = %e, "job panicked; restarting"),
                    }
                    info.restarts.fetch_add(1, Ordering::Relaxed);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = cancel.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            },
            &self.runtime,
        );
    }

    /// Runs `tick` every `period` until cancelled; an error is logged and the next tick runs as usual.
    pub fn spawn_periodic<F, Fut>(&self, name: &'static str, period: Duration, tick: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let tick = Arc::new(tick);
        self.spawn(name, move |ctx| {
            let tick = tick.clone();
            async move {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = interval.tick() => {}
                        _ = ctx.cancel.cancelled() => return Ok(()),
                    }
                    if let Err(e) = tick().await {
                        tracing::warn!(job = name, error = format!("{e:#}"), "periodic job failed");
                    }
                    ctx.heartbeat.beat();
                }
            }
        });
    }

    pub fn jobs(&self) -> Vec<JobInfo> {
        self.jobs.lock().clone()
    }

    /// Runs one short task (an analysis) on the jobs' runtime, tracked like the jobs: it ends when
    /// the token is cancelled, and shutdown waits for it. Never restarted.
    pub fn spawn_task<Fut>(&self, task: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        let cancel = self.cancel.clone();
        self.tracker.spawn_on(
            async move {
                tokio::select! {
                    _ = task => {}
                    _ = cancel.cancelled() => {}
                }
            },
            &self.runtime,
        );
    }

    /// Cancels every job and waits for them, at most `grace`. Returns false if some did not stop.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait()).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(start_paused = true)]
    async fn failing_job_is_restarted_with_backoff() {
        let sup = Supervisor::new(CancellationToken::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        sup.spawn("flaky", move |ctx| {
            let r = r.clone();
            async move {
                let n = r.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    anyhow::bail!("failure {n}");
                }
                ctx.cancel.cancelled().await;
                Ok(())
            }
        });
        // 1 s then 2 s of back-off before the third run.
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(sup.jobs()[0].restarts.load(Ordering::SeqCst), 2);
        assert!(sup.shutdown(Duration::from_secs(1)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn panicking_job_is_restarted() {
        let sup = Supervisor::new(CancellationToken::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        sup.spawn("panics", move |ctx| {
            let r = r.clone();
            async move {
                if r.fetch_add(1, Ordering::SeqCst) == 0 {
                    #[allow(clippy::panic)]
                    {
                        panic!("boom");
                    }
                }
                ctx.cancel.cancelled().await;
                Ok(())
            }
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(sup.shutdown(Duration::from_secs(1)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_job_ticks_and_stops() {
        let sup = Supervisor::new(CancellationToken::new());
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        sup.spawn_periodic("tick", Duration::from_secs(10), move || {
            let t = t.clone();
            async move {
                t.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), 3); // at 0, 10 and 20 s
        assert!(sup.shutdown(Duration::from_secs(1)).await);
    }
}
