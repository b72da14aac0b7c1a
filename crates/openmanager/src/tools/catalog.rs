//! The tools themselves. Each calls the same service method as the matching REST endpoint (listing,
//! detail, history, alerts, checks, overview, budget, gateway status, analyses), so a tool answers
//! exactly what the endpoint would. Argument types derive their JSON Schemas.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::schema::{self, any_object, array_of_objects, count, result, string};
use super::{ToolDef, ToolError, args};
use crate::alerts::{AlertFilter, AlertState, Severity};
use crate::analyses::AnalyzeRequest;
use crate::checks::wire::CheckStatus;
use crate::fleet::history::{HistoryQuery, TimeRange};
use crate::fleet::listing::ListQuery;
use crate::fleet::metric::Metric;
use crate::fleet::model::{ServerType, Source, Status};
use crate::services::Services;

/// No arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    /// Only servers with this status.
    status: Option<Status>,
    /// Only servers of this type.
    #[serde(rename = "type")]
    server_type: Option<ServerType>,
    /// Only servers from this source.
    source: Option<Source>,
    /// Text in id, name, hostname, ip, role or location.
    #[schemars(length(max = 128))]
    q: Option<String>,
    /// At most this many servers (default 100).
    #[schemars(range(min = 1, max = 500))]
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    /// The server id, e.g. `self` or `web-01`.
    #[schemars(length(min = 1, max = 128))]
    id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HistoryArgs {
    /// The server id (default: this host).
    #[schemars(length(min = 1, max = 128))]
    server_id: Option<String>,
    /// Only this metric.
    metric: Option<Metric>,
    /// How far back (default 1h).
    time_range: Option<TimeRange>,
    /// At most this many points (default 120).
    #[schemars(range(min = 1, max = 2000))]
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlertArgs {
    /// Only alerts in this state.
    state: Option<AlertState>,
    /// Only this server's alerts.
    #[schemars(length(min = 1, max = 128))]
    server_id: Option<String>,
    /// Only this severity.
    severity: Option<Severity>,
    /// At most this many (default 50).
    #[schemars(range(min = 1, max = 500))]
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CheckArgs {
    /// Only checks in this state.
    status: Option<CheckStatus>,
}

pub fn definitions() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "list_servers",
            title: "List servers",
            description: "Lists the monitored servers with status, CPU, memory and disk percent, network and alert \
                          counts, plus a status summary. Filters: status, type, source, q (text).",
            input_schema: schema::of::<ListArgs>(),
            output_schema: result(
                &[
                    ("servers", array_of_objects("Servers, as GET /api/servers lists them")),
                    ("summary", any_object("Counts by status and the names of warning and critical servers")),
                    ("total", count("Servers matching the filters")),
                ],
                &["servers", "summary", "total"],
            ),
            handler: |s, a| Box::pin(list_servers(s, a)),
        },
        ToolDef {
            name: "get_server",
            title: "Get one server",
            description: "One server's detail: current metrics, system info, load, disks, network interfaces, top \
                          processes and per-core CPU.",
            input_schema: schema::of::<IdArgs>(),
            output_schema: result(&[("server", any_object("The server detail"))], &["server"]),
            handler: |s, a| Box::pin(get_server(s, a)),
        },
        ToolDef {
            name: "get_metrics_history",
            title: "Metrics history",
            description: "A server's CPU, memory, disk, network and load over a time range, at the stored resolution.",
            input_schema: schema::of::<HistoryArgs>(),
            output_schema: result(
                &[
                    ("serverId", string("The server")),
                    ("resolution", string("Seconds between points")),
                    ("points", array_of_objects("{timestamp, cpu, memory, disk, network, load1}")),
                ],
                &["serverId", "resolution", "points"],
            ),
            handler: |s, a| Box::pin(history_tool(s, a)),
        },
        ToolDef {
            name: "list_alerts",
            title: "List alerts",
            description: "Alerts (pending, firing or resolved) with the rule, server, value, threshold, times and the \
                          top processes captured when they fired.",
            input_schema: schema::of::<AlertArgs>(),
            output_schema: result(
                &[("alerts", array_of_objects("Alerts, newest first")), ("count", count("Alerts returned"))],
                &["alerts", "count"],
            ),
            handler: |s, a| Box::pin(list_alerts(s, a)),
        },
        ToolDef {
            name: "list_checks",
            title: "List service checks",
            description: "The service checks (HTTP, TCP, ping, DNS, TLS certificate) run from the hub and agents: \
                          each one's state (up, down, pending, maintenance) with latency, status code, certificate \
                          days left and last error, per place it runs, and its uptime over 24 h, 7, 30 and 90 days.",
            input_schema: schema::of::<CheckArgs>(),
            output_schema: result(
                &[
                    ("checks", array_of_objects("Checks, as GET /api/checks lists them")),
                    ("count", count("Checks returned")),
                ],
                &["checks", "count"],
            ),
            handler: |s, a| Box::pin(list_checks(s, a)),
        },
        ToolDef {
            name: "fleet_summary",
            title: "Fleet summary",
            description: "The whole fleet at a glance: servers by status, averages, firing alerts, and this hub's \
                          own request and AI figures.",
            input_schema: schema::of::<NoArgs>(),
            output_schema: result(
                &[
                    ("fleet", any_object("Totals and averages")),
                    ("system", any_object("This host")),
                    ("application", any_object("This hub's requests")),
                    ("ai", any_object("AI query totals")),
                ],
                &["fleet", "system", "application", "ai"],
            ),
            handler: |s, a| Box::pin(fleet_summary(s, a)),
        },
        ToolDef {
            name: "analyze",
            title: "Analyze metrics",
            description: "Runs a statistical analysis of the history: health (scores with reasons), anomaly (robust \
                          z-score and EWMA), prediction (trend and time to a limit, e.g. disk full), pattern (daily or \
                          hourly cycles, recurring spikes), correlation (between metrics and servers, with lag) or \
                          optimization (right-sizing). Findings carry severity, evidence and a recommendation.",
            input_schema: schema::of::<AnalyzeRequest>(),
            output_schema: result(
                &[
                    ("type", string("The analysis")),
                    ("summary", string("One line")),
                    ("findings", array_of_objects("Findings: severity, title, description, evidence, recommendation")),
                ],
                &["type", "summary", "findings"],
            ),
            handler: |s, a| Box::pin(analyze(s, a)),
        },
        ToolDef {
            name: "ai_gateway_status",
            title: "AI gateway status",
            description: "Each AI engine's health, circuit state, quota left, latency percentiles and errors; the \
                          cache's size and hit rate; the queue.",
            input_schema: schema::of::<NoArgs>(),
            output_schema: result(
                &[("engines", array_of_objects("Engines in chain order")), ("cache", any_object("Cache figures"))],
                &["engines", "cache"],
            ),
            handler: |s, a| Box::pin(gateway_status(s, a)),
        },
        ToolDef {
            name: "free_tier_budget",
            title: "Free-tier budget",
            description: "This month's use of the free tier: egress (month to date and projected against 1 GB), VM \
                          hours, disk, CPU against the sustained share, memory, and AI requests against daily quotas.",
            input_schema: schema::of::<NoArgs>(),
            output_schema: result(
                &[
                    ("egress", any_object("Egress bytes")),
                    ("vmHours", any_object("VM hours")),
                    ("disk", any_object("Disk bytes")),
                    ("cpu", any_object("CPU use")),
                ],
                &["egress", "vmHours", "disk", "cpu"],
            ),
            handler: |s, a| Box::pin(budget(s, a)),
        },
    ]
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ToolError> {
    serde_json::to_value(v).map_err(|e| ToolError::Failed(format!("cannot encode the result: {e}")))
}

