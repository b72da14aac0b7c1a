//! Per-engine request and token budgets (RPM, RPD, TPM), enforced before calling, and what upstream 429s teach us.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use tokio::time::Instant;

use crate::error::QuotaScope;

const MINUTE: Duration = Duration::from_secs(60);
/// Newest window entries searched for the call a provider's usage settles.
const SETTLE_SEARCH: usize = 4096;

/// Why a call may not go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A minute window is full; it frees up after this long.
    Minute(Duration),
    /// The day's budget (ours or the upstream's) is spent until the next Pacific midnight.
    Day(Duration),
}

impl Refusal {
    pub fn retry_after(self) -> Duration {
        match self {
            Self::Minute(d) | Self::Day(d) => d,
        }
    }
    pub fn scope(self) -> QuotaScope {
        match self {
            Self::Minute(_) => QuotaScope::Minute,
            Self::Day(_) => QuotaScope::Day,
        }
    }
}

/// What is left, for the status endpoint. `None` means no limit is configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QuotaLeft {
    pub minute_requests: Option<u32>,
    pub day_requests: Option<u32>,
    pub minute_tokens: Option<u64>,
    /// True when an upstream per-day 429 marked the default model exhausted.
    pub day_exhausted: bool,
    /// Requests sent since the last Pacific midnight, and the configured daily limit.
    pub day_used: u32,
    pub day_limit: Option<u32>,
}

/// The zone Google's daily quotas roll over in.
fn pacific() -> TimeZone {
    // The bundled tzdb always has it; UTC-8 is the fallback should it ever not.
    TimeZone::get("America/Los_Angeles").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(-8)))
}

/// The next midnight in America/Los_Angeles after `wall`.
pub fn next_pacific_midnight(wall: Timestamp) -> Timestamp {
    let tz = pacific();
    let zoned = wall.to_zoned_datetime(tz.clone());
    zoned
        .date()
        .tomorrow()
        .and_then(|d| d.to_zoned_datetime(tz))
        .map(|z| z.timestamp())
        .unwrap_or_else(|_| Timestamp::from_second(wall.as_second() + 86_400).unwrap_or(wall))
}

fn until(wall: Timestamp, end: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(end.as_millisecond() - wall.as_millisecond()).unwrap_or(0))
}

/// One engine's budget. Monotonic time (tokio's, pausable) for minute windows; wall time for days,
/// because Google's days end at a wall-clock midnight.
#[derive(Debug)]
pub struct Budget {
    rpm: Option<u32>,
    rpd: Option<u32>,
    tpm: Option<u32>,
    /// Calls in the last minute with their estimated tokens, kept only when `rpm` or `tpm` is set.
    /// Bounded by `rpm` and by `tpm` (every entry weighs at least one token).
    window: VecDeque<(Instant, u64)>,
    /// The sum of the window's tokens, kept as calls enter, leave and settle, so admitting a call
    /// costs the same whatever the window holds (summing it cost 27% of the gateway's CPU at 8,000
    /// calls a second under a generous limit).
    window_tokens: u64,
    /// The Pacific day `day_count` belongs to.
    day: Option<jiff::civil::Date>,
    day_count: u32,
    /// Set by an upstream per-minute 429: no call before this.
    blocked_until: Option<Instant>,
    /// Models an upstream per-day 429 exhausted, until the given wall time.
    exhausted: HashMap<String, Timestamp>,
}

impl Budget {
    pub fn new(rpm: Option<u32>, rpd: Option<u32>, tpm: Option<u32>) -> Self {
        Self {
            rpm,
            rpd,
            tpm,
            window: VecDeque::new(),
            window_tokens: 0,
            day: None,
            day_count: 0,
            blocked_until: None,
            exhausted: HashMap::new(),
        }
    }

    fn roll(&mut self, now: Instant, wall: Timestamp) {
        while let Some((t, tokens)) = self.window.front().copied()
            && now.duration_since(t) >= MINUTE
        {
            self.window.pop_front();
            self.window_tokens = self.window_tokens.saturating_sub(tokens);
        }
        let today = wall.to_zoned_datetime(pacific()).date();
        if self.day != Some(today) {
            self.day = Some(today);
            self.day_count = 0;
        }
        self.exhausted.retain(|_, end| *end > wall);
    }

