//! Whether Redis is usable, as one cheap read for callers and `/api/health`: `up` or `down` with the
//! reason and since when. A change is logged once (down with the reason at warn, back up at info),
//! never once per failed command. While down it also gates attempts: one probe per
//! `retry_interval` goes to Redis (the maintenance task's while it runs, else one caller's); every
//! other call fails at once, so callers fall back without waiting for a timeout each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

/// Redis as this hub sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum Health {
    /// Commands succeed; since when (ms since the epoch).
    Up { since_ms: i64 },
    /// Calls get [`crate::Error::Unavailable`] and callers use their local state; why (the latest
    /// failure, password scrubbed) and since when. Also the state before the first connection.
    Down { reason: String, since_ms: i64 },
}

impl Health {
    pub fn is_up(&self) -> bool {
        matches!(self, Health::Up { .. })
    }

    /// `"up"` or `"down"`, the value of `checks.redis.status`.
    pub fn status(&self) -> &'static str {
        if self.is_up() { "up" } else { "down" }
    }
}

pub(crate) struct HealthCell {
    up: AtomicBool,
    inner: Mutex<Inner>,
    /// The masked URL, for the log lines.
    url: String,
}

struct Inner {
    health: Health,
    /// Whether the current state has been logged (the initial "not connected yet" is not).
    announced: bool,
    /// While down: no attempt before this.
    next_try: Option<Instant>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl HealthCell {
    pub(crate) fn new(url: String) -> Self {
        Self {
            up: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                health: Health::Down { reason: "not connected yet".into(), since_ms: now_ms() },
                announced: false,
                next_try: None,
            }),
            url,
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self) -> Health {
        self.inner.lock().health.clone()
    }

    /// Whether a call may go to Redis now: always while up; while down, one call per `interval`
    /// (it is the probe that finds Redis back).
    pub(crate) fn permit(&self, interval: Duration) -> bool {
        if self.is_up() {
            return true;
        }
        let mut g = self.inner.lock();
        let now = Instant::now();
        if g.next_try.is_none_or(|t| now >= t) {
            g.next_try = Some(now + interval);
            return true;
        }
        false
    }

    /// The current down reason, for a call refused by [`permit`](Self::permit).
    pub(crate) fn reason(&self) -> String {
        match &self.inner.lock().health {
            Health::Down { reason, .. } => reason.clone(),
            Health::Up { .. } => "redis is up".into(),
        }
    }

    /// A command succeeded. Returns true on a change to up (logged once).
    pub(crate) fn mark_up(&self) -> bool {
        if self.is_up() {
            return false;
        }
        let mut g = self.inner.lock();
        if g.health.is_up() {
            return false;
        }
        let was = std::mem::replace(&mut g.health, Health::Up { since_ms: now_ms() });
        g.announced = true;
        g.next_try = None;
        self.up.store(true, Ordering::Release);
        if let Health::Down { since_ms, .. } = was {
            let down_ms = now_ms().saturating_sub(since_ms);
            tracing::info!(url = self.url, down_ms, "redis is up: shared limits, quotas, cache, lease and bus in use");
        }
        true
    }

    /// A call failed because of Redis (an outage-class error). Returns true on a change to down
    /// (logged once, with the reason); later failures only refresh the reason.
    pub(crate) fn mark_down(&self, reason: &str, retry_interval: Duration) -> bool {
        let mut g = self.inner.lock();
        let changed = g.health.is_up() || !g.announced;
        if !changed {
            if let Health::Down { reason: r, .. } = &mut g.health
                && r != reason
            {
                *r = reason.to_owned();
            }
            return false;
        }
        let since_ms = match &g.health {
            Health::Down { since_ms, .. } => *since_ms,
            Health::Up { .. } => now_ms(),
        };
        g.health = Health::Down { reason: reason.to_owned(), since_ms };
        g.announced = true;
        g.next_try = Some(Instant::now() + retry_interval);
        self.up.store(false, Ordering::Release);
        tracing::warn!(
            url = self.url,
            reason,
            "redis is down: each hub uses its local limits, quotas and cache until it is back"
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_reported_once_and_attempts_are_gated() {
        let h = HealthCell::new("redis://h".into());
        let second = Duration::from_secs(1);
        assert!(!h.is_up() && h.permit(second), "the first call goes");
        assert!(h.mark_down("refused", second), "the first failure is announced");
        assert!(!h.mark_down("refused again", second), "later ones are not");
        assert_eq!(h.reason(), "refused again");
        assert!(!h.permit(second), "gated until the retry interval passes");
        assert!(h.mark_up() && !h.mark_up());
        assert!(h.permit(second) && h.get().is_up() && h.get().status() == "up");
        assert!(h.mark_down("timed out", second));
        assert!(matches!(h.get(), Health::Down { reason, .. } if reason == "timed out"));
    }
}