async fn list_servers(s: Services, a: Value) -> Result<Value, ToolError> {
    let a: ListArgs = args(a)?;
    let query = ListQuery {
        page: Some(1),
        limit: Some(a.limit.unwrap_or(100)),
        status: a.status,
        server_type: a.server_type,
        source: a.source,
        q: a.q,
    };
    let list = s.fleet.list(&query, true)?;
    Ok(json!({"servers": list.servers, "summary": list.summary, "total": list.pagination.total}))
}

async fn get_server(s: Services, a: Value) -> Result<Value, ToolError> {
    let a: IdArgs = args(a)?;
    let detail = s.fleet.detail(&a.id).map_err(|e| match e {
        crate::fleet::FleetError::NotFound(id) => {
            ToolError::Failed(format!("server `{id}` not found; list_servers gives the ids"))
        }
        other => other.into(),
    })?;
    Ok(json!({"server": to_value(&detail)?}))
}

async fn history_tool(s: Services, a: Value) -> Result<Value, ToolError> {
    let a: HistoryArgs = args(a)?;
    if a.limit.is_some_and(|l| l == 0 || l > 2000) {
        return Err(ToolError::InvalidArguments("`limit` must be 1-2000".into()));
    }
    let q = HistoryQuery {
        server_id: a.server_id,
        metric: a.metric,
        time_range: a.time_range,
        limit: Some(a.limit.unwrap_or(120)),
        ..Default::default()
    };
    let page = s.fleet.history(q).await?;
    Ok(json!({"serverId": page.server_id, "resolution": page.resolution_seconds.to_string(), "points": page.points}))
}

async fn list_alerts(s: Services, a: Value) -> Result<Value, ToolError> {
    let a: AlertArgs = args(a)?;
    let filter = AlertFilter { state: a.state, server_id: a.server_id, severity: a.severity };
    let limit = a.limit.unwrap_or(50).clamp(1, 500) as usize;
    let (alerts, _) = s.alerting.list(&filter, None, limit)?;
    Ok(json!({"count": alerts.len(), "alerts": alerts}))
}

async fn list_checks(s: Services, a: Value) -> Result<Value, ToolError> {
    let a: CheckArgs = args(a)?;
    let mut checks = s.checks.list(crate::clock::now_millis());
    if let Some(status) = a.status {
        checks.retain(|c| c.state.status == status);
    }
    Ok(json!({"count": checks.len(), "checks": to_value(&checks)?}))
}

async fn fleet_summary(s: Services, a: Value) -> Result<Value, ToolError> {
    let NoArgs {} = args(a)?;
    to_value(&crate::overview::build(&s))
}

async fn gateway_status(s: Services, a: Value) -> Result<Value, ToolError> {
    let NoArgs {} = args(a)?;
    to_value(&s.gateway.status().await)
}

async fn budget(s: Services, a: Value) -> Result<Value, ToolError> {
    let NoArgs {} = args(a)?;
    let gateway = s.gateway.status().await;
    to_value(&crate::budget::report::build(&s.budget, &s.fleet, &gateway.engines))
}

async fn analyze(s: Services, a: Value) -> Result<Value, ToolError> {
    let body: AnalyzeRequest = args(a)?;
    let plan = body.plan(analysis::Lang::En).map_err(|e| ToolError::InvalidArguments(super::describe(&e)))?;
    to_value(&s.analyses.run(plan).await?)
}
