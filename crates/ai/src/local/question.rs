//! A resolved question: the intent and everything it named (servers, filters, metric, window, numbers,
//! alert and event aspects), after follow-up resolution; and what it needs fetched ([`Question::need`]).

use super::facts::{AlertState, EventKind};
use super::filters::Filter;
use super::need::FactsNeed;
use super::numbers::Cmp;
use super::text::Lang;
use super::time::Window;
use super::words::{DAY, HOUR};
use super::{Facts, Intent, Metric, ServerFact};

/// What shape of answer the question wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Form {
    #[default]
    Plain,
    Count,
    YesNo,
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Avg,
    Max,
    Min,
}

/// The alert side of a question: which states, which severity, and what about them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertAsk {
    /// Empty: firing (and pending, noted).
    pub states: Vec<AlertState>,
    /// All states ("show me all alerts").
    pub all: bool,
    pub severity: Option<String>,
    /// Who acknowledged.
    pub ack: bool,
    /// Only those not acknowledged.
    pub unacked: bool,
    /// Since when.
    pub since: bool,
}

/// The budget parts a question asks about; all when none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetPart {
    Egress,
    Projected,
    Hub,
    VmHours,
    Disk,
    Cpu,
    Ai,
}

/// What servers are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Status,
    Type,
    Environment,
    Provider,
    Location,
    Source,
}

/// Everything the engine understood of a question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub intent: Intent,
    pub lang: Lang,
    /// 0-1, from how the intent was decided, how much of the question was understood and what was
    /// assumed (a default metric, a spelling fix, a follow-up).
    pub confidence: f64,
    /// Server ids named, in order.
    pub servers: Vec<String>,
    /// Names that look like servers but match none, and the closest real names.
    pub unknown: Vec<String>,
    pub suggestions: Vec<String>,
    pub filter: Filter,
    /// Groups to compare ("web servers vs api servers").
    pub groups: Vec<Filter>,
    pub metric: Option<Metric>,
    /// No metric was named: CPU stands in.
    pub metric_defaulted: bool,
    pub form: Form,
    pub agg: Option<Agg>,
    pub n: Option<usize>,
    pub ascending: bool,
    pub threshold: Option<(Cmp, f64)>,
    pub window: Option<Window>,
    pub uptime: bool,
    pub alerts: AlertAsk,
    /// One alert asked by id (the dashboard's "Explain").
    pub alert_id: Option<String>,
    pub event_kinds: Vec<EventKind>,
    /// Status changes into this status only ("went offline").
    pub event_to: Option<String>,
    pub checks: Vec<String>,
    /// Certificates rather than the checks' state.
    pub certs: bool,
    pub engines: Vec<String>,
    pub budget: Vec<BudgetPart>,
    /// The gateway question is about its cache (answered first).
    pub cache: bool,
    /// A yes/no budget question asks about going over ("am I over budget?"), not about being within.
    pub over: bool,
    /// Counts per group ("servers per provider", "환경별 서버 수").
    pub group_by: Option<GroupBy>,
    /// Options offered back when the question is ambiguous or names an unknown server.
    pub clarify: Vec<String>,
    /// "help" asked for, rather than fallen back to.
    pub help_asked: bool,
    /// An order ("restart web-01"): answered with what the assistant can do, since it only reads.
    pub action: bool,
    /// Resolved against an earlier question.
    pub followup: bool,
}

impl Question {
    pub fn new(intent: Intent, lang: Lang) -> Question {
        Question {
            intent,
            lang,
            confidence: 0.0,
            servers: Vec::new(),
            unknown: Vec::new(),
            suggestions: Vec::new(),
            filter: Filter::default(),
            groups: Vec::new(),
            metric: None,
            metric_defaulted: false,
            form: Form::Plain,
            agg: None,
            n: None,
            ascending: false,
            threshold: None,
            window: None,
            uptime: false,
            alerts: AlertAsk::default(),
            alert_id: None,
            event_kinds: Vec::new(),
            event_to: None,
            checks: Vec::new(),
            certs: false,
            engines: Vec::new(),
            budget: Vec::new(),
            cache: false,
            over: false,
            group_by: None,
            clarify: Vec::new(),
            help_asked: false,
            action: false,
            followup: false,
        }
    }

    /// The metric asked, or CPU.
    pub fn metric_or_cpu(&self) -> Metric {
        self.metric.unwrap_or(Metric::Cpu)
    }

