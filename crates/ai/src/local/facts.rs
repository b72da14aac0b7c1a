//! What the hub tells the local engine: the fleet's latest state, and the parts a question asked for
//! (history, alerts, silences, events, budget, gateway, checks). Every part but the snapshot is an
//! `Option`: `None` means the hub has no such data (the answer says so), `Some(empty)` means there is
//! none of it (no alerts firing).
//!
//! Times are unix milliseconds; percentages 0-100; traffic in bytes per second.

use serde::{Deserialize, Serialize};

use super::Metric;

/// Everything an answer is made from. [`crate::FactsSource::snapshot`] fills `now_ms`,
/// `utc_offset_secs` and `servers`; [`crate::FactsSource::fill`] adds what a [`super::FactsNeed`] asks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    pub now_ms: i64,
    /// The hub's zone, seconds east of UTC: "today" starts at local midnight and times are shown local.
    pub utc_offset_secs: i32,
    pub servers: Vec<ServerFact>,
    /// Names of checks and AI engines, so a question can name them before their details are fetched.
    pub directory: Directory,
    /// History asked for by [`super::FactsNeed::series`].
    pub series: Vec<Series>,
    /// Pending, firing and recently resolved alerts.
    pub alerts: Option<Vec<AlertFact>>,
    pub silences: Option<Vec<SilenceFact>>,
    /// In time order, within the asked window.
    pub events: Option<Vec<EventFact>>,
    pub budget: Option<BudgetFact>,
    pub gateway: Option<GatewayFact>,
    pub checks: Option<Vec<CheckFact>>,
}

/// What can be named besides servers; part of the snapshot (cheap: the hub holds them in memory).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Directory {
    /// Check names.
    pub checks: Vec<String>,
    /// `(engine name, kind)`: `("google-ai", "gemini")`.
    pub engines: Vec<(String, String)>,
}

/// The latest state of one server (`/api/servers`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerFact {
    pub id: String,
    pub name: String,
    /// `web`, `api`, `database`, `cache`, `monitoring`, `backup`, `security`, `firewall` or `other`.
    pub server_type: String,
    /// `online`, `warning`, `critical`, `offline`, `maintenance` or `unknown`.
    pub status: String,
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub network_in: f64,
    pub network_out: f64,
    /// 1, 5 and 15-minute load averages.
    pub load: [f64; 3],
    pub uptime_secs: u64,
    pub environment: String,
    pub location: String,
    pub provider: String,
    /// `self`, `agent`, `simulated` or `static`.
    pub source: String,
    pub specs: Specs,
    pub firing_alerts: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Specs {
    pub cpu_cores: u32,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
}

/// One metric's history for one server: `(unix ms, value)` in time order. `metric` is a
/// [`Metric::key`] (or the store's `net_rx`/`net_tx`, which count as network).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Series {
    pub server_id: String,
    pub metric: String,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Pending,
    #[default]
    Firing,
    Resolved,
}

/// One alert (`/api/alerts`), with the evidence captured when it fired.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertFact {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub server_id: String,
    pub server_name: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    /// The rule's metric: `cpu`, `memory`, `disk`, `load1`, `networkIn`, `networkOut`, `offline`, ...
    pub metric: String,
    /// `>`, `>=`, `<` or `<=`.
    pub op: String,
    /// The windowed value at the last evaluation.
    pub value: f64,
    pub threshold: f64,
    pub state: AlertState,
    pub started_at_ms: i64,
    pub fired_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at_ms: Option<i64>,
    /// A silence matched, so no notification was sent.
    pub silenced: bool,
    /// The rule's window (the values it averaged or counted), seconds; `None` for the latest sample.
    pub window_secs: Option<u64>,
    /// Captured when the alert fired.
    pub top_processes: Vec<ProcessFact>,
    /// The metric's values over the rule's window up to the firing, `(unix ms, value)`.
    pub evidence: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessFact {
    pub pid: u32,
    pub name: String,
    /// Percent of one host.
    pub cpu: f64,
    pub memory_bytes: u64,
}

/// A silence (`/api/alerts/silences`); a `None` matcher matches anything.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SilenceFact {
    pub id: String,
    pub rule_id: Option<String>,
    pub server_id: Option<String>,
    pub severity: Option<String>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub comment: String,
    pub created_by: String,
}

impl SilenceFact {
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.starts_at_ms <= now_ms && now_ms < self.ends_at_ms
    }

    pub fn matches(&self, a: &AlertFact) -> bool {
        self.rule_id.as_ref().is_none_or(|r| *r == a.rule_id)
            && self.server_id.as_ref().is_none_or(|s| *s == a.server_id)
            && self.severity.as_ref().is_none_or(|s| *s == a.severity)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    StatusChanged,
    AlertFired,
    AlertResolved,
    Anomaly,
    Restart,
    ServerAdded,
    ServerRemoved,
    CheckDown,
    CheckUp,
}

