//! Alerting: rules and silences (`rule`), notification channels and their delivery (`notify`), the pure evaluation engine (`engine`), what the rules see
//! of the fleet (`observation`, pure), the plan's default rules (`defaults`), their persistence in
//! the store's key-value table (`persist`), and the service that owns edits, runs evaluations and
//! publishes events (`service`; `jobs::alerts` drives it). Only `persist` and `service` do IO.

pub mod defaults;
pub mod engine;
pub mod mirror;
pub mod notify;
pub mod observation;
pub mod persist;
pub mod rule;
pub mod service;

pub use engine::{Alert, AlertFilter, AlertState, Engine, EngineConfig, Event, EventKind, Observation, ProcessInfo};
pub use rule::{Matchers, Metric, Op, Rule, Scope, Severity, Silence, Window};
pub use service::{Alerting, AlertingError, Change};
