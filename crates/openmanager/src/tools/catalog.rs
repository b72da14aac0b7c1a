//! The tools themselves. Each reuses the REST handler's own logic (listing, history, alerts,
//! budget, gateway status), so a tool answers exactly what the matching endpoint would.

use serde::Deserialize;
use serde_json::{Value, json};

use super::schema::{self, any_object, array_of_objects, integer, object, one_of, result, string};
use super::{ToolDef, ToolError, args};
use crate::alerts::{AlertFilter, AlertState, Severity};
use crate::clock;
use crate::fleet::detail::ServerDetail;
use crate::http::{history, servers};
use crate::state::AppState;

pub fn definitions() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "list_servers",
            title: "List servers",
            description: "Lists the monitored servers with status, CPU, memory and disk percent, network and alert \
                          counts, plus a status summary. Filters: status, type, source, q (text).",
            input_schema: object(
                &[
                    ("status", one_of("Only servers with this status", schema::STATUSES)),
                    ("type", one_of("Only servers of this type", schema::TYPES)),
                    ("source", one_of("Only servers from this source", schema::SOURCES)),
                    ("q", string("Text in id, name, hostname, ip, role or location")),
                    ("limit", integer("At most this many servers (default 100)", 1, 500)),
                ],
                &[],
            ),
            output_schema: result(
                &[
                    ("servers", array_of_objects("Servers, as GET /api/servers lists them")),
                    ("summary", any_object("Counts by status and the names of warning and critical servers")),
                    ("total", integer("Servers matching the filters", 0, i64::MAX)),
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
            input_schema: object(&[("id", string("The server id, e.g. `self` or `web-01`"))], &["id"]),
            output_schema: result(&[("server", any_object("The server detail"))], &["server"]),
            handler: |s, a| Box::pin(get_server(s, a)),
        },
        ToolDef {
            name: "get_metrics_history",
            title: "Metrics history",
            description: "A server's CPU, memory, disk, network and load over a time range, at the stored resolution.",
            input_schema: object(
                &[
                    ("serverId", string("The server id (default: this host)")),
                    ("metric", one_of("Only this metric", schema::METRICS)),
                    ("timeRange", one_of("How far back (default 1h)", schema::RANGES)),
                    ("limit", integer("At most this many points (default 120)", 1, 2000)),
                ],
                &[],
            ),
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
            input_schema: object(
                &[
                    ("state", one_of("Only alerts in this state", &["pending", "firing", "resolved"])),
                    ("serverId", string("Only this server's alerts")),
                    ("severity", one_of("Only this severity", &["critical", "warning", "info"])),
                    ("limit", integer("At most this many (default 50)", 1, 500)),
                ],
                &[],
            ),
            output_schema: result(
                &[("alerts", array_of_objects("Alerts, newest first")), ("count", integer("Alerts returned", 0, 500))],
                &["alerts", "count"],
            ),
            handler: |s, a| Box::pin(list_alerts(s, a)),
        },
        ToolDef {
            name: "fleet_summary",
            title: "Fleet summary",
            description: "The whole fleet at a glance: servers by status, averages, firing alerts, and this hub's \
                          own request and AI figures.",
            input_schema: object(&[], &[]),
            output_schema: result(
                &[
                    ("fleet", any_object("Totals and averages")),
                    ("system", any_object("This host")),
                    ("application", any_object("This hub's requests")),
                    ("ai", any_object("AI query totals")),
                ],
                &["fleet", "system", "application", "ai"],
            ),
            handler: |s, _| Box::pin(fleet_summary(s)),
        },
        ToolDef {
            name: "analyze",
            title: "Analyze metrics",
            description: "Runs a statistical analysis of the history: health (scores with reasons), anomaly (robust                           z-score and EWMA), prediction (trend and time to a limit, e.g. disk full), pattern (daily or                           hourly cycles, recurring spikes), correlation (between metrics and servers, with lag) or                           optimization (right-sizing). Findings carry severity, evidence and a recommendation.",
            input_schema: object(
                &[
                    (
                        "type",
                        one_of(
                            "The analysis",
                            &["health", "anomaly", "prediction", "pattern", "correlation", "optimization"],
                        ),
                    ),
                    ("serverId", string("One server (default: the whole fleet)")),
                    ("metric", one_of("One metric", &["cpu", "memory", "disk", "load1", "networkIn", "networkOut"])),
                    ("timeRange", one_of("How far back (default 24h)", &["1h", "6h", "24h", "7d", "30d"])),
                    ("lang", one_of("Language of the findings (default en)", &["en", "ko"])),
                ],
                &["type"],
            ),
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
            input_schema: object(&[], &[]),
            output_schema: result(
                &[("engines", array_of_objects("Engines in chain order")), ("cache", any_object("Cache figures"))],
                &["engines", "cache"],
            ),
            handler: |s, _| Box::pin(gateway_status(s)),
        },
        ToolDef {
            name: "free_tier_budget",
            title: "Free-tier budget",
            description: "This month's use of the free tier: egress (month to date and projected against 1 GB), VM \
                          hours, disk, CPU against the sustained share, memory, and AI requests against daily quotas.",
            input_schema: object(&[], &[]),
            output_schema: result(
                &[
                    ("egress", any_object("Egress bytes")),
                    ("vmHours", any_object("VM hours")),
                    ("disk", any_object("Disk bytes")),
                    ("cpu", any_object("CPU use")),
                ],
                &["egress", "vmHours", "disk", "cpu"],
            ),
            handler: |s, _| Box::pin(budget(s)),
        },
    ]
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ToolError> {
    serde_json::to_value(v).map_err(|e| ToolError::Failed(format!("cannot encode the result: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    status: Option<String>,
    #[serde(rename = "type")]
    server_type: Option<String>,
    source: Option<String>,
    q: Option<String>,
    limit: Option<usize>,
}

async fn list_servers(state: AppState, a: Value) -> Result<Value, ToolError> {
    let a: ListArgs = args(a)?;
    let query = servers::ListQuery {
        page: Some(1),
        limit: Some(a.limit.unwrap_or(100)),
        status: a.status,
        server_type: a.server_type,
        source: a.source,
        q: a.q,
    };
    let list = servers::listing(&state, query, true)?;
    Ok(json!({"servers": list.data, "summary": list.summary, "total": list.pagination.total}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    id: String,
}

async fn get_server(state: AppState, a: Value) -> Result<Value, ToolError> {
    let a: IdArgs = args(a)?;
    let snap = state
        .fleet
        .get(&a.id, clock::now_millis())
        .ok_or_else(|| ToolError::Failed(format!("server `{}` not found; list_servers gives the ids", a.id)))?;
    Ok(json!({"server": to_value(&ServerDetail::of(&snap, state.fleet.simulation_seed()))?}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HistoryArgs {
    server_id: Option<String>,
    metric: Option<String>,
    time_range: Option<String>,
    limit: Option<usize>,
}

async fn history_tool(state: AppState, a: Value) -> Result<Value, ToolError> {
    let a: HistoryArgs = args(a)?;
    if a.limit.is_some_and(|l| l == 0 || l > 2000) {
        return Err(ToolError::InvalidArguments("`limit` must be 1-2000".into()));
    }
    let q = history::HistoryQuery {
        server_id: a.server_id,
        metric: a.metric,
        time_range: a.time_range,
        limit: Some(a.limit.unwrap_or(120)),
        ..Default::default()
    };
    let body = history::fetch(&state, q).await?;
    Ok(json!({"serverId": body.server_id, "resolution": body.resolution, "points": body.data}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlertArgs {
    state: Option<AlertState>,
    server_id: Option<String>,
    severity: Option<Severity>,
    limit: Option<usize>,
}

async fn list_alerts(state: AppState, a: Value) -> Result<Value, ToolError> {
    let a: AlertArgs = args(a)?;
    let alerting = crate::http::alerts::alerting(&state)?;
    let filter = AlertFilter { state: a.state, server_id: a.server_id, severity: a.severity };
    let alerts = alerting.engine().list(&filter, a.limit.unwrap_or(50).clamp(1, 500));
    Ok(json!({"count": alerts.len(), "alerts": alerts}))
}

async fn fleet_summary(state: AppState) -> Result<Value, ToolError> {
    to_value(&crate::http::metrics::metrics_body(&state))
}

async fn gateway_status(state: AppState) -> Result<Value, ToolError> {
    let router = state.ai.get().ok_or_else(|| ToolError::Failed("the AI gateway is starting".into()))?;
    to_value(&router.status().await)
}

async fn budget(state: AppState) -> Result<Value, ToolError> {
    to_value(&crate::budget::report::build(&state).await)
}

async fn analyze(state: AppState, a: Value) -> Result<Value, ToolError> {
    use crate::http::analyze::{AnalyzeBody, Plan, lang_of, run};
    let body: AnalyzeBody = args(a)?;
    let lang = lang_of(body.lang.as_deref(), &axum::http::HeaderMap::new());
    let plan = Plan::check(&state, &body, lang)?;
    to_value(&run(&state, plan).await?)
}
