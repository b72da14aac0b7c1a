//! "Only the first hub to ask": [`Dedup::first`] is `SET NX` with a TTL, for notify-once across
//! hubs (the key names the notification, e.g. alert id + the time it fired).
//!
//! Fallback, built in: [`Dedup::check`] decides locally while Redis is down (a bounded set of the
//! keys decided that way), and writes those keys to Redis once it answers again, so a notification
//! sent during the outage is not sent again by another hub afterwards (and not by this one either:
//! a key decided locally stays a duplicate here until it expires).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::error::Result;
use crate::keys::digest;
use crate::stats::bump;
use crate::{Cluster, ttl_ms};

/// Keys replayed per call at most (each is one command), so a long outage's backlog does not hold
/// up the call that finds Redis back.
const REPLAY_BATCH: usize = 64;

/// The decision of [`Dedup::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No hub has done it: do it.
    First,
    /// Another hub (or this one) already did.
    Duplicate,
    /// Redis is down and this hub has not done it: do it (recorded, written to Redis later).
    FirstLocal,
    /// Redis is down (or the key was decided during an outage) and this hub already did it.
    DuplicateLocal,
}

impl Verdict {
    /// Whether the caller should send.
    pub fn should_send(self) -> bool {
        matches!(self, Verdict::First | Verdict::FirstLocal)
    }
}

#[derive(Default)]
struct Local {
    /// Keys decided locally, by digest, until they expire.
    keys: HashMap<String, Instant>,
    /// Of those, the ones not yet written to Redis, oldest first.
    pending: VecDeque<(String, Instant)>,
}

/// Notify-once decisions; share one per purpose (the alert notifier's).
pub struct Dedup {
    cluster: Cluster,
    capacity: usize,
    local: Mutex<Local>,
}

impl Dedup {
    pub(crate) fn new(cluster: Cluster, capacity: usize) -> Self {
        Self { cluster, capacity: capacity.max(1), local: Mutex::new(Local::default()) }
    }

    fn redis_key(&self, digest: &str) -> String {
        self.cluster.inner.keys.named("dd", digest)
    }

    /// True when this call is the first (on any hub) within `ttl` to ask for `key`. Redis only.
    pub async fn first(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.set_nx(&digest(key.as_bytes()), ttl).await
    }

    async fn set_nx(&self, digest: &str, ttl: Duration) -> Result<bool> {
        let ms = ttl_ms(ttl)?;
        let cmd = redis::cmd("SET").arg(self.redis_key(digest)).arg(1).arg("NX").arg("PX").arg(ms).to_owned();
        let set: Option<String> = self.cluster.inner.conn.query(&cmd).await?;
        Ok(set.is_some())
    }

    /// [`first`](Self::first) with the local fallback (see the module's documentation).
    pub async fn check(&self, key: &str, ttl: Duration) -> Verdict {
        let ttl = ttl.max(Duration::from_millis(1));
        let digest = digest(key.as_bytes());
        let now = Instant::now();
        let (known, backlog) = {
            let mut l = self.local.lock();
            l.keys.retain(|_, until| *until > now);
            (l.keys.contains_key(&digest), !l.pending.is_empty())
        };
        if backlog && self.cluster.is_up() {
            let _ = self.flush().await;
        }
        if known {
            return Verdict::DuplicateLocal;
        }
        match self.set_nx(&digest, ttl).await {
            Ok(true) => Verdict::First,
            Ok(false) => Verdict::Duplicate,
            Err(_) => {
                self.remember(digest, now + ttl);
                bump(&self.cluster.inner.conn.counters.dedup_local, 1);
                Verdict::FirstLocal
            }
        }
    }

    fn remember(&self, digest: String, until: Instant) {
        let mut l = self.local.lock();
        if l.keys.len() >= self.capacity {
            // Full (a long outage): forget the decision that expires first.
            if let Some(k) = l.keys.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone()) {
                l.keys.remove(&k);
                l.pending.retain(|(p, _)| *p != k);
            }
        }
        l.keys.insert(digest.clone(), until);
        l.pending.push_back((digest, until));
    }

    /// Writes keys decided locally to Redis (at most 64 per call); returns how many were written.
    /// Called by [`check`](Self::check) when Redis is back; the hub may also call it on its tick.
    pub async fn flush(&self) -> Result<usize> {
        let mut written = 0;
        for _ in 0..REPLAY_BATCH {
            let next = self.local.lock().pending.front().cloned();
            let Some((digest, until)) = next else { break };
            let left = until.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                // Whether or not another hub set it meanwhile, Redis now knows it was done.
                self.set_nx(&digest, left).await?;
                written += 1;
            }
            let mut l = self.local.lock();
            if l.pending.front().is_some_and(|(d, _)| *d == digest) {
                l.pending.pop_front();
            }
            l.keys.remove(&digest);
        }
        bump(&self.cluster.inner.conn.counters.dedup_replayed, written as u64);
        Ok(written)
    }

    /// Keys decided locally and not yet written to Redis.
    pub fn pending(&self) -> usize {
        self.local.lock().pending.len()
    }
}
