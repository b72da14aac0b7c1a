//! Follow-ups: a question read against the conversation so far ("and web-02?", "그럼 메모리는?", "why?",
//! "show the last 6 hours instead"). Stateless: the earlier questions are parsed again, oldest first,
//! each resolved against the one before, so the same history always gives the same reading.

use super::facts::{AlertState, EventKind};
use super::names::Names;
use super::parse::{self, Bare, Basis, Parsed};
use super::question::{Form, Question};
use super::text::Lang;
use super::time::Window;
use super::{Facts, Intent};

/// Earlier questions read at most; older ones cannot change the reading of a short follow-up.
pub const MAX_HISTORY: usize = 10;

/// `query` resolved against `history` (earlier user questions, oldest first); `names` indexes `facts`.
pub fn resolve(query: &str, history: &[String], facts: &Facts, names: &Names) -> Question {
    let mut prev: Option<Question> = None;
    let start = history.len().saturating_sub(MAX_HISTORY);
    for earlier in &history[start..] {
        prev = Some(resolve_one(parse::parse(earlier, facts, names), prev.as_ref(), facts));
    }
    resolve_one(parse::parse(query, facts, names), prev.as_ref(), facts)
}

fn resolve_one(cur: Parsed, prev: Option<&Question>, facts: &Facts) -> Question {
    let Some(prev) = prev.filter(|p| !matches!(p.intent, Intent::Help | Intent::Clarify)) else { return cur.q };
    match cur.bare {
        Bare::Why => return why(&cur, prev, facts),
        Bare::Since => return since(&cur, prev, facts),
        Bare::No => {}
    }
    // "compare with api-02" after a question about api-01: both.
    if cur.q.intent == Intent::Compare && cur.q.servers.len() == 1 && !prev.servers.is_empty() {
        let mut q = cur.q.clone();
        let mut servers = prev.servers.clone();
        servers.retain(|s| !q.servers.contains(s));
        servers.extend(q.servers.iter().cloned());
        q.servers = servers;
        q.metric = q.metric.or(prev.metric);
        q.followup = true;
        return q;
    }
    let pro_drop = cur.q.lang == Lang::Ko && cur.short;
    let anchored = cur.basis == Basis::Cue;
    if anchored && !(cur.refers || pro_drop) {
        return cur.q;
    }
    let mut q = if anchored { carry_subject(cur.q.clone(), prev, &cur) } else { merged(&cur, prev) };
    q.followup = true;
    q.lang = cur.q.lang;
    q.confidence = (cur.q.confidence.max(prev.confidence) - 0.05).clamp(0.05, 0.95);
    if !cur.q.unknown.is_empty() {
        q.unknown = cur.q.unknown.clone();
        q.clarify = cur.q.clarify.clone();
        q.confidence = q.confidence.min(0.45);
    }
    q
}

/// A question with its own family but no subject: it keeps the previous question's servers and filter
/// ("is its disk going to fill up?"), and a budget follow-up stays a budget question ("and the projection?").
fn carry_subject(mut q: Question, prev: &Question, cur: &Parsed) -> Question {
    if matches!(prev.intent, Intent::Budget | Intent::Gateway | Intent::Checks | Intent::Silences)
        && q.servers.is_empty()
        && matches!(q.intent, Intent::Forecast | Intent::Trend | Intent::Aggregate | Intent::TopN)
    {
        let mut p = prev.clone();
        if cur.projection && p.intent == Intent::Budget {
            p.budget = vec![super::question::BudgetPart::Projected];
        }
        return p;
    }
    if q.servers.is_empty() && q.filter.is_empty() && (q.intent.is_server_scoped() || q.intent == Intent::TopN) {
        q.servers = prev.servers.clone();
        q.filter = prev.filter.clone();
        if q.metric.is_none() && q.intent != Intent::Forecast {
            q.metric = prev.metric;
        }
    }
    if q.intent == prev.intent && q.filter.is_empty() && q.servers.is_empty() {
        q.filter = prev.filter.clone();
    }
    q
}

