//! A deterministic simulated fleet for demos: ten servers whose metrics are a pure function of
//! (server, time, seed).
//!
//! The web app's demo mode needs believable, lively numbers without any real machines. Rather than
//! run a simulation loop and store its output, every reading is computed on demand from a
//! counter-based hash, so any instant — now, last week, or a chart's 1-second tail — is available
//! immediately and always reads the same. A fixed incident calendar (six scenarios in 4-hour
//! blocks, each hour cycling normal -> warning -> critical -> recovery) guarantees that every
//! status and every incident type shows up during a demo.
//!
//! ```
//! let web = simulation::server("web-01").unwrap();
//! let now = 1_704_067_200_000; // 2024-01-01T00:00:00Z
//! let a = simulation::sample(web, now, 42);
//! assert_eq!(a, simulation::sample(web, now, 42));
//! let (scenario, phase) = simulation::scenario_at(now);
//! assert_eq!((scenario.id(), phase.id()), ("backup-crisis", "normal"));
//! ```

mod noise;
mod sample;
mod scenario;
mod servers;

#[cfg(test)]
mod tests;

pub use noise::JITTER_PERIOD_MS;
pub use sample::{
    Band, DAILY_PEAK_HOUR_UTC, JITTER, SimSample, Status, Thresholds, fleet_snapshot, history, history_with, sample,
    sample_with,
};
pub use scenario::{
    BLOCK_HOURS, Effect, Intensity, Metric, PHASE_MINUTES, Phase, Scenario, ScenarioInfo, ScenarioState, scenario_at,
    scenario_state,
};
pub use servers::{Baseline, ServerType, Service, ServiceStatus, SimServer, Specs, fleet, server};
