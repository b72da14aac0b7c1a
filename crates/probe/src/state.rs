//! A check's up/down state as results arrive: a pure state machine (times are passed in, no clock is
//! read), so the hub can drive it from live results and from an agent's spooled ones alike.
//!
//! `pending` until the first result decides; `retries` consecutive failures are tolerated (the
//! status stays what it was) before the next one makes it `down`; the first success makes it `up`.
//! Keep one state per check and place it ran (`where`): results from two agents are two series.

use serde::{Deserialize, Serialize};

use crate::check::Check;

/// A check's status. [`CheckState::observe`] yields `pending`, `up` or `down`; `unknown` comes only
/// from [`CheckState::status_at`], when results stopped arriving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Pending,
    Up,
    Down,
    Unknown,
}

/// What the state machine needs of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures tolerated before one counts.
    pub retries: u32,
    /// After this long without a result the status is `unknown`, and a gap between two results
    /// counts toward uptime for at most this long (the time in between was not observed).
    pub stale_after_ms: i64,
}

impl Policy {
    /// Three intervals plus the timeout: one late or lost result does not make a check unknown.
    pub fn for_check(check: &Check) -> Self {
        let interval_ms = i64::from(check.def().interval_seconds) * 1000;
        Self { retries: check.retries(), stale_after_ms: 3 * interval_ms + i64::from(check.def().timeout_ms) }
    }
}

/// Counters since the state was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub results: u64,
    pub up_results: u64,
    /// Time spent up and down, from one result to the next (pending time counts toward neither).
    pub up_ms: u64,
    pub down_ms: u64,
}

impl Counters {
    /// The share of observed time spent up, 0-1 (`None` before any time was observed).
    pub fn time_uptime(&self) -> Option<f64> {
        let total = self.up_ms + self.down_ms;
        (total > 0).then(|| self.up_ms as f64 / total as f64)
    }

    /// The share of successful results, 0-1.
    pub fn result_uptime(&self) -> Option<f64> {
        (self.results > 0).then(|| self.up_results as f64 / self.results as f64)
    }
}

/// A change of status, for alerts, incidents and `check_update` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub from: Status,
    pub to: Status,
    /// When the result that caused it was taken (ms since the epoch).
    pub at: i64,
}

/// One check's state at one place.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckState {
    pub status: Status,
    /// When `status` took its value (ms since the epoch; `None` while pending from the start).
    pub since: Option<i64>,
    pub consecutive_failures: u32,
    /// The time of the newest result observed.
    pub last_at: Option<i64>,
    pub counters: Counters,
}

