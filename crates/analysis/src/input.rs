//! What the caller hands in: servers with their specs and metric history, and the current time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metric::Metric;

/// One reading: unix seconds and a value. Series are expected sorted by `ts`, but every analysis
/// tolerates unsorted, duplicate and non-finite input (see [`crate::Series`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Unix seconds.
    pub ts: i64,
    /// The reading, in the metric's unit.
    pub value: f64,
}

impl Point {
    /// A point at `ts` (unix seconds) with `value`.
    pub const fn new(ts: i64, value: f64) -> Point {
        Point { ts, value }
    }
}

/// The hardware a server was given: what right-sizing compares use against.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Specs {
    /// Logical CPUs; 0 when unknown.
    pub cpu_cores: u32,
    /// Memory in GB; 0 when unknown.
    pub memory_gb: f64,
    /// Disk in GB; 0 when unknown.
    pub disk_gb: f64,
}

/// One server's identity, specs and history.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSeries {
    /// The server id used by the REST API.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The server type (`web`, `database`, ...), as the API names it.
    #[serde(default)]
    pub server_type: String,
    /// Hardware; zeros when unknown.
    #[serde(default)]
    pub specs: Specs,
    /// History per metric; metrics without data may be absent.
    #[serde(default)]
    pub metrics: BTreeMap<Metric, Vec<Point>>,
}

/// Everything an analysis reads. `now` is passed in rather than read from a clock so results are
/// reproducible and tests need no time control.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The servers to analyse (the fleet, or the one asked about plus its peers).
    pub servers: Vec<ServerSeries>,
    /// The current time, unix seconds.
    pub now: i64,
}
