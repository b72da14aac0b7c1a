//! OpenManager Backend as a library, so the binary, the tests and later tools share one code path.
//! `main.rs` only parses the command line and calls in here.
//!
//! Layers, bottom up: foundations (`clock`, `validation`, `config`, `tokens`, `component_health`,
//! `telemetry`, `lifecycle`); domain services (`fleet`, `alerts` with its notifications, `budget`, `analyses`, `events`)
//! gathered in `services`; what reads across them (`overview`, `tools`, `assistant`, `jobs`,
//! `scaleout` for several hubs on Redis);
//! adapters (`http` with its WebSocket hub, `mcp`); and the composition root (`server`) that builds
//! them in that order. Nothing below imports what is above (`tests/layering.rs` checks it).

pub mod agent;
pub mod alerts;
pub mod analyses;
pub mod assistant;
pub mod budget;
pub mod changes;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod component_health;
pub mod config;
pub mod events;
pub mod fleet;
pub mod http;
pub mod jobs;
pub mod lifecycle;
pub mod logging;
pub mod maintenance;
pub mod mcp;
pub mod ops;
pub mod overview;
pub mod scaleout;
pub mod server;
pub mod services;
pub mod status_page;
pub mod telemetry;
pub mod tokens;
pub mod tools;
pub mod validation;
