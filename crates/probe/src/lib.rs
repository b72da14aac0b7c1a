//! Service checks for the hub and its agents: what a check is and its validation ([`CheckDef`],
//! [`CheckDef::validate`] into a runnable [`Check`]), the probes (`http`, `tcp`, `ping`, `dns`, `tls`,
//! run by a [`Prober`]), the [`Runner`] that schedules them and reports [`CheckResult`]s, and the pure
//! up/down state machine ([`CheckState`]).
//!
//! Typical use (hub or agent):
//!
//! ```no_run
//! # async fn example(defs: Vec<probe::CheckDef>) -> Result<(), Box<dyn std::error::Error>> {
//! use probe::{Prober, ProberConfig, Runner, RunnerConfig};
//! let prober = Prober::new(ProberConfig::default())?;
//! let (runner, mut results) = Runner::new(prober, RunnerConfig::new(probe::HUB));
//! for def in defs {
//!     runner.upsert(def.validate().map_err(|e| format!("{e:?}"))?)?;
//! }
//! let cancel = tokio_util::sync::CancellationToken::new();
//! let job = runner.clone();
//! tokio::spawn(async move { job.run(cancel).await });
//! while let Some(result) = results.recv().await {
//!     println!("{} up={} {:?}", result.check_id, result.outcome.up, result.outcome.error);
//! }
//! # Ok(()) }
//! ```

mod check;
mod def;
mod dns;
mod exchange;
mod http;
mod ping;
mod prober;
mod result;
mod runner;
mod schedule;
mod state;
mod target;
mod tcp;
mod tls;
mod validate;

pub use check::Check;
pub use def::{
    AGENT_PREFIX, CheckDef, DnsSpec, HUB, HttpSpec, JsonPathSpec, Kind, RecordType, TlsSpec, agent_location,
};
pub use http::{MAX_BODY, MAX_REDIRECTS};
pub use prober::{Prober, ProberConfig, SetupError};
pub use result::{CheckResult, MAX_ERROR_LEN, Outcome};
pub use runner::{Execute, Runner, RunnerConfig, RunnerError, RunnerStats};
pub use schedule::pick_phase;
pub use state::{CheckState, Counters, Policy, Status, Transition};
pub use tls::TlsSetupError;
pub use validate::{
    DEFAULT_TIMEOUT_MS, FieldError, MAX_HEADERS, MAX_INTERVAL_SECONDS, MAX_RETRIES, MAX_RUN_ON, MAX_TIMEOUT_MS,
    MIN_INTERVAL_SECONDS, MIN_TIMEOUT_MS, default_timeout_ms,
};
