//! What a question asks for: the answer's family, reported as its intent (`X-Query-Intent`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// The whole fleet: counts by status, averages, what needs attention.
    FleetSummary,
    /// What needs attention, worst first, with the evidence.
    Triage,
    /// Servers matching a filter (status, type, environment, provider, location, source): count, yes/no, list.
    ServerList,
    ServerStatus,
    /// One metric (or the uptime) of named servers.
    ServerMetric,
    TopN,
    AboveThreshold,
    /// Average, minimum or maximum, of the latest values or over a window.
    Aggregate,
    Compare,
    Trend,
    /// When a disk (or memory) fills at its current pace.
    Forecast,
    /// What happened in a window.
    Events,
    Alerts,
    /// Why an alert fired, from its evidence.
    Explain,
    Silences,
    /// The free-tier budget.
    Budget,
    /// The AI gateway itself.
    Gateway,
    Checks,
    Help,
    /// A short question back: the question could mean several things.
    Clarify,
}

impl Intent {
    /// The stable name reported as the answer's intent.
    pub fn name(self) -> &'static str {
        match self {
            Intent::FleetSummary => "fleet_summary",
            Intent::Triage => "triage",
            Intent::ServerList => "server_list",
            Intent::ServerStatus => "server_status",
            Intent::ServerMetric => "server_metric",
            Intent::TopN => "top_n",
            Intent::AboveThreshold => "above_threshold",
            Intent::Aggregate => "aggregate",
            Intent::Compare => "compare",
            Intent::Trend => "trend",
            Intent::Forecast => "forecast",
            Intent::Events => "events",
            Intent::Alerts => "alerts",
            Intent::Explain => "explain",
            Intent::Silences => "silences",
            Intent::Budget => "budget",
            Intent::Gateway => "gateway",
            Intent::Checks => "checks",
            Intent::Help => "help",
            Intent::Clarify => "clarify",
        }
    }

    /// Intents about servers, which a follow-up may point at another server ("and web-02?").
    pub fn is_server_scoped(self) -> bool {
        matches!(
            self,
            Intent::ServerStatus
                | Intent::ServerMetric
                | Intent::Trend
                | Intent::Forecast
                | Intent::Events
                | Intent::Alerts
                | Intent::Explain
                | Intent::Compare
                | Intent::Aggregate
        )
    }
}
