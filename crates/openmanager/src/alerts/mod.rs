//! Alerting: rules and silences (`rule`), the pure evaluation engine (`engine`), what the rules see
//! of the fleet (`observe`, pure), the plan's default rules (`defaults`), their persistence in the
//! store's key-value table (`persist`), and the loop that ties them to the fleet, the WebSocket hub
//! and the notifier (`service`). Only `persist` and `service` do IO.

pub mod defaults;
pub mod engine;
pub mod observe;
pub mod persist;
pub mod rule;
pub mod service;

pub use engine::{Alert, AlertFilter, AlertState, Engine, EngineConfig, Event, EventKind, Observation, ProcessInfo};
pub use rule::{Matchers, Metric, Op, Rule, Scope, Severity, Silence, Window};
pub use service::Alerting;
