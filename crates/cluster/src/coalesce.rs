//! In-flight coalescing across hubs: for identical concurrent requests (the same key), the first
//! caller anywhere becomes the leader and calls upstream; the others wait, up to a bound, for the
//! result it publishes under the key, and get it, or time out and call upstream themselves. The
//! leader's claim expires after `lead_ttl` and is released at once when its guard is dropped
//! without publishing (an error, a panic, a cancelled request), so a follower takes over.
//!
//! Followers are woken by an announcement on the bus (when `Cluster::run` runs) and otherwise poll
//! with a back-off (20 ms doubling to 500 ms), so a missed announcement costs latency, never
//! correctness. Only whole answers are coalesced; a streamed answer is coalesced locally by
//! `ai::flight`, whose followers replay the leader's events.
//!
//! Fallback: on `Err` the caller coalesces locally only (`ai::flight`), as without Redis.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::cache::check_size;
use crate::error::Result;
use crate::keys::digest;
use crate::run::Job;
use crate::{Cluster, random_token, ttl_ms};

/// A result if one is there, else the lead if nobody has it: `{1, result}`, `{2, ''}` (lead taken),
/// `{0, ''}` (someone else leads).
static POLL: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local r = redis.call('GET', KEYS[1])
if r then return {1, r} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ''} end
return {0, ''}
",
    )
});

/// Stores the result, frees the lead if still ours, announces.
static PUBLISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
",
    )
});

/// Frees the lead if still ours, and announces it so followers take over at once.
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
",
    )
});

const FIRST_NAP: Duration = Duration::from_millis(20);
const LONGEST_NAP: Duration = Duration::from_millis(500);

/// What [`Coalescer::begin`] found.
#[derive(Debug)]
pub enum Lookup {
    /// Nobody was on it: call upstream, then [`LeaderGuard::publish`] the result.
    Leader(LeaderGuard),
    /// The leader's result (from this hub or another).
    Done(Bytes),
    /// The leader did not finish within the wait: call upstream without coalescing.
    TimedOut,
}

/// Coalescing by key; cheap to clone.
#[derive(Clone)]
pub struct Coalescer {
    cluster: Cluster,
}

fn keys(cluster: &Cluster, digest: &str) -> (String, String) {
    let k = &cluster.inner.keys;
    (k.named("co", &format!("{digest}:r")), k.named("co", &format!("{digest}:l")))
}

impl Coalescer {
    pub(crate) fn new(cluster: Cluster) -> Self {
        Self { cluster }
    }

    /// Becomes the leader for `key` (for at most `lead_ttl`), or waits up to `wait` for the
    /// leader's result. A result published within its TTL is returned at once.
    pub async fn begin(&self, key: &[u8], lead_ttl: Duration, wait: Duration) -> Result<Lookup> {
        let lead_ms = ttl_ms(lead_ttl)?;
        let inner = &self.cluster.inner;
        let digest = digest(key);
        let (result_key, lock_key) = keys(&self.cluster, &digest);
        let token = random_token();
        let deadline = Instant::now() + wait;
        let waiter = Waiter::new(&self.cluster, &digest);
        let mut nap = FIRST_NAP;
        loop {
            // Armed before asking Redis, so an announcement between the two is not lost.
            let mut notified = std::pin::pin!(waiter.notify.as_deref().map(Notify::notified));
            if let Some(n) = notified.as_mut().as_pin_mut() {
                n.enable();
            }
            let mut inv = POLL.prepare_invoke();
            inv.key(&result_key).key(&lock_key).arg(&token).arg(lead_ms);
            let (state, value): (i64, Vec<u8>) = inner.conn.script(&inv).await?;
            match state {
                1 => return Ok(Lookup::Done(Bytes::from(value))),
                2 => {
                    return Ok(Lookup::Leader(LeaderGuard {
                        cluster: self.cluster.clone(),
                        digest: digest.clone(),
                        result_key,
                        lock_key,
                        token,
                        finished: false,
                    }));
                }
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Lookup::TimedOut);
            }
            let sleep = nap.min(deadline - now);
            match notified.as_mut().as_pin_mut() {
                Some(n) => {
                    let _ = tokio::time::timeout(sleep, n).await;
                }
                None => tokio::time::sleep(sleep).await,
            }
            nap = (nap * 2).min(LONGEST_NAP);
        }
    }
}

/// A local follower's registration for wake-ups, removed when it stops waiting.
struct Waiter<'a> {
    cluster: &'a Cluster,
    digest: &'a str,
    notify: Option<Arc<Notify>>,
}

impl<'a> Waiter<'a> {
    fn new(cluster: &'a Cluster, digest: &'a str) -> Self {
        Self { cluster, digest, notify: cluster.inner.bus.waiter(digest) }
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.notify.take() {
            self.cluster.inner.bus.forget_waiter(self.digest, n);
        }
    }
}

/// The lead on one key. Publish the result, or drop it (or [`abandon`](Self::abandon)) to let a
/// follower take over.
#[derive(Debug)]
pub struct LeaderGuard {
    cluster: Cluster,
    digest: String,
    result_key: String,
    lock_key: String,
    token: String,
    finished: bool,
}

impl LeaderGuard {
    /// Makes `value` the result for `ttl` (followers waiting now, and callers within `ttl`, get
    /// it), frees the lead and wakes the followers. A value over `max_entry_bytes` is refused and
    /// the lead released: followers then call upstream themselves.
    pub async fn publish(mut self, value: &[u8], ttl: Duration) -> Result<()> {
        check_size(&self.cluster, value.len())?;
        let ms = ttl_ms(ttl)?;
        let (channel, body) = crate::bus::coalesce_announcement(&self.cluster, &self.digest)?;
        let mut inv = PUBLISH.prepare_invoke();
        inv.key(&self.result_key).key(&self.lock_key).arg(&self.token).arg(value).arg(ms).arg(channel).arg(body);
        self.cluster.inner.conn.script::<i64>(&inv).await?;
        self.finished = true;
        self.cluster.inner.bus.wake(&self.digest);
        Ok(())
    }

    /// Frees the lead now (the upstream call failed): a follower takes over.
    pub async fn abandon(mut self) -> Result<()> {
        self.finished = true;
        release(&self.cluster, &self.lock_key, &self.token, &self.digest).await
    }
}

impl Drop for LeaderGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Local followers poll at once; the release itself needs Redis, so it is queued for
        // `Cluster::run` (when that is not running, or its queue is full, the claim expires).
        self.cluster.inner.bus.wake(&self.digest);
        let job = Job::ReleaseLead {
            lock_key: std::mem::take(&mut self.lock_key),
            token: std::mem::take(&mut self.token),
            digest: std::mem::take(&mut self.digest),
        };
        let _ = self.cluster.inner.deferred.push(job);
    }
}

/// Frees `lock_key` if `token` still holds it, and announces it.
pub(crate) async fn release(cluster: &Cluster, lock_key: &str, token: &str, digest: &str) -> Result<()> {
    let (channel, body) = crate::bus::coalesce_announcement(cluster, digest)?;
    let mut inv = RELEASE.prepare_invoke();
    inv.key(lock_key).arg(token).arg(channel).arg(body);
    let r = cluster.inner.conn.script::<i64>(&inv).await.map(drop);
    cluster.inner.bus.wake(digest);
    r
}
