//! The fleet's data model: what is known of a server (description, latest metrics, detail) and the
//! `Server` shape of API.md that the web app reads, legacy field names included.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a server's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// This host, watched by the hub's own collector.
    #[serde(rename = "self")]
    Local,
    Agent,
    Simulated,
    Static,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Local => "self",
            Source::Agent => "agent",
            Source::Simulated => "simulated",
            Source::Static => "static",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerType {
    Web,
    Api,
    Database,
    Cache,
    Monitoring,
    Backup,
    Security,
    Firewall,
    Other,
}

impl ServerType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerType::Web => "web",
            ServerType::Api => "api",
            ServerType::Database => "database",
            ServerType::Cache => "cache",
            ServerType::Monitoring => "monitoring",
            ServerType::Backup => "backup",
            ServerType::Security => "security",
            ServerType::Firewall => "firewall",
            ServerType::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Online,
    Warning,
    Critical,
    Offline,
    Maintenance,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// 1-128 printable characters.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub name: String,
    #[schema(schema_with = service_status_schema)]
    pub status: String,
    #[schema(minimum = 0, maximum = 65535)]
    pub port: Option<u16>,
}

/// The values a service's `status` takes (a string in the model, so stored data keeps its shape).
pub const SERVICE_STATUSES: [&str; 2] = ["running", "stopped"];

fn service_status_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(SERVICE_STATUSES.to_vec()))
        .build()
}

/// Bounds of [`Specs`], checked on registration (`fleet::request`) and stated in the document.
pub const MAX_CPU_CORES: u32 = 4096;
pub const MAX_MEMORY_GB: f64 = 1e6;
pub const MAX_DISK_GB: f64 = 1e9;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Specs {
    #[schema(minimum = 0, maximum = 4096)]
    pub cpu_cores: u32,
    #[schema(minimum = 0.0, maximum = 1e6)]
    pub memory_gb: f64,
    #[schema(minimum = 0.0, maximum = 1e9)]
    pub disk_gb: f64,
}

/// How a server describes itself; set at registration or learned from an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerMeta {
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub ip: String,
    pub os: String,
    #[serde(rename = "type")]
    pub server_type: ServerType,
    pub role: String,
    pub environment: String,
    pub provider: String,
    pub location: String,
    pub source: Source,
    pub services: Vec<Service>,
    pub specs: Specs,
    /// Shown as `maintenance` regardless of metrics.
    #[serde(default)]
    pub maintenance: bool,
}

/// The latest metrics of a server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Live {
    pub at_ms: i64,
    /// `None` until a value is known (a collector's first CPU reading needs two samples).
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    pub disk: Option<f64>,
    /// Bytes per second.
    pub net_in: f64,
    pub net_out: f64,
    pub load: [f64; 3],
    pub uptime_secs: u64,
    pub processes: u64,
    /// How much longer than usual the source said it may stay silent (an agent that batches its
    /// reports); the status waits that much more before `offline`. Not part of any answer.
    #[serde(skip)]
    pub quiet_ms: i64,
}

impl Live {
    /// From named values (`protocol::metric` names), as agents report and the store keeps them.
    pub fn from_values(at_ms: i64, values: &std::collections::BTreeMap<String, f64>) -> Self {
        use protocol::metric;
        let get = |k: &str| values.get(k).copied();
        Live {
            at_ms,
            cpu: get(metric::CPU),
            memory: get(metric::MEMORY),
            disk: get(metric::DISK),
            net_in: get(metric::NET_RX).unwrap_or(0.0),
            net_out: get(metric::NET_TX).unwrap_or(0.0),
            load: [
                get(metric::LOAD1).unwrap_or(0.0),
                get(metric::LOAD5).unwrap_or(0.0),
                get(metric::LOAD15).unwrap_or(0.0),
            ],
            uptime_secs: get(metric::UPTIME).unwrap_or(0.0).max(0.0) as u64,
            processes: get(metric::PROCESSES).unwrap_or(0.0).max(0.0) as u64,
            quiet_ms: 0,
        }
    }
}