    /// Takes one call of about `tokens` tokens from the budget, or says how long to wait.
    pub fn try_acquire(&mut self, model: &str, tokens: u64, now: Instant, wall: Timestamp) -> Result<(), Refusal> {
        self.roll(now, wall);
        if let Some(end) = self.exhausted.get(model) {
            return Err(Refusal::Day(until(wall, *end)));
        }
        if let Some(rpd) = self.rpd
            && self.day_count >= rpd
        {
            return Err(Refusal::Day(until(wall, next_pacific_midnight(wall))));
        }
        if let Some(b) = self.blocked_until
            && b > now
        {
            return Err(Refusal::Minute(b - now));
        }
        let tokens = tokens.max(1);
        if let Some(rpm) = self.rpm
            && self.window.len() >= rpm as usize
        {
            return Err(Refusal::Minute(self.free_at(now, 0)));
        }
        if let Some(tpm) = self.tpm {
            let used = self.window_tokens;
            // A request bigger than the whole budget would wait forever: let it through alone.
            if used > 0 && used + tokens > u64::from(tpm) {
                let need = used + tokens - u64::from(tpm);
                return Err(Refusal::Minute(self.free_at(now, need)));
            }
        }
        if self.rpm.is_some() || self.tpm.is_some() {
            self.window.push_back((now, tokens));
            self.window_tokens += tokens;
        }
        self.day_count += 1;
        Ok(())
    }

    /// How long until the oldest calls leave the window: the first when `tokens == 0`, else
    /// enough of them to free `tokens`.
    fn free_at(&self, now: Instant, tokens: u64) -> Duration {
        let mut freed = 0;
        for (t, w) in &self.window {
            freed += w;
            if freed >= tokens {
                return (*t + MINUTE).saturating_duration_since(now);
            }
        }
        MINUTE
    }

    /// Replaces a call's token estimate with what the provider reported, so the TPM window
    /// tracks real use. Matches the latest entry with that estimate (concurrent calls with the
    /// same estimate are interchangeable for the window).
    pub fn settle(&mut self, estimated: u64, actual: u64) {
        if actual == 0 {
            return;
        }
        // The call is among the newest entries (those still in flight); the search is bounded so a
        // call that already left the window does not cost a scan of all of it.
        if let Some(entry) = self.window.iter_mut().rev().take(SETTLE_SEARCH).find(|(_, t)| *t == estimated.max(1)) {
            self.window_tokens = self.window_tokens.saturating_sub(entry.1) + actual;
            entry.1 = actual;
        }
    }

    /// Learns from an upstream 429: per-minute blocks the engine for the delay; per-day marks
    /// the model exhausted until the next Pacific midnight.
    pub fn on_rate_limited(
        &mut self,
        model: &str,
        scope: QuotaScope,
        retry_after: Option<Duration>,
        now: Instant,
        wall: Timestamp,
    ) {
        match scope {
            QuotaScope::Day => {
                self.exhausted.insert(model.to_string(), next_pacific_midnight(wall));
            }
            QuotaScope::Minute | QuotaScope::Unknown => {
                // No hint: a short pause. A hint is honoured, up to an hour (a longer one is a day quota
                // in disguise and will come back as such).
                let delay = retry_after.unwrap_or(Duration::from_secs(10)).min(Duration::from_secs(3600));
                self.blocked_until = Some(now + delay);
            }
        }
    }

