//! What the server knows about itself: request counts and latency percentiles, the process's memory,
//! and the Prometheus registry every component adds its series to.

pub mod alert_series;
pub mod fleet_series;
pub mod process;
pub mod prometheus;
pub mod stats;