/// A follow-up of names, a metric, a window or a number only: the previous question with those replaced.
fn merged(cur: &Parsed, prev: &Question) -> Question {
    let c = &cur.q;
    let mut q = prev.clone();
    q.clarify.clear();
    q.unknown.clear();
    if !c.servers.is_empty() {
        q.servers = c.servers.clone();
        q.filter = c.filter.clone();
        q.groups.clear();
        q.intent = match prev.intent {
            Intent::TopN
            | Intent::AboveThreshold
            | Intent::Aggregate
            | Intent::ServerList
            | Intent::FleetSummary
            | Intent::Triage => {
                if c.metric.is_some() || prev.metric.is_some() && !prev.metric_defaulted {
                    Intent::ServerMetric
                } else {
                    Intent::ServerStatus
                }
            }
            other => other,
        };
    } else if !c.filter.is_empty() {
        q.filter.merge(&c.filter);
        q.servers.clear();
    }
    if let Some(m) = c.metric {
        q.metric = Some(m);
        q.metric_defaulted = false;
        if q.intent == Intent::ServerStatus {
            q.intent = Intent::ServerMetric;
        }
    }
    if let Some(w) = c.window {
        q.window = Some(w);
        if w != Window::Now && matches!(q.intent, Intent::ServerMetric | Intent::ServerStatus) {
            q.intent = Intent::Trend;
            q.metric = q.metric.or(Some(super::Metric::Cpu));
        }
    }
    if let Some(n) = cur.numbers.iter().find(|n| !n.size) {
        match q.intent {
            Intent::AboveThreshold => {
                let cmp = n.cmp.or(q.threshold.map(|t| t.0)).unwrap_or(super::numbers::Cmp::Above);
                q.threshold = Some((cmp, n.value));
            }
            Intent::TopN if n.value >= 1.0 => q.n = Some((n.value as usize).clamp(1, 50)),
            _ => {}
        }
    }
    if c.form != Form::Plain {
        q.form = c.form;
    }
    if c.agg.is_some() {
        q.agg = c.agg;
    }
    // "only critical ones" after a list of alerts narrows their severity.
    if matches!(q.intent, Intent::Alerts | Intent::Explain) && c.alerts.severity.is_some() {
        q.alerts.severity.clone_from(&c.alerts.severity);
        q.filter.statuses.clear();
    }
    q
}

/// "why?": explain what the previous question was about (the servers it listed, if it listed some).
fn why(cur: &Parsed, prev: &Question, facts: &Facts) -> Question {
    let mut q = prev.clone();
    if matches!(prev.intent, Intent::ServerList | Intent::Triage) && prev.servers.is_empty() {
        let mut scope: Vec<&super::ServerFact> = prev.scope(facts);
        if prev.intent == Intent::Triage {
            scope.retain(|s| matches!(s.status.as_str(), "critical" | "offline" | "warning"));
        }
        q.servers = scope.iter().take(super::compose::fleet::MAX_LISTED).map(|s| s.id.clone()).collect();
        q.filter = Default::default();
    }
    q.intent = Intent::Explain;
    q.lang = cur.q.lang;
    q.followup = true;
    q.form = Form::Plain;
    q.clarify.clear();
    if prev.intent == Intent::Alerts && prev.alerts.states.is_empty() {
        q.alerts.states = vec![AlertState::Firing];
    }
    q.confidence = (prev.confidence - 0.05).clamp(0.05, 0.95);
    q
}

/// "since when?": after a list of servers in some state, when each entered it; after alerts, since when
/// they fire.
fn since(cur: &Parsed, prev: &Question, facts: &Facts) -> Question {
    let mut q = prev.clone();
    q.lang = cur.q.lang;
    q.followup = true;
    q.confidence = (prev.confidence - 0.05).clamp(0.05, 0.95);
    if prev.intent == Intent::Alerts {
        q.alerts.since = true;
        return q;
    }
    q.intent = Intent::Events;
    q.servers = prev.scope(facts).iter().map(|s| s.id.clone()).collect();
    q.event_to = prev.filter.statuses.first().cloned();
    q.event_kinds = vec![EventKind::StatusChanged];
    q.filter = Default::default();
    q.window = None;
    q
}
