//! The metrics an analysis reads, named as the REST API names them, and what each one's numbers mean.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A metric of a server, with the REST API's names (`cpu`, `memory`, `disk`, `load1`, `networkIn`,
/// `networkOut`). The order is the order analyses visit them in, so output is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    /// CPU use, percent 0-100.
    Cpu,
    /// Memory use, percent 0-100.
    Memory,
    /// Disk use, percent 0-100.
    Disk,
    /// One-minute load average (runnable tasks, not normalised by cores).
    Load1,
    /// Bytes received per second.
    NetworkIn,
    /// Bytes sent per second.
    NetworkOut,
}

/// The unit a metric is measured in, which decides how a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Percent, 0-100.
    Percent,
    /// A plain number (load average).
    Count,
    /// Bytes per second.
    BytesPerSec,
}

impl Metric {
    /// Every metric, in analysis order.
    pub const ALL: [Metric; 6] =
        [Metric::Cpu, Metric::Memory, Metric::Disk, Metric::Load1, Metric::NetworkIn, Metric::NetworkOut];

    /// The API name (`networkIn`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::Disk => "disk",
            Metric::Load1 => "load1",
            Metric::NetworkIn => "networkIn",
            Metric::NetworkOut => "networkOut",
        }
    }

    /// Parses an API name, case-insensitively; the legacy snake_case names of the web app
    /// (`network_in`, `cpu_usage`, ...) are accepted too, since old clients still send them.
    pub fn parse(s: &str) -> Result<Metric, UnknownMetric> {
        let lower = s.trim().to_ascii_lowercase();
        let metric = match lower.as_str() {
            "cpu" | "cpu_usage" => Metric::Cpu,
            "memory" | "mem" | "memory_usage" => Metric::Memory,
            "disk" | "disk_usage" => Metric::Disk,
            "load1" | "load" => Metric::Load1,
            "networkin" | "network_in" => Metric::NetworkIn,
            "networkout" | "network_out" => Metric::NetworkOut,
            _ => return Err(UnknownMetric(s.to_string())),
        };
        Ok(metric)
    }

    /// The unit of this metric's values.
    pub fn unit(self) -> Unit {
        match self {
            Metric::Cpu | Metric::Memory | Metric::Disk => Unit::Percent,
            Metric::Load1 => Unit::Count,
            Metric::NetworkIn | Metric::NetworkOut => Unit::BytesPerSec,
        }
    }

    /// The smallest spread worth calling variation. A metric that sits still (disk at 42.0% for
    /// hours) has a spread of zero, and without a floor its first 0.1-point wobble — measurement
    /// granularity, not behaviour — would score as an extreme outlier.
    pub fn noise_floor(self) -> f64 {
        match self.unit() {
            Unit::Percent => 0.5,
            Unit::Count => 0.05,
            Unit::BytesPerSec => 1024.0,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = UnknownMetric;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::parse(s)
    }
}

/// A metric name that is not one of [`Metric::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMetric(pub String);

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown metric {:?} (expected one of cpu, memory, disk, load1, networkIn, networkOut)", self.0)
    }
}

impl std::error::Error for UnknownMetric {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_and_legacy_names() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Ok(m));
            assert_eq!(m.as_str().parse::<Metric>(), Ok(m));
        }
        assert_eq!(Metric::parse("network_out"), Ok(Metric::NetworkOut));
        assert_eq!(Metric::parse(" CPU "), Ok(Metric::Cpu));
        assert!(Metric::parse("gpu").is_err());
        assert!(Metric::parse("").unwrap_err().to_string().contains("unknown metric"));
    }

    #[test]
    fn serializes_as_api_names() {
        assert_eq!(serde_json::to_string(&Metric::NetworkIn).unwrap(), "\"networkIn\"");
        assert_eq!(serde_json::from_str::<Metric>("\"load1\"").unwrap(), Metric::Load1);
    }
}
