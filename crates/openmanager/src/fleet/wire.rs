//! `protocol`'s wire types as the OpenAPI document shows them: the agent report (`POST
//! /api/agents/report`), its acknowledgement, and the interfaces, disks and processes that the
//! server detail repeats. The protocol crate stays free of schema code (the agent shares it); a
//! test checks real values against these shapes.

use utoipa::ToSchema;

/// `protocol::AgentMessage::Report`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AgentReport {
    #[serde(rename = "type")]
    #[schema(inline)]
    kind: ReportTag,
    /// The protocol version; this hub speaks 1.
    #[schema(minimum = 1, maximum = 1)]
    version: u32,
    agent: AgentIdentityBody,
    /// Oldest first; at most 1,000.
    #[schema(max_items = 1000)]
    samples: Vec<SampleBody>,
    #[schema(nullable = true)]
    inventory: Option<InventoryBody>,
    /// The checks protocol the agent speaks (`protocol::CHECKS_VERSION`); absent for agents without checks.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2, nullable = false)]
    checks_version: Option<u32>,
    /// The `checksHash` of the last acknowledgement that carried this agent's checks (checks
    /// version 2): the hub sends the list again only when its own hash differs.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, nullable = false)]
    checks_hash: Option<String>,
    /// Results of the agent's checks, oldest first; at most 1,000.
    #[serde(default)]
    #[schema(max_items = 1000, nullable = false)]
    check_results: Option<Vec<CheckResultBody>>,
}

/// `probe::CheckResult`: one result of a check an agent runs.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CheckResultBody {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    check_id: String,
    /// When the probe started, Unix milliseconds.
    #[schema(minimum = 0, maximum = 253402300799999_i64)]
    at: i64,
    /// Where it ran; the hub uses the reporting agent's id whatever this says.
    #[serde(rename = "where")]
    #[schema(max_length = 200)]
    location: String,
    up: bool,
    #[schema(minimum = 0)]
    latency_ms: f64,
    #[serde(default)]
    #[schema(nullable = false, minimum = 100, maximum = 599)]
    status_code: Option<u16>,
    #[serde(default)]
    #[schema(nullable = false)]
    cert_days_left: Option<i64>,
    #[serde(default)]
    #[schema(nullable = false)]
    cert_not_after: Option<i64>,
    #[serde(default)]
    #[schema(nullable = false)]
    cert_verified: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false, max_length = 512)]
    error: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ReportTag {
    Report,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AgentIdentityBody {
    /// The agent's stable id, and the server's id in `/api/servers`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,128}$")]
    machine_id: String,
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    name: String,
    #[schema(max_length = 253, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    hostname: String,
    agent_version: String,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SampleBody {
    /// Unix milliseconds, up to the end of year 9999.
    #[schema(minimum = 0, maximum = 253402300799999_i64)]
    timestamp_ms: i64,
    /// Metric name (`protocol::metric`: 1-128 printable ASCII characters, no spaces) to value; at most 64.
    #[schema(schema_with = sample_values_schema)]
    values: std::collections::BTreeMap<String, f64>,
}

fn sample_values_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(protocol::MAX_METRICS_PER_SAMPLE))
        .property_names(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[!-~]{1,128}$"))))
        .additional_properties(Some(AdditionalProperties::RefOr(ObjectBuilder::new().schema_type(Type::Number).into())))
        .build()
}

/// The host's description, sent with every report (every field optional, none `null`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct InventoryBody {
    #[serde(default)]
    os: String,
    #[serde(default)]
    kernel: String,
    #[serde(default)]
    arch: String,
    #[serde(default)]
    cpu_model: String,
    #[serde(default)]
    #[schema(maximum = 4096)]
    cpu_cores: u32,
    /// At most 10^15 (a million GB).
    #[serde(default)]
    #[schema(maximum = 1_000_000_000_000_000_u64)]
    memory_total_bytes: u64,
    /// At most 10^18 (a billion GB).
    #[serde(default)]
    #[schema(maximum = 1_000_000_000_000_000_000_u64)]
    disk_total_bytes: u64,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    boot_time_ms: i64,
    #[serde(default)]
    interfaces: Vec<InterfaceBody>,
    #[serde(default)]
    disks: Vec<DiskBody>,
    #[serde(default)]
    top_processes: Vec<ProcessBody>,
    /// Percent per core.
    #[serde(default)]
    cpu_cores_percent: Vec<f64>,
}

/// A network interface's counters (`protocol::Interface`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Interface)]
#[allow(dead_code)]
pub struct InterfaceBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    rx_bytes: u64,
    #[serde(default)]
    tx_bytes: u64,
    #[serde(default)]
    rx_errors: u64,
    #[serde(default)]
    tx_errors: u64,
}

/// A mounted file system (`protocol::Disk`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Disk)]
#[allow(dead_code)]
pub struct DiskBody {
    #[serde(default)]
    mount: String,
    #[serde(default)]
    used_bytes: u64,
    #[serde(default)]
    total_bytes: u64,
    #[serde(default)]
    percent: f64,
}

/// One of the busiest processes (`protocol::Process`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Process)]
#[allow(dead_code)]
pub struct ProcessBody {
    #[serde(default)]
    pid: u32,
    #[serde(default)]
    name: String,
    #[serde(default)]
    cpu: f64,
    #[serde(default)]
    memory_bytes: u64,
}

/// `protocol::ReportAck`: `accepted + duplicates` is the number of samples sent.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ReportAckBody {
    version: u32,
    accepted: u32,
    duplicates: u32,
    /// The id this agent is listed under in `/api/servers`.
    server_id: String,
    /// Check results taken from the report (absent when none were sent).
    #[serde(default)]
    #[schema(nullable = false)]
    check_results: Option<u32>,
    /// The checks this agent runs (`/api/checks` definitions), for agents that speak checks.
    #[serde(default)]
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    checks: Option<Vec<serde_json::Value>>,
    /// The hash of `checks`, sent with them, for the agent to repeat in its reports.
    #[serde(default)]
    #[schema(nullable = false)]
    checks_hash: Option<String>,
}