impl CheckState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a result (`up`, taken at `at` ms). A result not newer than the last one observed is
    /// ignored (a replayed or reordered one cannot move the state back); returns the transition, if
    /// the status changed.
    pub fn observe(&mut self, policy: Policy, up: bool, at: i64) -> Option<Transition> {
        if self.last_at.is_some_and(|last| at <= last) {
            return None;
        }
        if let Some(last) = self.last_at {
            let gap = u64::try_from((at - last).min(policy.stale_after_ms)).unwrap_or(0);
            match self.status {
                Status::Up => self.counters.up_ms += gap,
                Status::Down => self.counters.down_ms += gap,
                Status::Pending | Status::Unknown => {}
            }
        }
        self.last_at = Some(at);
        self.counters.results += 1;
        let next = if up {
            self.counters.up_results += 1;
            self.consecutive_failures = 0;
            Status::Up
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            if self.consecutive_failures > policy.retries { Status::Down } else { self.status }
        };
        (next != self.status).then(|| {
            let t = Transition { from: self.status, to: next, at };
            self.status = next;
            self.since = Some(at);
            t
        })
    }

    /// The status as of `now` (ms): `unknown` when the newest result is older than the policy allows
    /// (the place that runs the check has gone quiet), else the observed status.
    pub fn status_at(&self, policy: Policy, now: i64) -> Status {
        match self.last_at {
            Some(last) if now - last > policy.stale_after_ms => Status::Unknown,
            _ => self.status,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const P0: Policy = Policy { retries: 0, stale_after_ms: 35_000 };
    const P2: Policy = Policy { retries: 2, stale_after_ms: 35_000 };

    #[test]
    fn pending_until_the_first_result_then_up() {
        let mut s = CheckState::new();
        assert_eq!(s.status, Status::Pending);
        let t = s.observe(P0, true, 1_000).unwrap();
        assert_eq!((t.from, t.to, t.at), (Status::Pending, Status::Up, 1_000));
        assert_eq!(s.since, Some(1_000));
        assert_eq!(s.observe(P0, true, 11_000), None);
        assert_eq!(s.counters.up_ms, 10_000);
    }

    #[test]
    fn retries_tolerate_failures_before_down() {
        let mut s = CheckState::new();
        s.observe(P2, true, 0);
        assert_eq!(s.observe(P2, false, 10_000), None);
        assert_eq!(s.observe(P2, false, 20_000), None);
        assert_eq!((s.status, s.consecutive_failures), (Status::Up, 2));
        let t = s.observe(P2, false, 30_000).unwrap();
        assert_eq!((t.from, t.to, t.at), (Status::Up, Status::Down, 30_000));
        assert_eq!(s.observe(P2, false, 40_000), None);
        let t = s.observe(P2, true, 50_000).unwrap();
        assert_eq!((t.from, t.to), (Status::Down, Status::Up));
        assert_eq!(s.consecutive_failures, 0);
        // Up while retrying counts as up; down from the third failure on.
        assert_eq!(s.counters.up_ms, 30_000);
        assert_eq!(s.counters.down_ms, 20_000);
        assert_eq!(s.counters.time_uptime(), Some(0.6));
        assert_eq!((s.counters.results, s.counters.up_results), (6, 2));
    }

    #[test]
    fn a_first_failure_with_retries_stays_pending() {
        let mut s = CheckState::new();
        assert_eq!(s.observe(P2, false, 0), None);
        assert_eq!(s.status, Status::Pending);
        s.observe(P2, false, 10_000);
        let t = s.observe(P2, false, 20_000).unwrap();
        assert_eq!((t.from, t.to), (Status::Pending, Status::Down));
        // Pending time counts toward neither.
        assert_eq!(s.counters.up_ms + s.counters.down_ms, 0);
    }

    #[test]
    fn without_retries_the_first_failure_is_down() {
        let mut s = CheckState::new();
        s.observe(P0, true, 0);
        assert_eq!(s.observe(P0, false, 10_000).unwrap().to, Status::Down);
    }

    #[test]
    fn old_and_repeated_results_are_ignored() {
        let mut s = CheckState::new();
        s.observe(P0, true, 10_000);
        assert_eq!(s.observe(P0, false, 10_000), None);
        assert_eq!(s.observe(P0, false, 5_000), None);
        assert_eq!((s.status, s.counters.results), (Status::Up, 1));
    }

    #[test]
    fn long_gaps_count_for_at_most_the_stale_time_and_read_as_unknown() {
        let mut s = CheckState::new();
        s.observe(P0, true, 0);
        assert_eq!(s.status_at(P0, 35_000), Status::Up);
        assert_eq!(s.status_at(P0, 35_001), Status::Unknown);
        s.observe(P0, true, 3_600_000);
        assert_eq!(s.counters.up_ms, 35_000);
        assert_eq!(s.status_at(P0, 3_600_000), Status::Up);
    }

    #[test]
    fn serialises_for_the_hub_to_keep() {
        let mut s = CheckState::new();
        s.observe(P0, false, 1);
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""status":"down""#) && text.contains(r#""consecutiveFailures":1"#), "{text}");
        assert_eq!(serde_json::from_str::<CheckState>(&text).unwrap(), s);
    }
}
