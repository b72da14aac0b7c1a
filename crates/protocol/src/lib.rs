//! The messages an `openmanager agent` and the hub exchange on `POST /api/agents/report`, shared by
//! both sides so they cannot drift. Every message carries a `type` tag and the protocol `version`; the
//! hub refuses versions it does not know with a clear error instead of guessing.
//!
//! The body is JSON, gzip-compressed by the agent (`Content-Encoding: gzip`). Version 2 adds the
//! [`compact`] body (changed metrics only, deltas) that a hub answers with `204` and no body.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod compact;

/// The version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Bounds a hub enforces on one report, so a misbehaving agent cannot exhaust memory.
pub const MAX_SAMPLES_PER_REPORT: usize = 1_000;
pub const MAX_METRICS_PER_SAMPLE: usize = 64;
pub const MAX_NAME_LEN: usize = 128;
/// Check results one report may carry.
pub const MAX_CHECK_RESULTS_PER_REPORT: usize = 1_000;

/// The checks part of the protocol, added without a new [`PROTOCOL_VERSION`] (every field is
/// optional both ways, so old agents and old hubs keep working). Version 1: an agent that sets
/// `checksVersion` gets its checks in each acknowledgement, and may send `checkResults`. Version 2
/// ([`CHECKS_VERSION`]) saves that echo: the hub sends `checksHash` with the list, the agent
/// repeats the hash of the set it holds in its reports (`checksHash`, or `ch` in the compact body),
/// and the hub sends the list again only when its hash differs. An agent without a hash (version 1,
/// or not told one yet) still gets the list every time.
pub const CHECKS_VERSION: u32 = 2;
/// The first checks version: the hub answers any agent at this or later with its checks.
pub const CHECKS_VERSION_LIST: u32 = 1;
/// Longest `checksHash` a hub takes (its own are 32 hex digits).
pub const MAX_CHECKS_HASH_LEN: usize = 64;

/// Well-known metric names. Agents may send others (up to [`MAX_METRICS_PER_SAMPLE`]).
pub mod metric {
    /// Percent 0-100.
    pub const CPU: &str = "cpu";
    pub const MEMORY: &str = "memory";
    pub const DISK: &str = "disk";
    pub const SWAP: &str = "swap";
    /// Bytes per second, external interfaces only.
    pub const NET_RX: &str = "net_rx";
    pub const NET_TX: &str = "net_tx";
    pub const DISK_READ: &str = "disk_read";
    pub const DISK_WRITE: &str = "disk_write";
    pub const LOAD1: &str = "load1";
    pub const LOAD5: &str = "load5";
    pub const LOAD15: &str = "load15";
    pub const PROCESSES: &str = "processes";
    pub const UPTIME: &str = "uptime";
}

/// Agent to hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    Report(Report),
}

/// A batch of samples from one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub version: u32,
    pub agent: AgentIdentity,
    /// Oldest first. Each timestamp is unique per agent: the hub drops a sample it already has.
    pub samples: Vec<Sample>,
    /// The host's description and latest detail (interfaces, disks, processes); sent with every
    /// report so a hub that restarted learns it at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// The checks protocol this agent speaks ([`CHECKS_VERSION`]); 0 (absent) for agents without checks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub checks_version: u32,
    /// Results of the checks this agent runs, oldest first (the hub labels them with the agent's
    /// server id, whatever `where` says).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_results: Vec<probe::CheckResult>,
    /// The hash the hub gave with the checks this agent holds (checks version 2); absent: send
    /// the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks_hash: Option<String>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Who is reporting. `machine_id` is the identity (stable across restarts and renames); `name` is
