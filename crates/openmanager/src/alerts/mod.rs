//! Alerting: rules and silences (`rule`), the pure evaluation engine (`engine`), the plan's default
//! rules (`defaults`) and their persistence in the store's key-value table (`persist`).
//!
//! The caller owns the loop: every few seconds it gathers one [`Observation`] per server, calls
//! [`Engine::evaluate`] with the current time, and turns the returned [`Event`]s into notifications
//! (`crate::notify`) and WebSocket `alert` messages.

pub mod defaults;
pub mod engine;
pub mod persist;
pub mod rule;

pub use engine::{Alert, AlertFilter, AlertState, Engine, EngineConfig, Event, EventKind, Observation, ProcessInfo};
pub use rule::{Matchers, Metric, Op, Rule, Scope, Severity, Silence, Window};
