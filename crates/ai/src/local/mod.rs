//! The built-in local engine: answers monitoring questions in Korean or English from live facts, with no
//! key and no network, and always answers (a question it cannot place gets a "here is what I can do" reply).
//!
//! Use: [`LocalEngine::understand`] first, to learn which history to fetch ([`Intent::history_need`]),
//! then fill [`Facts`] (including [`Facts::series`]) and call [`LocalEngine::answer`]. Everything here is a
//! pure function of the question and the facts: no IO, and time comes from [`Facts::now_ms`] (only the
//! thinking steps' durations read the monotonic clock, and no text depends on them).
//!
//! Layout: `lexicon` (words, synonyms, server aliases), `parse` (question -> intent), `answer` (dispatch,
//! thinking steps, fleet/status/alerts/help), `ranking` (top N, threshold, compare), `history` (trend,
//! disk-full), `stats` (slope, linear fit), `format` (numbers, units, durations), `tests` (the question table).

mod answer;
mod format;
mod history;
mod lexicon;
mod parse;
mod ranking;
mod stats;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

/// History the disk-full estimate wants when the question names no range: a week shows a trend that
/// an hour of noise would hide.
pub const DISK_FULL_RANGE_MS: i64 = 7 * 24 * HOUR_MS;
/// Range of a trend question that names none.
pub const DEFAULT_TREND_RANGE_MS: i64 = HOUR_MS;
const HOUR_MS: i64 = 3_600_000;

/// The live data an answer is made from; the binary fills it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    pub now_ms: i64,
    pub servers: Vec<ServerFact>,
    /// Alerts firing now.
    pub alerts: Vec<AlertFact>,
    /// History fetched for what [`Intent::history_need`] asked (any other series are used if relevant).
    pub series: Vec<Series>,
}

/// The latest state of one server. Percentages are 0-100; network in bytes per second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerFact {
    pub id: String,
    pub name: String,
    pub server_type: String,
    /// `online`, `warning`, `critical`, `offline`, `maintenance` or `unknown`.
    pub status: String,
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub network_in: f64,
    pub network_out: f64,
    pub load1: f64,
    pub uptime_secs: u64,
    pub disk_total_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertFact {
    pub server_id: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    pub title: String,
    pub started_at_ms: i64,
    pub value: f64,
}

/// One metric's history for one server: `(unix ms, value)` in time order. `metric` is a
/// [`Metric::key`] or a store name (`net_rx`, `net_tx`, `load1`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Series {
    pub server_id: String,
    pub metric: String,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    /// [`Intent::name`].
    pub intent: String,
    /// 0-1: how sure the engine is that it understood the question.
    pub confidence: f64,
    /// `ko` or `en`, the question's language.
    pub lang: String,
    pub thinking_steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    pub description: String,
    /// Always `completed`: the engine has no failing steps.
    pub status: String,
    pub duration_ms: u64,
}

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

    /// The name used in [`Series::metric`] and the store.
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
            Metric::Load => s.load1,
        }
    }
}

/// What a question asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Intent {
    FleetSummary,
    ServerStatus {
        server: String,
    },
    TopN {
        metric: Metric,
        n: usize,
        ascending: bool,
    },
    AboveThreshold {
        metric: Metric,
        threshold: f64,
    },
    Trend {
        server: Option<String>,
        metric: Metric,
        range_ms: i64,
    },
    Alerts,
    DiskFull {
        server: Option<String>,
    },
    /// An empty `servers` compares the whole fleet.
    Compare {
        servers: Vec<String>,
        metric: Option<Metric>,
    },
    Help,
}

/// Which history to put in [`Facts::series`] before answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryNeed {
    /// `None`: every server.
    pub server: Option<String>,
    pub metric: Metric,
    pub range_ms: i64,
}

impl Intent {
    /// The stable name reported as the answer's intent (`X-Query-Intent`).
    pub fn name(&self) -> &'static str {
        match self {
            Intent::FleetSummary => "fleet_summary",
            Intent::ServerStatus { .. } => "server_status",
            Intent::TopN { .. } => "top_n",
            Intent::AboveThreshold { .. } => "above_threshold",
            Intent::Trend { .. } => "trend",
            Intent::Alerts => "alerts",
            Intent::DiskFull { .. } => "disk_full",
            Intent::Compare { .. } => "compare",
            Intent::Help => "help",
        }
    }

    /// The history this intent is answered from; other intents need only the latest values.
    pub fn history_need(&self) -> Option<HistoryNeed> {
        match self {
            Intent::Trend { server, metric, range_ms } => {
                Some(HistoryNeed { server: server.clone(), metric: *metric, range_ms: *range_ms })
            }
            Intent::DiskFull { server } => {
                Some(HistoryNeed { server: server.clone(), metric: Metric::Disk, range_ms: DISK_FULL_RANGE_MS })
            }
            _ => None,
        }
    }
}

/// The engine. It holds only the server names it can recognise before facts arrive (for
/// [`LocalEngine::understand`]); answering uses the names in the facts.
#[derive(Debug, Clone)]
pub struct LocalEngine {
    known: Vec<String>,
}

impl Default for LocalEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalEngine {
    /// Knows the demo fleet's server ids up front.
    pub fn new() -> Self {
        LocalEngine { known: lexicon::DEMO_SERVERS.iter().map(|s| (*s).to_owned()).collect() }
    }

    /// Also recognise these server ids in [`LocalEngine::understand`] (a real fleet's names).
    pub fn with_known_servers(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        for id in ids {
            if !self.known.contains(&id) {
                self.known.push(id);
            }
        }
        self
    }

    /// What the question asks, from the words alone (no facts): tells the caller which history to fetch.
    pub fn understand(&self, query: &str) -> Intent {
        let names: Vec<(&str, &str)> = self.known.iter().map(|id| (id.as_str(), id.as_str())).collect();
        parse::parse(query, &names).intent
    }

    /// The answer, in the question's language, made from `facts`. Never fails.
    pub fn answer(&self, query: &str, facts: &Facts) -> Answer {
        answer::answer(query, facts)
    }
}
