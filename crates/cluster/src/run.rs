//! `Cluster::run`, the maintenance task the hub runs under its supervisor: the health probe, the bus
//! subscriber, and the releases that dropped guards could not do themselves (a `Drop` cannot wait
//! for Redis, so it queues the release here; if this task is not running, the key's TTL does it).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Cluster;

/// Releases waiting at most; past it a dropped guard's key simply expires.
const DEFERRED_CAPACITY: usize = 1_024;

/// Longest wait between two heartbeats.
const HEARTBEAT: Duration = Duration::from_secs(5);

pub(crate) enum Job {
    /// A coalescing leader dropped without publishing: free the key so a follower takes over now.
    ReleaseLead { lock_key: String, token: String, digest: String },
}

pub(crate) struct Deferred {
    tx: mpsc::Sender<Job>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Job>>,
}

impl Deferred {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::channel(DEFERRED_CAPACITY);
        Self { tx, rx: tokio::sync::Mutex::new(rx) }
    }

    /// Queues `job` without waiting; false when the queue is full (the TTL will do it).
    pub(crate) fn push(&self, job: Job) -> bool {
        self.tx.try_send(job).is_ok()
    }
}

pub(crate) async fn run(cluster: &Cluster, cancel: CancellationToken, heartbeat: &(dyn Fn() + Send + Sync)) {
    let inner = &cluster.inner;
    let Ok(mut rx) = inner.deferred.rx.try_lock() else {
        tracing::warn!("cluster maintenance task already running; not starting a second one");
        return;
    };
    tracing::info!(url = cluster.url(), hub = cluster.hub_id(), "cluster maintenance started");
    // While this runs, only its probe reaches a Redis that is down; cleared however this ends.
    struct Maintained<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Maintained<'_> {
        fn drop(&mut self) {
            self.0.store(false, std::sync::atomic::Ordering::Release);
        }
    }
    inner.conn.maintained.store(true, std::sync::atomic::Ordering::Release);
    let _maintained = Maintained(&inner.conn.maintained);
    tokio::join!(probe(cluster, &cancel, heartbeat), crate::bus::pump(cluster, &cancel), async {
        loop {
            let job = tokio::select! {
                _ = cancel.cancelled() => return,
                job = rx.recv() => job,
            };
            match job {
                Some(Job::ReleaseLead { lock_key, token, digest }) => {
                    let _ = crate::coalesce::release(cluster, &lock_key, &token, &digest).await;
                }
                None => return,
            }
        }
    });
}

/// PING every `retry_interval` while down (replacing the connections first), every
/// `probe_interval` while up; the heartbeat at least every 5 s.
async fn probe(cluster: &Cluster, cancel: &CancellationToken, heartbeat: &(dyn Fn() + Send + Sync)) {
    let inner = &cluster.inner;
    let config = &inner.config;
    let mut next = Instant::now();
    loop {
        heartbeat();
        let now = Instant::now();
        if now >= next {
            let _ = inner.conn.probe(config.connections).await;
            let every = if inner.conn.health.is_up() { config.probe_interval() } else { config.retry_interval() };
            next = Instant::now() + every;
        }
        let wait = next.saturating_duration_since(Instant::now()).min(HEARTBEAT);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
