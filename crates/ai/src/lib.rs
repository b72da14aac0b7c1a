//! The AI gateway core: providers, router, quotas, cache, breaker and the built-in local engine.
//!
//! The binary builds one [`Router`] from its `[ai]` section ([`AiConfig`], keys from the
//! environment) and a [`LocalBackend`] — normally [`EngineBackend`], which asks
//! [`local::LocalEngine`] with facts from the binary's [`FactsSource`]: a snapshot per question,
//! then exactly what the resolved question needs (its [`local::FactsNeed`]) — then calls
//! [`Router::query`], [`Router::stream`], [`Router::query_with_tools`], [`Router::status`] and,
//! from a periodic job, [`Router::check_health`]. Follow-ups: the local engine reads a request's
//! earlier user messages as the conversation; [`Conversations`] keeps them per `sessionId`.
//!
//! Map: `config` (the `[ai]` section, key resolution, `ApiKey` that never prints), `request`
//! (the neutral model and the router's request/answer types), `provider/` (one module per wire
//! format, dispatch in `provider/mod.rs`), `stream` (SSE parsing, replay), `engine` (one engine:
//! admission through breaker and budget, the bounded quota queue, retries), `router` (plans,
//! fail-over, cache use, status), `stream` (neutral delta streams and the streamed variant), `cache`, `quota`,
//! `breaker`, `status` (stats and Prometheus metrics), `tools` (the tool-calling loop).
//!
//! Invariants:
//! - `auto` always ends with `local`, which is never skipped, never timed out and never fails;
//!   remote engines stop `local_reserve_ms` before the deadline so it can answer in time.
//! - Retries happen only before anything was delivered: connect errors and 5xx on a plain
//!   call, or on a stream before its first delta. A stream that breaks later ends with an error
//!   event. After a stream starts, the deadline no longer applies (the client's read timeout does).
//! - Only remote answers are cached (local answers read live facts); errors are never cached.
//!   An `auto` answer from a fallback engine is cached like any other, for the TTL.
//! - Every wait is bounded: quota waits go through one queue of `queue_capacity` places and
//!   only while the deadline allows; per-engine state is a fixed set of counters and windows.
//! - Keys live only in `ApiKey`; upstream error bodies never reach `AiError` (only an outcome label).

pub mod breaker;
mod cache;
pub mod compat;
pub mod config;
mod engine;
pub mod error;
mod flight;
pub mod local;
pub mod provider;
pub mod quota;
pub mod request;
mod router;
pub mod shared;
pub mod status;
pub mod stream;
pub mod tools;

pub use breaker::CircuitState;
pub use config::{AiConfig, ApiKey, ProviderConfig, ProviderKind};
pub use error::{AiError, ProviderError, QuotaScope};
pub use local::{Conversations, FixtureSource};
pub use provider::local::{BoxFuture, LocalBackend, LocalReply};
pub use provider::local_engine::{EngineBackend, FactsSource};
pub use provider::{install_tls_provider, request_wire_bytes};
pub use request::{
    AiAnswer, AiRequest, Attempt, CacheStatus, ChatRequest, ChatResponse, Delta, LocalMeta, Message, Role, Target,
    ThinkingStep, ToolCall, ToolSpec, Usage,
};
pub use router::Router;
pub use shared::{QuotaSpec, SharedAnswers, SharedGrant, SharedLead, SharedLookup, SharedQuota, SharedVerdict};
pub use status::{AiStatus, EngineStatus, Metrics};
pub use stream::{AiStream, StreamEvent};
pub use tools::ToolRunner;
