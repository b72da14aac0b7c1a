//! The one mapping between the names a metric goes by: the API's (`cpu`, `network`, `networkIn`...),
//! the store's (`protocol::metric` names) and a live reading's fields. History, the assistant,
//! analyses, alert observations, tools and the live stream all read values through here.

use protocol::metric;
use serde::{Deserialize, Serialize};

use super::model::Live;

/// A server metric as the API names it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    Cpu,
    Memory,
    Disk,
    /// Received and sent together, bytes per second.
    Network,
    NetworkIn,
    NetworkOut,
    Load1,
}

impl Metric {
    /// The metrics a history point carries.
    pub const HISTORY: [Metric; 6] =
        [Metric::Cpu, Metric::Memory, Metric::Disk, Metric::NetworkIn, Metric::NetworkOut, Metric::Load1];

    /// The API's names, for error messages and schemas.
    pub const NAMES: &'static [&'static str] =
        &["cpu", "memory", "disk", "network", "networkIn", "networkOut", "load1"];

    /// The API's name (`networkIn`), also accepting the store's (`net_rx`) and the legacy
    /// snake_case (`network_in`) spellings.
    pub fn parse(name: &str) -> Option<Metric> {
        Some(match name {
            "cpu" => Metric::Cpu,
            "memory" => Metric::Memory,
            "disk" => Metric::Disk,
            "network" => Metric::Network,
            "networkIn" | "network_in" | metric::NET_RX => Metric::NetworkIn,
            "networkOut" | "network_out" | metric::NET_TX => Metric::NetworkOut,
            "load1" | "load" => Metric::Load1,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::Disk => "disk",
            Metric::Network => "network",
            Metric::NetworkIn => "networkIn",
            Metric::NetworkOut => "networkOut",
            Metric::Load1 => "load1",
        }
    }

    /// The store's names this metric is made of (the network total is the sum of two).
    pub fn store_names(self) -> &'static [&'static str] {
        match self {
            Metric::Cpu => &[metric::CPU],
            Metric::Memory => &[metric::MEMORY],
            Metric::Disk => &[metric::DISK],
            Metric::Network => &[metric::NET_RX, metric::NET_TX],
            Metric::NetworkIn => &[metric::NET_RX],
            Metric::NetworkOut => &[metric::NET_TX],
            Metric::Load1 => &[metric::LOAD1],
        }
    }

    /// The value in a live reading (`None` before the collector knows it).
    pub fn of_live(self, l: &Live) -> Option<f64> {
        match self {
            Metric::Cpu => l.cpu,
            Metric::Memory => l.memory,
            Metric::Disk => l.disk,
            Metric::Network => Some(l.net_in + l.net_out),
            Metric::NetworkIn => Some(l.net_in),
            Metric::NetworkOut => Some(l.net_out),
            Metric::Load1 => Some(l.load[0]),
        }
    }

    /// The value from store names to values (a stored point): `None` when none of its parts is there.
    pub fn of_named(self, get: impl Fn(&str) -> Option<f64>) -> Option<f64> {
        let parts: Vec<f64> = self.store_names().iter().filter_map(|n| get(n)).collect();
        (!parts.is_empty()).then(|| parts.iter().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back() {
        for name in Metric::NAMES {
            assert_eq!(Metric::parse(name).map(Metric::as_str), Some(*name));
        }
        assert_eq!(Metric::parse("net_rx"), Some(Metric::NetworkIn));
        assert_eq!(Metric::parse("bogus"), None);
    }

    #[test]
    fn network_is_the_sum_of_its_parts() {
        let l = Live { net_in: 3.0, net_out: 4.0, ..Live::default() };
        assert_eq!(Metric::Network.of_live(&l), Some(7.0));
        let named = |n: &str| match n {
            "net_rx" => Some(1.0),
            "net_tx" => Some(2.0),
            _ => None,
        };
        assert_eq!(Metric::Network.of_named(named), Some(3.0));
        assert_eq!(Metric::Cpu.of_named(named), None);
    }
}
