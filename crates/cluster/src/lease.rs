//! A lease: one holder at a time for a named role (the alert evaluator). [`Lease::tick`] acquires
//! it when free (`SET NX PX` under a script) or renews it when held (compare-and-renew), so it moves
//! to another hub within one TTL (plus that hub's tick interval) when its holder dies without
//! releasing it. Each acquisition takes a fencing token from a counter that only grows, so a
//! holder that stalled past its TTL is detectable: [`Lease::check`] says whether a token is still
//! the current one, and a side effect stamped with an older token came from a stale holder.
//!
//! [`Lease::is_holder`] is local and conservative: true only until the TTL measured from the moment
//! the last successful renewal was *sent* (minus a tenth for clock-rate drift), which is no later than
//! Redis expires the key; a hub that cannot reach Redis stops being a holder by itself.
//!
//! Fallback (the policy the hub applies, stated here so every hub applies the same): while this hub
//! cannot reach Redis, it keeps evaluating only if it was the holder at the last answer
//! ([`Lease::held_last`]); the others do not start. In a full Redis outage exactly one hub (the
//! last holder) evaluates, so nothing fires twice; in a partition where only the holder lost Redis
//! another hub takes over after the TTL and both may evaluate until Redis is back (notifications
//! are then still de-duplicated by [`crate::Dedup`] once Redis answers).

use std::sync::Arc;
use std::sync::LazyLock;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::keys::check_name;
use crate::stats::bump;
use crate::{Cluster, ttl_ms};

/// The fencing counter outlives any lease by far; it is refreshed on every acquisition, so it only
/// restarts after 30 days without one, when no old holder can be around.
const FENCE_TTL_MS: u64 = 30 * 86_400_000;

/// Renew when the value is ours (`<hub>|<instance>|<fence>`), else acquire when free. `{1, fence, value}` when
/// held after the call, `{0, 0, value}` when someone else holds it.
static TICK: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if cur then
  if ARGV[2] ~= '' and cur == ARGV[1] .. '|' .. ARGV[2] then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return {1, tonumber(ARGV[2]), cur}
  end
  return {0, 0, cur}
end
local f = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local v = ARGV[1] .. '|' .. f
redis.call('SET', KEYS[1], v, 'PX', ARGV[3])
return {1, f, v}
",
    )
});

/// Delete only if still ours.
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// The outcome of a [`Lease::tick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// This hub holds the lease, with this fencing token (the same until it is lost).
    Holder { fence: u64 },
    /// Another hub holds it (its id, when it is one of ours).
    Follower { holder: Option<String> },
}

struct State {
    fence: Option<u64>,
    valid_until: Option<Instant>,
    held_last: bool,
}

/// One named lease, as seen by this hub.
pub struct Lease {
    cluster: Cluster,
    name: Arc<str>,
    key: String,
    fence_key: String,
    ttl: Duration,
    ttl_ms: u64,
    state: Mutex<State>,
}

impl Lease {
    pub(crate) fn new(cluster: Cluster, name: &str, ttl: Duration) -> Result<Self> {
        check_name("lease", name)?;
        let ttl_ms = ttl_ms(ttl)?;
        let keys = &cluster.inner.keys;
        Ok(Self {
            key: keys.named("lease", name),
            fence_key: keys.named("lease", &format!("{name}:fence")),
            name: Arc::from(name),
            ttl,
            ttl_ms,
            cluster,
            state: Mutex::new(State { fence: None, valid_until: None, held_last: false }),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Acquires the lease if it is free, renews it if this hub holds it. Call it every `ttl / 3`
    /// (the alert job's tick). `Err`: nothing changed locally; [`is_holder`](Self::is_holder)
    /// turns false by itself when the TTL runs out.
    pub async fn tick(&self) -> Result<LeaseState> {
        let inner = &self.cluster.inner;
        // Our last token even if our own clock says it ran out: if Redis still has it, nobody
        // held the lease in between, so renewing it keeps the same token.
        let mine = self.state.lock().fence;
        let sent = Instant::now();
        let mut inv = TICK.prepare_invoke();
        inv.key(&self.key)
            .key(&self.fence_key)
            .arg(&*inner.owner)
            .arg(mine.map(|f| f.to_string()).unwrap_or_default())
            .arg(self.ttl_ms)
            .arg(FENCE_TTL_MS);
        let (held, fence, value): (i64, i64, String) = inner.conn.script(&inv).await?;
        let mut st = self.state.lock();
        if held == 1 {
            let fence = u64::try_from(fence).map_err(|_| Error::Internal(format!("lease fence {fence}")))?;
            if st.fence != Some(fence) {
                if st.fence.is_some() {
                    bump(&inner.conn.counters.lease_lost, 1);
                }
                bump(&inner.conn.counters.lease_acquired, 1);
                tracing::info!(lease = &*self.name, fence, hub = &*inner.hub_id, "lease acquired");
            }
            st.fence = Some(fence);
            st.valid_until = Some(sent + self.ttl - self.ttl / 10);
            st.held_last = true;
            return Ok(LeaseState::Holder { fence });
        }
        let holder = value.split('|').next().filter(|h| !h.is_empty()).map(str::to_owned);
        if let Some(old) = st.fence.take() {
            bump(&inner.conn.counters.lease_lost, 1);
            tracing::warn!(lease = &*self.name, fence = old, holder = holder.as_deref(), "lease lost");
        }
        st.valid_until = None;
        st.held_last = false;
        Ok(LeaseState::Follower { holder })
    }

    /// Whether this hub holds the lease now, by its own clock (no IO).
    pub fn is_holder(&self) -> bool {
        let st = self.state.lock();
        st.fence.is_some() && st.valid_until.is_some_and(|t| Instant::now() < t)
    }

    /// The fencing token while [`is_holder`](Self::is_holder).
    pub fn fence(&self) -> Option<u64> {
        if self.is_holder() { self.state.lock().fence } else { None }
    }

    /// Whether the last answer from Redis made this hub the holder (the degraded-mode policy: see
    /// the module's documentation).
    pub fn held_last(&self) -> bool {
        self.state.lock().held_last
    }

    /// Whether `fence` is the current holder's token (for a side effect that must not come from a
    /// stale holder).
    pub async fn check(&self, fence: u64) -> Result<bool> {
        let inner = &self.cluster.inner;
        let v: Option<String> = inner.conn.query(redis::cmd("GET").arg(&self.key)).await?;
        Ok(v.is_some_and(|v| v == format!("{}|{fence}", inner.owner)))
    }

    /// Gives the lease up now (shutdown): another hub takes it at its next tick instead of after
    /// the TTL. The local state is cleared whatever Redis answers.
    pub async fn release(&self) -> Result<()> {
        let inner = &self.cluster.inner;
        let fence = {
            let mut st = self.state.lock();
            st.valid_until = None;
            st.held_last = false;
            st.fence.take()
        };
        let Some(fence) = fence else { return Ok(()) };
        bump(&inner.conn.counters.lease_lost, 1);
        tracing::info!(lease = &*self.name, fence, "lease released");
        let mut inv = RELEASE.prepare_invoke();
        inv.key(&self.key).arg(format!("{}|{fence}", inner.owner));
        inner.conn.script::<i64>(&inv).await.map(drop)
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("name", &self.name).field("ttl", &self.ttl).field("fence", &self.fence()).finish()
    }
}
