//! The `ai` crate's answer and status types as the OpenAPI document shows them (that crate has no
//! schema code). Each mirrors the serialized shape field for field; the test below serializes real
//! values and checks every key against these schemas, so a field added there fails here.

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// `ai::Attempt`: one engine tried for an answer.
#[derive(ToSchema)]
#[schema(as = AiAttempt)]
#[allow(dead_code)]
pub struct Attempt {
    engine: String,
    /// `ok`, or why the engine did not answer (`timeout`, `quota`, `circuit_open`, ...).
    outcome: String,
    ms: u64,
}

/// `ai::ThinkingStep`: a step of how the answer was made.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ThinkingStep {
    step: String,
    description: String,
    status: String,
    /// Milliseconds.
    duration: u64,
}

/// `ai::Usage`: tokens, as the provider counted them.
#[derive(ToSchema)]
#[schema(as = TokenUsage)]
#[allow(dead_code)]
pub struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// `ai::AiStatus`: the gateway's engines, cache and queue.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AiStatus {
    /// In chain order, `local` last, then engines not in the chain.
    engines: Vec<EngineStatus>,
    chain: Vec<String>,
    cache: CacheStats,
    queue_depth: u64,
    queue_capacity: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EngineStatus {
    name: String,
    /// `gemini`, `openai` or `local`.
    kind: String,
    models: Vec<String>,
    configured: bool,
    /// `up`, `down`, `unknown` (not checked yet) or `not_configured`.
    health: String,
    #[schema(format = DateTime)]
    checked_at: Option<String>,
    #[schema(inline)]
    circuit: CircuitState,
    quota: QuotaLeft,
    latency_ms: Percentiles,
    requests: u64,
    /// Failures by outcome.
    errors: BTreeMap<String, u64>,
    tokens: Usage,
    last_error: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

/// What is left of an engine's quotas; `null` where no limit is configured.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct QuotaLeft {
    minute_requests: Option<u32>,
    day_requests: Option<u32>,
    minute_tokens: Option<u64>,
    day_exhausted: bool,
    day_used: u32,
    day_limit: Option<u32>,
}

/// Milliseconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Percentiles {
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
    count: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CacheStats {
    entries: u64,
    bytes: u64,
    max_bytes: u64,
    hits: u64,
    misses: u64,
    bypasses: u64,
    /// Hits over hits + misses, 0 when nothing was asked.
    hit_rate: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::docs::shape::assert_shape;

    #[test]
    fn mirrors_match_what_the_ai_crate_sends() {
        let status = ai::AiStatus {
            engines: vec![ai::EngineStatus {
                name: "local".into(),
                kind: "local",
                models: vec!["local".into()],
                configured: true,
                health: "up",
                checked_at: Some("2026-01-01T00:00:00Z".into()),
                circuit: ai::CircuitState::HalfOpen,
                quota: Default::default(),
                latency_ms: Default::default(),
                requests: 1,
                errors: BTreeMap::from([("timeout", 1)]),
                tokens: Default::default(),
                last_error: Some("timeout".into()),
            }],
            chain: vec!["local".into()],
            cache: ai::status::CacheStats {
                entries: 1,
                bytes: 2,
                max_bytes: 3,
                hits: 4,
                misses: 5,
                bypasses: 6,
                hit_rate: 0.5,
            },
            queue_depth: 0,
            queue_capacity: 8,
        };
        assert_shape::<AiStatus>(&serde_json::to_value(&status).unwrap());
        let attempt = ai::Attempt { engine: "local".into(), outcome: "ok".into(), ms: 3 };
        assert_shape::<Attempt>(&serde_json::to_value(&attempt).unwrap());
        let step = ai::ThinkingStep { step: "a".into(), description: "b".into(), status: "c".into(), duration_ms: 1 };
        assert_shape::<ThinkingStep>(&serde_json::to_value(&step).unwrap());
        assert_shape::<Usage>(&serde_json::to_value(ai::Usage::default()).unwrap());
    }
}
