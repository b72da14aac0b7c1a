//! One engine as the router sees it: a provider plus its breaker, budget, stats, and the admission
//! and retry loop around each call.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::breaker::Breaker;
use crate::error::{AiError, ProviderError, QuotaScope};
use crate::provider::Provider;
use crate::quota::{Budget, Refusal};
use crate::request::{Attempt, Usage};
use crate::shared::{QuotaSpec, Shared, SharedGrant, SharedVerdict};
use crate::status::{EngineStats, Metrics};

/// Requests waiting for quota, all engines together. Bounded: past `capacity` a request fails
/// over (or, pinned, gets `QueueFull`) instead of holding memory.
pub(crate) struct Queue {
    depth: AtomicUsize,
    capacity: usize,
    metrics: Metrics,
}

/// A place in the queue, given back on drop (also when the waiting request is cancelled).
pub(crate) struct QueueSlot<'a>(&'a Queue);

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.depth.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.queue_depth.dec();
    }
}

impl Queue {
    pub fn new(capacity: usize, metrics: Metrics) -> Self {
        Self { depth: AtomicUsize::new(0), capacity, metrics }
    }

    fn try_enter(&self) -> Option<QueueSlot<'_>> {
        self.depth.fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| (d < self.capacity).then_some(d + 1)).ok()?;
        self.metrics.queue_depth.inc();
        Some(QueueSlot(self))
    }

    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Acquire)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Why an engine gave no answer: the label for the attempt list and the error a pinned request gets.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: AiError,
}

pub(crate) struct EngineState {
    pub breaker: Breaker,
    pub budget: Budget,
    pub stats: EngineStats,
}

pub(crate) struct Engine {
    pub name: String,
    pub kind: &'static str,
    pub models: Vec<String>,
    pub configured: bool,
    pub provider: Provider,
    timeout: Duration,
    state: Mutex<EngineState>,
    /// The configured limits, for a quota shared with other gateways.
    pub spec: QuotaSpec,
    /// Set by the hub when several gateways share the provider's quota.
    pub shared: OnceLock<Shared>,
}

/// What a call needs besides the operation itself.
pub(crate) struct CallCtx<'a> {
    pub model: &'a str,
    pub tokens: u64,
    pub deadline: Instant,
    pub max_attempts: u32,
    pub queue: &'a Queue,
    pub metrics: &'a Metrics,
}

impl Engine {
    /// `configured` is false for a provider without its key: it stays listed but is never called.
    pub fn new(
        name: String,
        kind: &'static str,
        models: Vec<String>,
        provider: Provider,
        timeout: Duration,
        limits: (Breaker, Budget, bool),
    ) -> Self {
        let (breaker, budget, configured) = limits;
        Self {
            name,
            kind,
            models,
            configured,
            provider,
            timeout,
            state: Mutex::new(EngineState { breaker, budget, stats: EngineStats::new(configured) }),
            spec: QuotaSpec::default(),
            shared: OnceLock::new(),
        }
    }

    /// The state lock. Poisoning cannot leave it inconsistent in a way that matters (counters and
    /// windows), so a poisoned lock is used as is rather than failing every later request.
    pub fn lock(&self) -> MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn default_model(&self) -> &str {
        self.models.first().map(String::as_str).unwrap_or("")
    }

    /// Waits until breaker and budget allow a call, in the bounded queue, while the deadline allows.
    async fn admit(&self, cx: &CallCtx<'_>) -> Result<Option<Box<dyn SharedGrant>>, (&'static str, AiError)> {
        loop {
            let now = Instant::now();
            let refusal = {
                let mut st = self.lock();
                if let Err(wait) = st.breaker.try_acquire(now) {
                    return Err((
                        "circuit_open",
                        AiError::CircuitOpen { engine: self.name.clone(), retry_after: wait },
                    ));
                }
                let r = st.budget.try_acquire(cx.model, cx.tokens, now, jiff::Timestamp::now());
                if r.is_err() {
                    st.breaker.on_neutral();
                }
                r
            };
            let refusal = match (refusal, self.shared.get()) {
                (Ok(()), Some(shared)) if self.spec.is_limited() => {
                    match shared.reserve(&self.name, cx.tokens, self.spec).await {
                        SharedVerdict::Granted(g) => return Ok(Some(g)),
                        SharedVerdict::Unavailable => return Ok(None),
                        // The local budget counted a call that did not go out: harmless (it only
                        // makes this gateway stricter for the rest of the window).
                        SharedVerdict::Minute(d) => Err(Refusal::Minute(d)),
                        SharedVerdict::Day(d) => Err(Refusal::Day(d)),
                    }
                }
                (r, _) => r,
            };
            match refusal {
                Ok(()) => return Ok(None),
                Err(Refusal::Day(d)) => {
                    return Err((
                        "quota_day",
                        AiError::QuotaExhausted { engine: self.name.clone(), retry_after: Some(d) },
                    ));
                }
                Err(Refusal::Minute(d)) => {
                    if now + d > cx.deadline {
                        return Err((
                            "rate_limited",
                            AiError::QuotaExhausted { engine: self.name.clone(), retry_after: Some(d) },
                        ));
                    }
                    let Some(_slot) = cx.queue.try_enter() else {
                        return Err(("queue_full", AiError::QueueFull { retry_after: d }));
                    };
                    tokio::time::sleep_until(now + d).await;
                }
            }
        }
    }

