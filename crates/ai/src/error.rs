//! Errors of the gateway: what a provider call can fail with, and what the router answers.

use std::time::Duration;

/// Which quota window a rate limit refers to; decides between waiting and failing over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaScope {
    /// Clears within a minute: waiting is worth it when the deadline allows.
    Minute,
    /// Lasts until the provider's day rolls over: fail over at once.
    Day,
    /// The upstream did not say (e.g. a bare 429 with `Retry-After`).
    Unknown,
}

/// One failed call to one provider. Cheap to clone so coalesced waiters can share it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The provider has no credentials or is otherwise not usable; not a fault of the upstream.
    #[error("provider not configured: {0}")]
    NotConfigured(String),
    /// TCP/TLS connect failed or the connection dropped before a response: safe to retry.
    #[error("transport error: {0}")]
    Transport(String),
    /// The per-attempt timeout passed.
    #[error("timed out")]
    Timeout,
    /// A non-success HTTP status other than 429.
    #[error("upstream status {status}: {message}")]
    Status { status: u16, message: String, retry_after: Option<Duration> },
    /// A 429 or a local budget refusal.
    #[error("rate limited ({scope:?})")]
    RateLimited { scope: QuotaScope, retry_after: Option<Duration> },
    /// The upstream answered something we cannot parse.
    #[error("malformed upstream response: {0}")]
    Malformed(String),
    /// A stream ended or broke before its final chunk.
    #[error("stream cut: {0}")]
    StreamCut(String),
}

impl ProviderError {
    /// Whether the same provider may be asked again: only when nothing was delivered and the fault
    /// looks transient (connection problems and 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether the failure says something about the provider's health (feeds the breaker).
    /// Quota refusals and request faults (400) do not: the provider is fine.
    pub fn counts_against_health(&self) -> bool {
        match self {
            Self::Transport(_) | Self::Timeout | Self::Malformed(_) | Self::StreamCut(_) => true,
            Self::Status { status, .. } => *status >= 500 || matches!(status, 401 | 403 | 404),
            Self::NotConfigured(_) | Self::RateLimited { .. } => false,
        }
    }

    /// A short stable label for attempts, logs and metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::NotConfigured(_) => "not_configured",
            Self::Transport(_) => "transport_error",
            Self::Timeout => "timeout",
            Self::Status { status, .. } if *status >= 500 => "upstream_5xx",
            Self::Status { .. } => "upstream_4xx",
            Self::RateLimited { scope: QuotaScope::Day, .. } => "quota_day",
            Self::RateLimited { .. } => "rate_limited",
            Self::Malformed(_) => "malformed",
            Self::StreamCut(_) => "stream_cut",
        }
    }
}

/// What the router answers when it cannot answer. Each maps to one HTTP status (see [`AiError::http_status`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum AiError {
    /// The request itself is wrong (empty messages, bad parameters). HTTP 400.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// `mode`/model names no configured engine. HTTP 404 (the model does not exist).
    #[error("unknown engine or model: {0}")]
    UnknownEngine(String),
    /// A pinned engine's quota is spent and the deadline does not allow waiting. HTTP 429.
    #[error("quota exhausted for {engine}")]
    QuotaExhausted { engine: String, retry_after: Option<Duration> },
    /// Too many requests are already waiting for quota. HTTP 503 with Retry-After.
    #[error("queue full")]
    QueueFull { retry_after: Duration },
    /// A pinned engine has no API key in the environment. HTTP 503.
    #[error("engine {engine} is not configured")]
    NotConfigured { engine: String },
    /// A pinned engine's circuit is open. HTTP 503 with Retry-After.
    #[error("engine {engine} unavailable (circuit open)")]
    CircuitOpen { engine: String, retry_after: Duration },
    /// The overall deadline passed before any engine answered. HTTP 504.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    /// The pinned engine failed. HTTP 502. The message is safe to show (no secrets, no bodies).
    #[error("upstream {engine} failed: {outcome}")]
    Upstream { engine: String, outcome: String },
}

impl AiError {
    /// The HTTP status the API layer should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) => 400,
            Self::UnknownEngine(_) => 404,
            Self::QuotaExhausted { .. } => 429,
            Self::QueueFull { .. } | Self::CircuitOpen { .. } | Self::NotConfigured { .. } => 503,
            Self::DeadlineExceeded => 504,
            Self::Upstream { .. } => 502,
        }
    }

    /// A stable machine code for the error envelope.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "AI_INVALID_REQUEST",
            Self::UnknownEngine(_) => "AI_UNKNOWN_ENGINE",
            Self::QuotaExhausted { .. } => "AI_QUOTA_EXHAUSTED",
            Self::QueueFull { .. } => "AI_QUEUE_FULL",
            Self::CircuitOpen { .. } => "AI_ENGINE_UNAVAILABLE",
            Self::NotConfigured { .. } => "AI_ENGINE_NOT_CONFIGURED",
            Self::DeadlineExceeded => "AI_TIMEOUT",
            Self::Upstream { .. } => "AI_UPSTREAM_ERROR",
        }
    }

    /// The `Retry-After` the API layer should send, rounded up to whole seconds by the caller.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::QuotaExhausted { retry_after, .. } => *retry_after,
            Self::QueueFull { retry_after } | Self::CircuitOpen { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}
