//! Per-engine circuit breaker: stop calling an engine that keeps failing, probe it again after a cool-down.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// What the status endpoint shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is in flight; others are refused until it reports.
    HalfOpen {
        probing: bool,
    },
}

/// A breaker. Time is tokio's clock so tests can pause it.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: State,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self { threshold: threshold.max(1), cooldown, state: State::Closed { failures: 0 } }
    }

    /// Whether a call may go ahead now; `Err` carries how long until it may.
    /// In half-open state only the first caller gets through (the probe).
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        match &mut self.state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now >= *until => {
                self.state = State::HalfOpen { probing: true };
                Ok(())
            }
            State::Open { until } => Err(*until - now),
            State::HalfOpen { probing } if !*probing => {
                *probing = true;
                Ok(())
            }
            // A probe is out: ask again after a short while rather than piling onto a sick engine.
            State::HalfOpen { .. } => Err(Duration::from_secs(1)),
        }
    }

    pub fn on_success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    pub fn on_failure(&mut self, now: Instant) {
        self.state = match self.state {
            State::Closed { failures } if failures.saturating_add(1) < self.threshold => {
                State::Closed { failures: failures + 1 }
            }
            _ => State::Open { until: now + self.cooldown },
        };
    }

    /// A call that was let through ended without saying anything about health (quota refusal,
    /// client error): a half-open probe slot is freed so another can probe.
    pub fn on_neutral(&mut self) {
        if let State::HalfOpen { probing } = &mut self.state {
            *probing = false;
        }
    }

    pub fn state(&self, now: Instant) -> CircuitState {
        match self.state {
            State::Closed { .. } => CircuitState::Closed,
            State::Open { until } if now >= until => CircuitState::HalfOpen,
            State::Open { .. } => CircuitState::Open,
            State::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_half_opens_after_cooldown() {
        let mut b = Breaker::new(3, Duration::from_secs(30));
        for _ in 0..2 {
            assert!(b.try_acquire(Instant::now()).is_ok());
            b.on_failure(Instant::now());
        }
        assert_eq!(b.state(Instant::now()), CircuitState::Closed);
        b.on_failure(Instant::now());
        assert_eq!(b.state(Instant::now()), CircuitState::Open);
        assert_eq!(b.try_acquire(Instant::now()), Err(Duration::from_secs(30)));

        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(b.try_acquire(Instant::now()).is_err());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(b.state(Instant::now()), CircuitState::HalfOpen);
        assert!(b.try_acquire(Instant::now()).is_ok(), "the probe goes through");
        assert!(b.try_acquire(Instant::now()).is_err(), "only one probe at a time");

        // A failed probe re-opens for a full cool-down.
        b.on_failure(Instant::now());
        assert_eq!(b.state(Instant::now()), CircuitState::Open);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(b.try_acquire(Instant::now()).is_ok());
        b.on_success();
        assert_eq!(b.state(Instant::now()), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_count() {
        let mut b = Breaker::new(2, Duration::from_secs(5));
        b.on_failure(Instant::now());
        b.on_success();
        b.on_failure(Instant::now());
        assert_eq!(b.state(Instant::now()), CircuitState::Closed);
    }
}