    /// Records one finished call: breaker, budget (429s), stats, metrics.
    fn after(&self, cx: &CallCtx<'_>, result: Result<Usage, &ProviderError>, took: Duration) -> &'static str {
        let now = Instant::now();
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let (outcome, usage) = match result {
            Ok(u) => ("ok", u),
            Err(e) => (e.outcome(), Usage::default()),
        };
        let mut st = self.lock();
        match result {
            Ok(u) => {
                st.breaker.on_success();
                st.budget.settle(cx.tokens, u.prompt_tokens + u.completion_tokens);
            }
            Err(e) if e.counts_against_health() => st.breaker.on_failure(now),
            Err(e) => {
                st.breaker.on_neutral();
                if let ProviderError::RateLimited { scope, retry_after } = e {
                    st.budget.on_rate_limited(cx.model, *scope, *retry_after, now, jiff::Timestamp::now());
                }
            }
        }
        st.stats.record(outcome, ms, usage);
        // Health follows real calls between health checks: a success proves the engine up, an
        // open circuit proves it down; single failures leave the last verdict alone.
        if result.is_ok() {
            st.stats.health = "up";
        } else if st.breaker.state(now) == crate::breaker::CircuitState::Open {
            st.stats.health = "down";
        }
        drop(st);
        cx.metrics.attempt(&self.name, outcome, took.as_secs_f64(), usage);
        if let Err(e) = result {
            tracing::warn!(engine = %self.name, model = cx.model, outcome, ms, error = %e, "ai engine attempt failed");
        }
        outcome
    }

    /// Records a call that succeeded outside [`Engine::run`] (the local engine); returns its ms.
    pub fn record_ok(&self, took: Duration, usage: Usage, metrics: &Metrics) -> u64 {
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        self.lock().stats.record("ok", ms, usage);
        metrics.attempt(&self.name, "ok", took.as_secs_f64(), usage);
        ms
    }

    /// Records a failure that happened after a stream had started.
    pub fn stream_failed(&self, e: &ProviderError, metrics: &Metrics) {
        let mut st = self.lock();
        if e.counts_against_health() {
            st.breaker.on_failure(Instant::now());
        }
        *st.stats.errors.entry(e.outcome()).or_default() += 1;
        st.stats.last_error = Some(e.outcome().to_string());
        drop(st);
        metrics.attempt(&self.name, e.outcome(), 0.0, Usage::default());
    }

    /// Runs `op` with admission, a per-attempt timeout and safe retries (connect errors and 5xx,
    /// which happen before anything was delivered), recording every attempt.
    pub async fn run<T, F, Fut>(
        &self,
        cx: &CallCtx<'_>,
        attempts: &mut Vec<Attempt>,
        usage_of: fn(&T) -> Usage,
        op: F,
    ) -> Result<T, Failure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let grant = match self.admit(cx).await {
                Ok(g) => g,
                Err((outcome, error)) => {
                    attempts.push(Attempt { engine: self.name.clone(), outcome: outcome.into(), ms: 0 });
                    return Err(Failure { error });
                }
            };
            let start = Instant::now();
            let remaining = cx.deadline.saturating_duration_since(start);
            let guard = CallGuard(self, true);
            let result = match tokio::time::timeout(self.timeout.min(remaining), op()).await {
                Ok(r) => r,
                Err(_) => Err(ProviderError::Timeout),
            };
            guard.disarm();
            let took = start.elapsed();
            let outcome = self.after(cx, result.as_ref().map(usage_of), took);
            if let Some(g) = grant {
                let used = result.as_ref().map(usage_of).map_or(0, |u| u.prompt_tokens + u.completion_tokens);
                g.settle(used);
            }
            attempts.push(Attempt {
                engine: self.name.clone(),
                outcome: outcome.into(),
                ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            });
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            // A per-minute 429 is worth another go through admission, which waits for the window
            // in the queue if the deadline allows; a per-day one is not.
            let again = match &err {
                ProviderError::RateLimited { scope, .. } => *scope != QuotaScope::Day,
                e => e.is_retryable(),
            };
            if again && tries < cx.max_attempts {
                let backoff = match &err {
                    ProviderError::Status { retry_after: Some(d), .. } => *d,
                    ProviderError::RateLimited { .. } => Duration::ZERO,
                    _ => Duration::from_millis(100 * (1 << tries.min(5))),
                };
                if Instant::now() + backoff < cx.deadline {
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
            return Err(Failure { error: to_ai_error(&self.name, err) });
        }
    }
}

/// Frees a half-open probe slot when the caller goes away mid-call (a client that disconnects
/// drops the request future): without it the breaker would wait for a probe that never reports.
struct CallGuard<'a>(&'a Engine, bool);

impl CallGuard<'_> {
    fn disarm(mut self) {
        self.1 = false;
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.lock().breaker.on_neutral();
        }
    }
}

fn to_ai_error(engine: &str, e: ProviderError) -> AiError {
    match e {
        ProviderError::RateLimited { retry_after, .. } => {
            AiError::QuotaExhausted { engine: engine.into(), retry_after }
        }
        ProviderError::Timeout => AiError::DeadlineExceeded,
        e => AiError::Upstream { engine: engine.into(), outcome: e.outcome().into() },
    }
}
