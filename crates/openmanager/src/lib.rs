//! OpenManager Backend as a library, so the binary, the tests and later tools share one code path.
//! `main.rs` only parses the command line and calls in here.

pub mod agent;
pub mod alerts;
pub mod assistant;
pub mod auth;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod config;
pub mod fleet;
pub mod health;
pub mod http;
pub mod lifecycle;
pub mod logging;
pub mod mcp;
pub mod monitor;
pub mod notify;
pub mod ops;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod tools;