    /// The servers in question: those named, else those the filter admits, else all.
    pub fn scope<'a>(&self, facts: &'a Facts) -> Vec<&'a ServerFact> {
        if !self.servers.is_empty() {
            return self.servers.iter().filter_map(|id| facts.server(id)).collect();
        }
        facts.servers.iter().filter(|s| self.filter.admits(s)).collect()
    }

    /// [`Question::scope`] without the status filter: for alerts and triage, where "critical" is a
    /// severity or the very thing looked for, not a filter on servers.
    pub fn scope_any_status<'a>(&self, facts: &'a Facts) -> Vec<&'a ServerFact> {
        if !self.servers.is_empty() {
            return self.servers.iter().filter_map(|id| facts.server(id)).collect();
        }
        let mut f = self.filter.clone();
        f.statuses.clear();
        facts.servers.iter().filter(|s| f.admits(s)).collect()
    }

    /// Whether the question narrows the servers other than by status.
    pub fn narrowed(&self) -> bool {
        let mut f = self.filter.clone();
        f.statuses.clear();
        !self.servers.is_empty() || !f.is_empty()
    }

    /// The window the answer uses: the one asked, else the intent's default.
    pub fn window_or_default(&self) -> Window {
        if let Some(w) = self.window.filter(|w| *w != Window::Now) {
            return w;
        }
        match self.intent {
            Intent::Events if !self.event_kinds.is_empty() || self.event_to.is_some() => Window::Last(7 * DAY),
            Intent::Events => Window::Last(DAY),
            Intent::Forecast => Window::Last(7 * DAY),
            Intent::Trend if self.metric == Some(Metric::Disk) => Window::Last(DAY),
            _ => Window::Last(HOUR),
        }
    }

    /// Exactly what the answer will read beyond the snapshot.
    pub fn need(&self, facts: &Facts) -> FactsNeed {
        let mut need = FactsNeed::default();
        let (now, offset) = (facts.now_ms, facts.utc_offset_secs);
        let ids = |q: &Question| -> Vec<String> {
            if q.servers.is_empty() && q.filter.is_empty() {
                Vec::new()
            } else {
                q.scope(facts).iter().map(|s| s.id.clone()).collect()
            }
        };
        match self.intent {
            Intent::Trend | Intent::Forecast => {
                let w = self.window_or_default().resolve(now, offset);
                let w = if self.intent == Intent::Forecast { (now - 7 * DAY, now) } else { w };
                let metric =
                    self.metric.unwrap_or(if self.intent == Intent::Forecast { Metric::Disk } else { Metric::Cpu });
                need.add_series(ids(self), metric, w);
            }
            Intent::Aggregate if self.window.is_some_and(|w| w != Window::Now) => {
                let w = self.window_or_default().resolve(now, offset);
                need.add_series(ids(self), self.metric_or_cpu(), w);
            }
            Intent::Events => need.add_events(self.window_or_default().resolve(now, offset)),
            Intent::Alerts | Intent::ServerStatus => need.alerts = true,
            // Alerts for the evidence, events for when a server went offline or an anomaly was seen.
            Intent::Triage | Intent::Explain => {
                need.alerts = true;
                need.add_events((now - DAY, now));
            }
            Intent::Silences => {
                need.silences = true;
                need.alerts = true;
            }
            Intent::Budget => need.budget = true,
            Intent::Gateway => need.gateway = true,
            Intent::Checks => need.checks = true,
            _ => {}
        }
        need
    }

    /// What the answer needs once the first part arrived: an explanation reads the alert's metric on
    /// every server from three hours before it fired (enough for a correlation to be significant),
    /// known only once the alerts are in.
    pub fn more(&self, facts: &Facts) -> FactsNeed {
        let mut need = FactsNeed::default();
        if self.intent != Intent::Explain {
            return need;
        }
        for a in super::compose::explain::chosen(self, facts) {
            let Some(metric) = Metric::of_rule(&a.metric) else { continue };
            let fired = a.fired_at_ms.unwrap_or(a.started_at_ms);
            let end = a.resolved_at_ms.unwrap_or(facts.now_ms).min(facts.now_ms);
            need.add_series(Vec::new(), metric, (fired - super::compose::explain::LOOKBACK_MS, end.max(fired)));
        }
        need
    }
}