/// The `Server` list item of API.md.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerView {
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub ip: String,
    pub os: String,
    #[serde(rename = "type")]
    pub server_type: ServerType,
    pub role: String,
    pub environment: String,
    pub provider: String,
    pub location: String,
    pub source: Source,
    pub status: Status,
    /// Percent 0-100.
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    /// MB/s, in and out together.
    pub network: f64,
    /// Bytes per second.
    pub network_in: f64,
    pub network_out: f64,
    /// Seconds.
    pub uptime: u64,
    /// Firing alerts.
    pub alerts: u32,
    pub services: Vec<Service>,
    pub specs: Specs,
    /// RFC 3339; absent until data arrives.
    pub last_update: Option<String>,
    // The web app's older field names, same values.
    #[serde(rename = "cpu_usage")]
    pub cpu_usage: f64,
    #[serde(rename = "memory_usage")]
    pub memory_usage: f64,
    #[serde(rename = "disk_usage")]
    pub disk_usage: f64,
    #[serde(rename = "network_in")]
    pub network_in_legacy: f64,
    #[serde(rename = "network_out")]
    pub network_out_legacy: f64,
}

/// Percent values are shown with one decimal; rates as whole bytes.
fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A number at the precision the dashboard shows rates with: 3 significant figures.
pub fn significant3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 2 - x.abs().log10().floor() as i32;
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl ServerView {
    pub fn new(meta: &ServerMeta, live: Option<&Live>, status: Status, alerts: u32) -> Self {
        let cpu = round1(live.and_then(|l| l.cpu).unwrap_or(0.0));
        let memory = round1(live.and_then(|l| l.memory).unwrap_or(0.0));
        let disk = round1(live.and_then(|l| l.disk).unwrap_or(0.0));
        let net_in = live.map(|l| l.net_in.round()).unwrap_or(0.0);
        let net_out = live.map(|l| l.net_out.round()).unwrap_or(0.0);
        Self {
            id: meta.id.clone(),
            name: meta.name.clone(),
            hostname: meta.hostname.clone(),
            ip: meta.ip.clone(),
            os: meta.os.clone(),
            server_type: meta.server_type,
            role: meta.role.clone(),
            environment: meta.environment.clone(),
            provider: meta.provider.clone(),
            location: meta.location.clone(),
            source: meta.source,
            status,
            cpu,
            memory,
            disk,
            network: ((net_in + net_out) / 1_000_000.0 * 1000.0).round() / 1000.0,
            network_in: net_in,
            network_out: net_out,
            uptime: live.map(|l| l.uptime_secs).unwrap_or(0),
            alerts,
            services: meta.services.clone(),
            specs: meta.specs,
            last_update: live.map(|l| crate::clock::millis_rfc3339(l.at_ms)),
            cpu_usage: cpu,
            memory_usage: memory,
            disk_usage: disk,
            network_in_legacy: net_in,
            network_out_legacy: net_out,
        }
    }

    /// The view as a list answer sends it: network rates at 3 significant figures, as the
    /// dashboard shows them (percentages already are at 0.1 points). The polled list then costs
    /// fewer bytes after compression; exact rates stay in the view for Prometheus, the tools and
    /// the history.
    pub fn at_display_precision(mut self) -> Self {
        self.network = significant3(self.network);
        self.network_in = significant3(self.network_in);
        self.network_out = significant3(self.network_out);
        self.network_in_legacy = self.network_in;
        self.network_out_legacy = self.network_out;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_answer_carries_rates_as_the_dashboard_shows_them() {
        let meta = ServerMeta {
            id: "a".into(),
            name: "a".into(),
            hostname: String::new(),
            ip: String::new(),
            os: String::new(),
            server_type: ServerType::Web,
            role: String::new(),
            environment: String::new(),
            provider: String::new(),
            location: String::new(),
            source: Source::Agent,
            services: Vec::new(),
            specs: Specs::default(),
            maintenance: false,
        };
        let live = Live { at_ms: 1, cpu: Some(12.34), net_in: 2_131_932.0, net_out: 5_172_564.4, ..Live::default() };
        let exact = ServerView::new(&meta, Some(&live), Status::Online, 0);
        assert_eq!((exact.network_in, exact.network), (2_131_932.0, 7.304));
        let shown = exact.at_display_precision();
        assert_eq!((shown.network_in, shown.network_out, shown.network), (2_130_000.0, 5_170_000.0, 7.3));
        assert_eq!((shown.network_in_legacy, shown.network_out_legacy), (2_130_000.0, 5_170_000.0));
        assert_eq!((shown.cpu, shown.cpu_usage), (12.3, 12.3));
        assert_eq!(significant3(0.0), 0.0);
        assert_eq!(significant3(987.6), 988.0);
    }
}