/// One thing that happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventFact {
    pub at_ms: i64,
    pub kind: EventKind,
    /// The server it happened to (an id; a removed server's id is kept).
    pub server_id: Option<String>,
    /// The check it happened to (its name).
    pub check: Option<String>,
    /// Status changes: the old and new status.
    pub from: Option<String>,
    pub to: Option<String>,
    /// A short human detail: the alert's rule name, an anomaly's description, a restart's reason.
    pub detail: String,
}

/// The free-tier budget (`/api/budget`); each part `None` when unknown.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BudgetFact {
    /// `YYYY-MM`.
    pub month: String,
    pub egress: Option<EgressFact>,
    /// VM hours used and the month's limit.
    pub vm_hours: Option<UsedOf>,
    /// Disk bytes used and the plan's limit.
    pub disk: Option<UsedOf>,
    pub cpu: Option<CpuShare>,
    /// AI requests today per provider.
    pub ai: Vec<AiQuotaFact>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EgressFact {
    pub month_to_date_bytes: u64,
    /// At the month's end if the rate so far continues.
    pub projected_bytes: u64,
    pub limit_bytes: u64,
    /// The part the hub itself sent (dashboard, WebSocket, API answers).
    pub hub_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsedOf {
    pub used: f64,
    pub limit: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuShare {
    /// This month's average, percent of the machine.
    pub average_percent: f64,
    /// What the machine sustains without spending burst credit.
    pub sustained_percent: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AiQuotaFact {
    pub provider: String,
    pub requests_today: u32,
    pub daily_limit: Option<u32>,
    /// An upstream said the day's quota is spent.
    pub exhausted: bool,
}

/// The AI gateway (`/api/ai/status`); see [`GatewayFact::from_status`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GatewayFact {
    pub engines: Vec<EngineFact>,
    /// The `auto` order.
    pub chain: Vec<String>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Questions answered since start (`/api/metrics` `ai.totalQueries`).
    pub queries: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EngineFact {
    pub name: String,
    /// `gemini`, `openai` or `local`.
    pub kind: String,
    /// `up`, `down`, `unknown` or `not_configured`.
    pub health: String,
    /// `closed`, `open` or `half_open`.
    pub circuit: String,
    pub day_used: u32,
    pub day_limit: Option<u32>,
    pub day_exhausted: bool,
    pub requests: u64,
    pub errors: u64,
    pub last_error: Option<String>,
}

impl GatewayFact {
    /// From the router's own status; `queries` is the hub's count of answered questions.
    pub fn from_status(status: &crate::AiStatus, queries: u64) -> GatewayFact {
        let circuit = |c: crate::CircuitState| {
            serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        };
        GatewayFact {
            engines: status
                .engines
                .iter()
                .map(|e| EngineFact {
                    name: e.name.clone(),
                    kind: e.kind.to_owned(),
                    health: e.health.to_owned(),
                    circuit: circuit(e.circuit),
                    day_used: e.quota.day_used,
                    day_limit: e.quota.day_limit,
                    day_exhausted: e.quota.day_exhausted,
                    requests: e.requests,
                    errors: e.errors.values().sum(),
                    last_error: e.last_error.clone(),
                })
                .collect(),
            chain: status.chain.clone(),
            cache_hits: status.cache.hits,
            cache_misses: status.cache.misses,
            queries,
        }
    }

    /// Hits over hits + misses, percent; `None` before any lookup.
    pub fn hit_rate(&self) -> Option<f64> {
        let total = self.cache_hits + self.cache_misses;
        (total > 0).then(|| self.cache_hits as f64 * 100.0 / total as f64)
    }
}

/// An uptime check (`/api/checks`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckFact {
    pub id: String,
    pub name: String,
    /// `http`, `tcp`, `ping`, `dns` or `tls`.
    pub kind: String,
    pub target: String,
    /// `up`, `down`, `pending`, `maintenance` or `unknown`.
    pub status: String,
    pub latency_ms: Option<f64>,
    /// Percent of the last 24 hours / 7 days the check was up.
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    pub cert_days_left: Option<i64>,
    pub last_error: Option<String>,
}

impl Facts {
    pub fn server(&self, id: &str) -> Option<&ServerFact> {
        self.servers.iter().find(|s| s.id == id).or_else(|| self.servers.iter().find(|s| s.name == id))
    }

    /// A server's display name (the id itself when the server is gone).
    pub fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.server(id).map_or(id, |s| s.name.as_str())
    }

    /// The points of `metric` for server `id`.
    pub fn series_of(&self, id: &str, metric: Metric) -> impl Iterator<Item = &Series> {
        self.series.iter().filter(move |s| s.server_id == id && metric.matches_series(&s.metric))
    }
}
