//! What the gateway reports: per-engine health, circuit, quota, latency and errors; cache and queue;
//! and Prometheus metrics the binary registers into its own registry.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram as PromHistogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::breaker::CircuitState;
use crate::quota::QuotaLeft;
use crate::request::Usage;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub count: u64,
}

/// Counters kept per engine, under the engine's lock.
#[derive(Debug)]
pub(crate) struct EngineStats {
    latency: Option<Histogram<u64>>,
    pub requests: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub tokens: Usage,
    pub last_error: Option<String>,
    pub health: &'static str,
    pub checked_at: Option<jiff::Timestamp>,
}

impl EngineStats {
    pub fn new(configured: bool) -> Self {
        Self {
            // Two significant figures over 1 ms .. 1 h: a few kilobytes per engine.
            latency: Histogram::new_with_bounds(1, 3_600_000, 2).ok(),
            requests: 0,
            errors: BTreeMap::new(),
            tokens: Usage::default(),
            last_error: None,
            health: if configured { "unknown" } else { "not_configured" },
            checked_at: None,
        }
    }

    pub fn record(&mut self, outcome: &'static str, ms: u64, usage: Usage) {
        self.requests += 1;
        if let Some(h) = &mut self.latency {
            h.saturating_record(ms.max(1));
        }
        if outcome != "ok" {
            *self.errors.entry(outcome).or_default() += 1;
            self.last_error = Some(outcome.to_string());
        }
        self.tokens.prompt_tokens += usage.prompt_tokens;
        self.tokens.completion_tokens += usage.completion_tokens;
    }

    pub fn percentiles(&self) -> Percentiles {
        self.latency.as_ref().map_or_else(Percentiles::default, |h| Percentiles {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
            count: h.len(),
        })
    }
}

/// One engine in `GET /api/ai/status`.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    pub name: String,
    /// `gemini`, `openai` or `local`.
    pub kind: &'static str,
    pub models: Vec<String>,
    pub configured: bool,
    /// `up`, `down`, `unknown` (not checked yet) or `not_configured`.
    pub health: &'static str,
    pub checked_at: Option<String>,
    pub circuit: CircuitState,
    pub quota: QuotaLeft,
    pub latency_ms: Percentiles,
    pub requests: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub tokens: Usage,
    pub last_error: Option<String>,
}

/// The cache in the status.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStats {
    pub entries: u64,
    pub bytes: u64,
    pub max_bytes: u64,
    pub hits: u64,
    pub misses: u64,
    pub bypasses: u64,
    /// Hits over hits + misses, 0 when nothing was asked.
    pub hit_rate: f64,
}

/// The whole status.
#[derive(Debug, Clone, Serialize)]
pub struct AiStatus {
    /// In chain order, `local` last, then engines not in the chain.
    pub engines: Vec<EngineStatus>,
    pub chain: Vec<String>,
    pub cache: CacheStats,
    pub queue_depth: usize,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub engine: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EngineLabels {
    pub engine: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TokenLabels {
    pub engine: String,
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CacheLabels {
    pub status: String,
}

fn latency_histogram() -> PromHistogram {
    PromHistogram::new(exponential_buckets(0.01, 2.0, 14))
}

/// Prometheus metrics. They exist without a registry (cheap atomics); `register` shares them
/// with the binary's registry, so there is no global state and tests can run several routers.
#[derive(Clone)]
pub struct Metrics {
    pub(crate) attempts: Family<OutcomeLabels, Counter>,
    pub(crate) latency: Family<EngineLabels, PromHistogram, fn() -> PromHistogram>,
    pub(crate) tokens: Family<TokenLabels, Counter>,
    pub(crate) cache: Family<CacheLabels, Counter>,
    pub(crate) queue_depth: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            attempts: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            tokens: Family::default(),
            cache: Family::default(),
            queue_depth: Gauge::default(),
        }
    }
}

impl Metrics {
    /// Registers under `openmanager_ai_*` (the prefix is the caller's choice via a sub-registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("ai_attempts", "Engine attempts by outcome", self.attempts.clone());
        registry.register("ai_attempt_seconds", "Engine attempt latency", self.latency.clone());
        registry.register("ai_tokens", "Tokens by engine and kind (prompt|completion)", self.tokens.clone());
        registry.register("ai_cache_requests", "Cache lookups by status (hit|miss|bypass)", self.cache.clone());
        registry.register("ai_queue_depth", "Requests waiting for quota", self.queue_depth.clone());
    }

    pub(crate) fn attempt(&self, engine: &str, outcome: &str, secs: f64, usage: Usage) {
        self.attempts.get_or_create(&OutcomeLabels { engine: engine.into(), outcome: outcome.into() }).inc();
        self.latency.get_or_create(&EngineLabels { engine: engine.into() }).observe(secs);
        self.tokens(engine, usage);
    }

    /// Tokens reported at the end of a stream (the attempt itself was counted when it started).
    pub(crate) fn tokens(&self, engine: &str, usage: Usage) {
        for (kind, n) in [("prompt", usage.prompt_tokens), ("completion", usage.completion_tokens)] {
            if n > 0 {
                self.tokens.get_or_create(&TokenLabels { engine: engine.into(), kind: kind.into() }).inc_by(n);
            }
        }
    }

    pub(crate) fn cache(&self, status: &str) {
        self.cache.get_or_create(&CacheLabels { status: status.into() }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_encode_without_a_global_registry() {
        let m = Metrics::default();
        m.attempt("local", "ok", 0.002, Usage { prompt_tokens: 3, completion_tokens: 5 });
        m.cache("hit");
        let mut reg = Registry::with_prefix("openmanager");
        m.register(&mut reg);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &reg).unwrap();
        assert!(out.contains("openmanager_ai_attempts_total{engine=\"local\",outcome=\"ok\"} 1"), "{out}");
        assert!(out.contains("openmanager_ai_tokens_total{engine=\"local\",kind=\"completion\"} 5"));
    }
}
