//! The metrics a question can name, and how each reads from a server's latest state.

use serde::{Deserialize, Serialize};

use super::ServerFact;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cpu,
    Memory,
    Disk,
    Network,
    Load,
}

impl Metric {
    pub const ALL: [Metric; 5] = [Metric::Cpu, Metric::Memory, Metric::Disk, Metric::Network, Metric::Load];

    /// The name used in [`super::Series::metric`] and the store.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::Disk => "disk",
            Metric::Network => "network",
            Metric::Load => "load1",
        }
    }

    /// Whether a series named `name` holds this metric (the store splits network into rx and tx).
    pub fn matches_series(self, name: &str) -> bool {
        match self {
            Metric::Network => matches!(name, "network" | "net_rx" | "net_tx"),
            Metric::Load => matches!(name, "load" | "load1"),
            other => name == other.key(),
        }
    }

    /// Percent metrics compare against thresholds like "80%"; network and load do not.
    pub fn is_percent(self) -> bool {
        matches!(self, Metric::Cpu | Metric::Memory | Metric::Disk)
    }

    /// The current value of this metric for a server (network: in + out, bytes per second).
    pub fn value(self, s: &ServerFact) -> f64 {
        match self {
            Metric::Cpu => s.cpu,
            Metric::Memory => s.memory,
            Metric::Disk => s.disk,
            Metric::Network => s.network_in + s.network_out,
            Metric::Load => s.load[0],
        }
    }

    /// The metric of an alert rule (`cpu`, `memory`, `disk`, `load1`, `networkIn`, `networkOut`).
    pub fn of_rule(name: &str) -> Option<Metric> {
        match name {
            "cpu" => Some(Metric::Cpu),
            "memory" => Some(Metric::Memory),
            "disk" => Some(Metric::Disk),
            "load1" | "load" => Some(Metric::Load),
            "networkIn" | "networkOut" | "network" => Some(Metric::Network),
            _ => None,
        }
    }
}
