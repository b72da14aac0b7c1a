//! OpenManager Backend as a library, so the binary, the tests and later tools share one code path.
//! `main.rs` only parses the command line and calls in here.
//!
//! Layers, bottom up: domain services (`fleet`, `alerts`, `budget`, `analyses`, `assistant`, with
//! `validation`, `telemetry`, `component_health`, `tokens`) gathered in `services`; adapters over
//! them (`http`, its WebSocket hub under `http::ws`, `mcp`, `tools`); the composition root
//! (`server`) that builds them in that order. Nothing below imports what is above.

pub mod agent;
pub mod alerts;
pub mod analyses;
pub mod assistant;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod component_health;
pub mod config;
pub mod fleet;
pub mod http;
pub mod lifecycle;
pub mod logging;
pub mod mcp;
pub mod notify;
pub mod ops;
pub mod overview;
pub mod self_monitor;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod tokens;
pub mod tools;
pub mod validation;