    pub fn left(&mut self, model: &str, now: Instant, wall: Timestamp) -> QuotaLeft {
        self.roll(now, wall);
        let used_tokens = self.window_tokens;
        QuotaLeft {
            minute_requests: self.rpm.map(|r| r.saturating_sub(self.window.len() as u32)),
            day_requests: self.rpd.map(|r| r.saturating_sub(self.day_count)),
            minute_tokens: self.tpm.map(|t| u64::from(t).saturating_sub(used_tokens)),
            day_exhausted: self.exhausted.contains_key(model),
            day_used: self.day_count,
            day_limit: self.rpd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn pacific_midnight_handles_dst() {
        // 2026-03-08 is the spring-forward day: the next midnight is at -07:00.
        assert_eq!(next_pacific_midnight(wall("2026-03-08T12:00:00Z")), wall("2026-03-09T07:00:00Z"));
        assert_eq!(next_pacific_midnight(wall("2026-01-15T07:59:59Z")), wall("2026-01-15T08:00:00Z"));
        assert_eq!(next_pacific_midnight(wall("2026-01-15T08:00:00Z")), wall("2026-01-16T08:00:00Z"));
    }

    #[tokio::test(start_paused = true)]
    async fn rpm_window_slides() {
        let w = wall("2026-01-15T12:00:00Z");
        let mut b = Budget::new(Some(2), None, None);
        assert!(b.try_acquire("m", 1, Instant::now(), w).is_ok());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(b.try_acquire("m", 1, Instant::now(), w).is_ok());
        assert_eq!(b.try_acquire("m", 1, Instant::now(), w), Err(Refusal::Minute(Duration::from_secs(40))));
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(b.try_acquire("m", 1, Instant::now(), w).is_ok());
        assert_eq!(b.left("m", Instant::now(), w).minute_requests, Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn tpm_counts_tokens() {
        let w = wall("2026-01-15T12:00:00Z");
        let mut b = Budget::new(None, None, Some(100));
        assert!(b.try_acquire("m", 60, Instant::now(), w).is_ok());
        assert!(matches!(b.try_acquire("m", 60, Instant::now(), w), Err(Refusal::Minute(_))));
        assert!(b.try_acquire("m", 40, Instant::now(), w).is_ok());
        tokio::time::advance(MINUTE).await;
        assert!(b.try_acquire("m", 500, Instant::now(), w).is_ok(), "an oversized request goes alone");
        b.settle(500, 20);
        assert_eq!(b.left("m", Instant::now(), w).minute_tokens, Some(80));
    }

    #[tokio::test(start_paused = true)]
    async fn the_token_sum_follows_calls_entering_settling_and_leaving() {
        let w = wall("2026-01-15T12:00:00Z");
        let mut b = Budget::new(None, None, Some(1000));
        assert!(b.try_acquire("m", 100, Instant::now(), w).is_ok());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(b.try_acquire("m", 200, Instant::now(), w).is_ok());
        b.settle(100, 150);
        assert_eq!(b.left("m", Instant::now(), w).minute_tokens, Some(650));
        // The first call leaves the window with its settled weight.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.left("m", Instant::now(), w).minute_tokens, Some(800));
        assert!(b.try_acquire("m", 800, Instant::now(), w).is_ok());
        assert!(matches!(b.try_acquire("m", 1, Instant::now(), w), Err(Refusal::Minute(_))));
        // Without minute limits nothing is kept per call.
        let mut free = Budget::new(None, Some(1_000_000), None);
        for _ in 0..1000 {
            assert!(free.try_acquire("m", 10, Instant::now(), w).is_ok());
        }
        assert!(free.window.is_empty());
        assert_eq!(free.left("m", Instant::now(), w).day_used, 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn rpd_resets_at_pacific_midnight() {
        let mut b = Budget::new(None, Some(1), None);
        let evening = wall("2026-01-15T07:00:00Z"); // 23:00 in Los Angeles
        assert!(b.try_acquire("m", 1, Instant::now(), evening).is_ok());
        assert_eq!(b.try_acquire("m", 1, Instant::now(), evening), Err(Refusal::Day(Duration::from_secs(3600))));
        assert!(b.try_acquire("m", 1, Instant::now(), wall("2026-01-15T08:00:01Z")).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn upstream_429_blocks() {
        let w = wall("2026-01-15T12:00:00Z");
        let mut b = Budget::new(None, None, None);
        b.on_rate_limited("m", QuotaScope::Minute, Some(Duration::from_secs(28)), Instant::now(), w);
        assert_eq!(b.try_acquire("m", 1, Instant::now(), w), Err(Refusal::Minute(Duration::from_secs(28))));
        tokio::time::advance(Duration::from_secs(28)).await;
        assert!(b.try_acquire("m", 1, Instant::now(), w).is_ok());

        b.on_rate_limited("m", QuotaScope::Day, None, Instant::now(), w);
        assert!(matches!(b.try_acquire("m", 1, Instant::now(), w), Err(Refusal::Day(_))));
        assert!(b.try_acquire("other", 1, Instant::now(), w).is_ok(), "per-day marks one model");
        assert!(b.left("m", Instant::now(), w).day_exhausted);
        assert!(b.try_acquire("m", 1, Instant::now(), wall("2026-01-16T08:00:00Z")).is_ok());
    }
}