/// what people see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentIdentity {
    pub machine_id: String,
    pub name: String,
    pub hostname: String,
    pub agent_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub timestamp_ms: i64,
    /// Metric name to value; see [`metric`] for the names the hub shows.
    pub values: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Inventory {
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub cpu_model: String,
    pub cpu_cores: u32,
    pub memory_total_bytes: u64,
    pub disk_total_bytes: u64,
    pub ip: String,
    pub boot_time_ms: i64,
    pub interfaces: Vec<Interface>,
    pub disks: Vec<Disk>,
    pub top_processes: Vec<Process>,
    /// Percent per core, latest sample.
    pub cpu_cores_percent: Vec<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Interface {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Disk {
    pub mount: String,
    pub used_bytes: u64,
    pub total_bytes: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub cpu: f64,
    pub memory_bytes: u64,
}

/// Hub to agent: the batch is durable. `accepted + duplicates` equals the samples sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportAck {
    pub version: u32,
    pub accepted: u32,
    pub duplicates: u32,
    /// The id the hub lists this agent under in `/api/servers`.
    pub server_id: String,
    /// Check results of the report taken (stored, or dropped as unknown); absent from older hubs.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub check_results: u32,
    /// Every check this agent is to run (`runOn` lists `agent:<serverId>`), sent to agents that
    /// speak [`CHECKS_VERSION`]; the agent makes its set exactly this. Absent: keep the current set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<probe::CheckDef>>,
    /// The hash of `checks` (sent with them), for the agent to repeat in its reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks_hash: Option<String>,
}

/// Why a report is refused, checked by the hub before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Report {
    /// Checks the bounds and the version; the hub answers 422 with this text.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |s: String| Err(Invalid(s));
        if self.version != PROTOCOL_VERSION {
            return bad(format!(
                "protocol version {} is not supported (this hub speaks {PROTOCOL_VERSION})",
                self.version
            ));
        }
        let id = &self.agent.machine_id;
        if id.is_empty()
            || id.len() > MAX_NAME_LEN
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad("agent.machineId must be 1-128 characters of [A-Za-z0-9._-]".into());
        }
        // Characters, as the message says (a Korean host name is three bytes a character).
        let name_len = self.agent.name.chars().count();
        if name_len == 0 || name_len > MAX_NAME_LEN {
            return bad("agent.name must be 1-128 characters".into());
        }
        if self.samples.len() > MAX_SAMPLES_PER_REPORT {
            return bad(format!("at most {MAX_SAMPLES_PER_REPORT} samples per report"));
        }
        if self.checks_hash.as_ref().is_some_and(|h| h.is_empty() || h.len() > MAX_CHECKS_HASH_LEN) {
            return bad(format!("checksHash must be 1-{MAX_CHECKS_HASH_LEN} characters"));
        }
        if self.check_results.len() > MAX_CHECK_RESULTS_PER_REPORT {
            return bad(format!("at most {MAX_CHECK_RESULTS_PER_REPORT} check results per report"));
        }
        for r in &self.check_results {
            if r.check_id.is_empty() || r.check_id.len() > MAX_NAME_LEN || !r.outcome.latency_ms.is_finite() {
                return bad("a check result has an invalid checkId or latency".into());
            }
            if r.outcome.error.as_ref().is_some_and(|e| e.len() > probe::MAX_ERROR_LEN) {
                return bad(format!("a check result's error is longer than {} bytes", probe::MAX_ERROR_LEN));
            }
        }
        for s in &self.samples {
            if s.values.len() > MAX_METRICS_PER_SAMPLE {
                return bad(format!("at most {MAX_METRICS_PER_SAMPLE} metrics per sample"));
            }
            if let Some((k, v)) =
                s.values.iter().find(|(k, v)| k.is_empty() || k.len() > MAX_NAME_LEN || !v.is_finite())
            {
                return bad(format!("metric `{k}` has an invalid name or a non-finite value {v}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            version: PROTOCOL_VERSION,
            agent: AgentIdentity {
                machine_id: "abc123".into(),
                name: "web-9".into(),
                hostname: "web-9.local".into(),
                agent_version: "0.1.0".into(),
            },
            samples: vec![Sample { timestamp_ms: 1, values: BTreeMap::from([(metric::CPU.to_string(), 12.5)]) }],
            inventory: None,
            checks_version: 0,
            check_results: Vec::new(),
            checks_hash: None,
        }
    }

    #[test]
    fn checks_hash_is_optional_both_ways() {
        // An older hub's acknowledgement (no hash) and an older agent's report (no hash) still parse.
        let ack: ReportAck =
            serde_json::from_str(r#"{"version":1,"accepted":1,"duplicates":0,"serverId":"s","checks":[]}"#).unwrap();
        assert_eq!((ack.checks.as_deref().map(<[_]>::len), ack.checks_hash), (Some(0), None));
        let mut r = report();
        r.checks_version = CHECKS_VERSION;
        r.checks_hash = Some("abc".into());
        let json = serde_json::to_string(&AgentMessage::Report(r.clone())).unwrap();
        assert!(json.contains(r#""checksHash":"abc""#), "{json}");
        assert_eq!(serde_json::from_str::<AgentMessage>(&json).unwrap(), AgentMessage::Report(r.clone()));
        r.checks_hash = Some("x".repeat(MAX_CHECKS_HASH_LEN + 1));
        assert!(r.validate().unwrap_err().0.contains("checksHash"));
    }

    #[test]
    fn tagged_round_trip() {
        let msg = AgentMessage::Report(report());
        let json = serde_json::to_string(&msg).unwrap();
        assert!(json.starts_with(r#"{"type":"report","version":1"#), "{json}");
        assert_eq!(serde_json::from_str::<AgentMessage>(&json).unwrap(), msg);
    }

    #[test]
    fn validation_bounds() {
        assert!(report().validate().is_ok());
        let mut r = report();
        r.version = 99;
        assert!(r.validate().unwrap_err().0.contains("version 99"));
        let mut r = report();
        r.agent.machine_id = "../etc".into();
        assert!(r.validate().is_err());
        let mut r = report();
        r.samples[0].values.insert("x".into(), f64::NAN);
        assert!(r.validate().is_err());
        let mut r = report();
        r.samples = vec![r.samples[0].clone(); MAX_SAMPLES_PER_REPORT + 1];
        assert!(r.validate().is_err());
    }
}
