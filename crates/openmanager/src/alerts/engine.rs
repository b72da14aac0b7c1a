//! The rule engine: pure state machines, one per (rule, server), fed observations and the time by the
//! caller. Each evaluation returns the events (fired, repeat, resolved) to notify and push to browsers.
//!
//! Flapping is damped three ways, since a value hovering at a threshold must not page on every crossing
//! (Beszel #1921, #1695): the clear threshold (hysteresis), a firing alert resolving only after the
//! condition stayed clear for `keep_firing_ms`, and a resolved alert not firing again before
//! `refire_cooldown_ms` has passed.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::rule::{Metric, Op, Rule, Severity, Silence, Window};
use crate::fleet::model::{ServerType, Source};

/// Samples kept per (rule, server), whatever the window says: one a second for an hour.
const MAX_SAMPLES: usize = 3600;
/// Processes captured per ordering (CPU, memory) when an alert fires.
const TOP_PROCESSES: usize = 5;

#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Pending and firing alerts held at most; a new breach past this is counted and ignored.
    pub max_active: usize,
    /// Resolved alerts remembered (oldest dropped first).
    pub max_history: usize,
    /// A firing alert resolves only once its condition has been clear this long.
    pub keep_firing_ms: i64,
    /// After resolving, the same (rule, server) cannot fire again for this long.
    pub refire_cooldown_ms: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { max_active: 1000, max_history: 500, keep_firing_ms: 60_000, refire_cooldown_ms: 300_000 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInfo {
    pub pid: u32,
    pub name: String,
    /// Percent of one host.
    pub cpu: f64,
    pub memory_bytes: u64,
}

/// One server's current values, as the evaluation loop gathers them.
#[derive(Debug, Clone)]
pub struct Observation {
    pub server_id: String,
    pub server_name: String,
    pub server_type: ServerType,
    pub source: Source,
    /// A metric absent here leaves its rules' state unchanged.
    pub values: BTreeMap<Metric, f64>,
    pub top_processes: Vec<ProcessInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Pending,
    Firing,
    Resolved,
}

fn rfc3339<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::clock::millis_rfc3339(*ms))
}

fn rfc3339_opt<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

/// The reverse of [`rfc3339`]: alerts come back from other hubs (the cluster bus) in their API form.
fn from_rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(serde::de::Error::custom)
}

fn from_rfc3339_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => s.parse::<jiff::Timestamp>().map(|t| Some(t.as_millisecond())).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `<ruleId>:<serverId>:<startedAt ms>`: unique and stable across evaluations.
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub metric: Metric,
    pub op: Op,
    pub server_id: String,
    pub server_name: String,
    pub state: AlertState,
    pub severity: Severity,
    /// The windowed value at the last evaluation.
    pub value: f64,
    pub threshold: f64,
    /// When the condition was first seen (pending start).
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: i64,
    #[serde(serialize_with = "rfc3339_opt", deserialize_with = "from_rfc3339_opt", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fired_at: Option<i64>,
    #[serde(serialize_with = "rfc3339_opt", deserialize_with = "from_rfc3339_opt", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<i64>,
    pub acknowledged: bool,
    #[serde(serialize_with = "rfc3339_opt", deserialize_with = "from_rfc3339_opt", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    /// Captured when the alert fired: top by CPU then top by memory, each pid once.
    pub top_processes: Vec<ProcessInfo>,
    /// Every value of the server when the alert fired, by metric.
    #[schema(value_type = BTreeMap<String, f64>)]
    pub values: BTreeMap<Metric, f64>,
    /// Where the rule sends notifications, copied so the caller needs no lookup.
    pub channels: Vec<String>,
    /// Its server or check is in a maintenance window: shown, never notified; repeats resume one
    /// interval after the window ends. Defaults to false when absent: alerts from the cluster bus of a
    /// hub release that predates windows.
    #[serde(default)]
    pub maintenance: bool,
    #[serde(skip)]
    last_notified_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Fired,
    Repeat,
    /// The recovery notice.
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub kind: EventKind,
    pub alert: Alert,
    /// A silence matched: update state and browsers, but send no notification.
    pub silenced: bool,
}

impl Event {
    pub fn should_notify(&self) -> bool {
        !self.silenced
    }

    /// The WebSocket `alert` message of API.md: `{level, title, message, alert}`.
    pub fn ws_payload(&self) -> serde_json::Value {
        serde_json::json!({
            "level": self.alert.severity.as_str(),
            "title": self.title(),
            "message": self.message(),
            "alert": self.alert,
        })
    }

    pub fn title(&self) -> String {
        let a = &self.alert;
        match self.kind {
            EventKind::Fired => {
                format!("[{}] {} on {}", a.severity.as_str().to_uppercase(), a.rule_name, a.server_name)
            }
            EventKind::Repeat => {
                format!("[{}] still firing: {} on {}", a.severity.as_str().to_uppercase(), a.rule_name, a.server_name)
            }
            EventKind::Resolved => format!("[RESOLVED] {} on {}", a.rule_name, a.server_name),
        }
    }

    pub fn message(&self) -> String {
        let a = &self.alert;
        let m = a.metric.as_str();
        match self.kind {
            EventKind::Fired | EventKind::Repeat => {
                format!(
                    "{m} is {:.1} ({} {}) since {}",
                    a.value,
                    a.op.as_str(),
                    a.threshold,
                    crate::clock::millis_rfc3339(a.started_at)
                )
            }
            EventKind::Resolved => format!(
                "{m} back to {:.1}; resolved at {}",
                a.value,
                crate::clock::millis_rfc3339(a.resolved_at.unwrap_or(a.started_at))
            ),
        }
    }
}

/// Active alerts first (newest first), then resolved ones as given (newest first), filtered, at
/// most `limit`: the order of `GET /api/alerts`, for the engine's alerts and for another hub's.
pub fn listing<'a>(
    active: impl Iterator<Item = &'a Alert>,
    history: impl Iterator<Item = &'a Alert>,
    filter: &AlertFilter,
    limit: usize,
) -> Vec<Alert> {
    let mut active: Vec<&Alert> = active.collect();
    active.sort_by_key(|a| std::cmp::Reverse(a.started_at));
    active
        .into_iter()
        .chain(history)
        .filter(|a| filter.state.is_none_or(|s| s == a.state))
        .filter(|a| filter.server_id.as_deref().is_none_or(|s| s == a.server_id))
        .filter(|a| filter.severity.is_none_or(|s| s == a.severity))
        .take(limit)
        .cloned()
        .collect()
}

/// The query parameters of `GET /api/alerts`; `None` matches anything.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub server_id: Option<String>,
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Inactive,
    Pending {
        since: i64,
    },
    /// `clear_since`: when the condition last became clear, while waiting out `keep_firing_ms`.
    Firing {
        clear_since: Option<i64>,
    },
}

#[derive(Debug)]
struct Track {
    samples: VecDeque<(i64, f64)>,
    phase: Phase,
    alert_id: Option<String>,
    last_resolved_ms: Option<i64>,
}

impl Track {
    fn new() -> Self {
        Self { samples: VecDeque::new(), phase: Phase::Inactive, alert_id: None, last_resolved_ms: None }
    }
}

/// `(breaching, still_active, value)` for the window: breaching uses the threshold, still-active the
/// clear threshold; value is what the alert shows (the mean, or the latest sample).
fn assess(rule: &Rule, samples: &VecDeque<(i64, f64)>) -> Option<(bool, bool, f64)> {
    let latest = samples.back()?.1;
    let (threshold, clear) = (rule.threshold, rule.clear_at());
    Some(match rule.window {
        Window::Latest => (rule.op.holds(latest, threshold), rule.op.holds(latest, clear), latest),
        Window::Average { .. } => {
            let mean = samples.iter().map(|s| s.1).sum::<f64>() / samples.len() as f64;
            (rule.op.holds(mean, threshold), rule.op.holds(mean, clear), mean)
        }
        Window::NOfM { n, .. } => {
            let count = |t: f64| samples.iter().filter(|s| rule.op.holds(s.1, t)).count();
            let n = n as usize;
            (count(threshold) >= n, count(clear) >= n, latest)
        }
    })
}

fn top_processes(procs: &[ProcessInfo]) -> Vec<ProcessInfo> {
    let mut by_cpu: Vec<&ProcessInfo> = procs.iter().collect();
    by_cpu.sort_by(|a, b| b.cpu.total_cmp(&a.cpu));
    let mut by_mem: Vec<&ProcessInfo> = procs.iter().collect();
    by_mem.sort_by_key(|p| std::cmp::Reverse(p.memory_bytes));
    let mut out: Vec<ProcessInfo> = Vec::with_capacity(2 * TOP_PROCESSES);
    for p in by_cpu.into_iter().take(TOP_PROCESSES).chain(by_mem.into_iter().take(TOP_PROCESSES)) {
        if !out.iter().any(|q| q.pid == p.pid) {
            out.push(p.clone());
        }
    }
    out
}

#[derive(Debug, Default)]
pub struct Engine {
    config: EngineConfig,
    rules: Vec<Rule>,
    silences: Vec<Silence>,
    tracks: HashMap<(String, String), Track>,
    active: BTreeMap<String, Alert>,
    history: VecDeque<Alert>,
    dropped: u64,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Self { config, ..Self::default() }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Replaces the rules. State of rules that remain (same id) is kept; alerts of removed or
    /// disabled rules are moved to history as resolved, without an event.
    pub fn set_rules(&mut self, rules: Vec<Rule>, now_ms: i64) {
        self.rules = rules;
        let live: Vec<&str> = self.rules.iter().filter(|r| r.enabled).map(|r| r.id.as_str()).collect();
        let gone: Vec<(String, String)> =
            self.tracks.keys().filter(|(r, _)| !live.contains(&r.as_str())).cloned().collect();
        for key in gone {
            if let Some(track) = self.tracks.remove(&key)
                && let Some(id) = track.alert_id
            {
                self.retire(&id, now_ms);
            }
        }
    }

    pub fn silences(&self) -> &[Silence] {
        &self.silences
    }

    pub fn set_silences(&mut self, silences: Vec<Silence>) {
        self.silences = silences;
    }

    /// Pending and firing alerts, by id.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// Resolved alerts, newest first.
    pub fn history(&self) -> impl Iterator<Item = &Alert> {
        self.history.iter().rev()
    }

    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.active.get(id).or_else(|| self.history.iter().find(|a| a.id == id))
    }

    /// Alerts for `GET /api/alerts`: active ones first (newest first), then resolved ones (newest
    /// first), filtered, at most `limit`. Paging by cursor is left to the caller (skip by id).
    pub fn list(&self, filter: &AlertFilter, limit: usize) -> Vec<Alert> {
        listing(self.active.values(), self.history(), filter, limit)
    }

    /// Forgets every alert and its state (rules and silences stay): this hub stopped evaluating
    /// (another holds the alert lease), and what it had is no longer current.
    pub fn reset_state(&mut self) {
        self.tracks.clear();
        self.active.clear();
        self.history.clear();
    }

    /// Carries on alerts another evaluator had (this hub just took the evaluation over): each
    /// pending or firing alert of an enabled rule goes on as it was (same id, since, firing time and
    /// acknowledgement), so it neither fires nor notifies again, and resolves as usual; its window
    /// of samples starts afresh, and repeats resume one interval from `now_ms`. Alerts of unknown or
    /// disabled rules, or of a (rule, server) this engine already tracks, are left out.
    pub fn adopt(&mut self, alerts: impl IntoIterator<Item = Alert>, now_ms: i64) {
        for mut alert in alerts {
            let key = (alert.rule_id.clone(), alert.server_id.clone());
            let phase = match alert.state {
                AlertState::Pending => Phase::Pending { since: alert.started_at },
                AlertState::Firing => Phase::Firing { clear_since: None },
                AlertState::Resolved => continue,
            };
            let live = self.rules.iter().any(|r| r.enabled && r.id == alert.rule_id);
            if !live
                || self.tracks.contains_key(&key)
                || self.active.contains_key(&alert.id)
                || self.active.len() >= self.config.max_active
            {
                continue;
            }
            alert.last_notified_ms = now_ms;
            let track =
                Track { samples: VecDeque::new(), phase, alert_id: Some(alert.id.clone()), last_resolved_ms: None };
            self.tracks.insert(key, track);
            self.active.insert(alert.id.clone(), alert);
        }
    }

    /// Firing alerts of one server (for `ServerView::alerts`).
    pub fn firing_count(&self, server_id: &str) -> u32 {
        let n = self.active.values().filter(|a| a.state == AlertState::Firing && a.server_id == server_id).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// New breaches ignored because `max_active` was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn is_silenced(&self, alert: &Alert, now_ms: i64) -> bool {
        alert.maintenance
            || self
                .silences
                .iter()
                .any(|s| s.is_active(now_ms) && s.matches(&alert.rule_id, &alert.server_id, alert.severity))
    }

    /// Marks the active alerts whose subject (a server id or `check:<id>`) is `covered` by a
    /// maintenance window now, and clears the mark of the others. A covered alert counts as notified
    /// at every evaluation of its window, so it does not repeat the moment the window ends (nobody
    /// was told anything new during it); its events meanwhile are silenced.
    pub fn set_maintenance(&mut self, covered: &dyn Fn(&str) -> bool, now_ms: i64) {
        for alert in self.active.values_mut() {
            alert.maintenance = covered(&alert.server_id);
            if alert.maintenance && alert.state == AlertState::Firing {
                alert.last_notified_ms = now_ms;
            }
        }
    }

    /// Marks an active alert acknowledged: it stops repeating; it still resolves (and notifies) as usual.
    pub fn acknowledge(&mut self, id: &str, by: &str, now_ms: i64) -> Option<Alert> {
        let alert = self.active.get_mut(id)?;
        if !alert.acknowledged {
            alert.acknowledged = true;
            alert.acknowledged_at = Some(now_ms);
            alert.acknowledged_by = Some(by.chars().take(100).collect());
        }
        Some(alert.clone())
    }

    /// Drops every state of a server (deleted from the fleet); its alerts go to history as resolved.
    pub fn forget_server(&mut self, server_id: &str, now_ms: i64) {
        let keys: Vec<(String, String)> = self.tracks.keys().filter(|(_, s)| s == server_id).cloned().collect();
        for key in keys {
            if let Some(track) = self.tracks.remove(&key)
                && let Some(id) = track.alert_id
            {
                self.retire(&id, now_ms);
            }
        }
    }

    fn retire(&mut self, id: &str, now_ms: i64) {
        // A pending alert never notified anyone: it just goes; a firing one is kept in history.
        if let Some(mut alert) = self.active.remove(id)
            && alert.state == AlertState::Firing
        {
            alert.state = AlertState::Resolved;
            alert.resolved_at = Some(now_ms);
            self.push_history(alert);
        }
    }

    fn push_history(&mut self, alert: Alert) {
        while self.history.len() >= self.config.max_history.max(1) {
            self.history.pop_front();
        }
        self.history.push_back(alert);
    }

    /// One evaluation of every enabled rule against every observation.
    pub fn evaluate(&mut self, now_ms: i64, observations: &[Observation]) -> Vec<Event> {
        let mut events = Vec::new();
        let rules = std::mem::take(&mut self.rules);
        for rule in rules.iter().filter(|r| r.enabled) {
            for obs in observations {
                if !rule.applies_to(&obs.server_id, obs.server_type, obs.source) {
                    continue;
                }
                let Some(&value) = obs.values.get(&rule.metric) else { continue };
                if !value.is_finite() {
                    continue;
                }
                if let Some(event) = self.step(rule, obs, value, now_ms) {
                    events.push(event);
                }
            }
        }
        self.rules = rules;
        events
    }

    fn step(&mut self, rule: &Rule, obs: &Observation, value: f64, now_ms: i64) -> Option<Event> {
        let key = (rule.id.clone(), obs.server_id.clone());
        let track = self.tracks.entry(key).or_insert_with(Track::new);
        track.samples.push_back((now_ms, value));
        match rule.window {
            Window::Latest => {
                while track.samples.len() > 1 {
                    track.samples.pop_front();
                }
            }
            Window::Average { seconds } => {
                let horizon = now_ms.saturating_sub(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX));
                while track.samples.front().is_some_and(|s| s.0 <= horizon) || track.samples.len() > MAX_SAMPLES {
                    track.samples.pop_front();
                }
            }
            Window::NOfM { m, .. } => {
                while track.samples.len() > m as usize {
                    track.samples.pop_front();
                }
            }
        }
        let (breaching, still_active, shown) = assess(rule, &track.samples)?;
        let for_ms = i64::try_from(rule.for_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);

        match track.phase {
            Phase::Inactive => {
                if !breaching {
                    return None;
                }
                if self.active.len() >= self.config.max_active {
                    self.dropped += 1;
                    return None;
                }
                let alert = Alert {
                    id: format!("{}:{}:{now_ms}", rule.id, obs.server_id),
                    rule_id: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    metric: rule.metric,
                    op: rule.op,
                    server_id: obs.server_id.clone(),
                    server_name: obs.server_name.clone(),
                    state: AlertState::Pending,
                    severity: rule.severity,
                    value: shown,
                    threshold: rule.threshold,
                    started_at: now_ms,
                    fired_at: None,
                    resolved_at: None,
                    acknowledged: false,
                    acknowledged_at: None,
                    acknowledged_by: None,
                    top_processes: Vec::new(),
                    values: BTreeMap::new(),
                    channels: rule.channels.clone(),
                    maintenance: false,
                    last_notified_ms: 0,
                };
                track.phase = Phase::Pending { since: now_ms };
                track.alert_id = Some(alert.id.clone());
                self.active.insert(alert.id.clone(), alert);
                // With forSeconds 0 (and no cooldown) it fires in this same evaluation.
                self.try_fire(rule, obs, shown, now_ms, now_ms, for_ms)
            }
            Phase::Pending { since } => {
                if !breaching {
                    track.phase = Phase::Inactive;
                    if let Some(id) = track.alert_id.take() {
                        self.active.remove(&id);
                    }
                    return None;
                }
                self.try_fire(rule, obs, shown, since, now_ms, for_ms)
            }
            Phase::Firing { clear_since } => {
                let id = track.alert_id.clone()?;
                if still_active {
                    track.phase = Phase::Firing { clear_since: None };
                    let repeat_ms =
                        i64::try_from(rule.repeat_interval_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
                    let alert = self.active.get_mut(&id)?;
                    alert.value = shown;
                    if repeat_ms > 0 && !alert.acknowledged && now_ms - alert.last_notified_ms >= repeat_ms {
                        alert.last_notified_ms = now_ms;
                        let alert = alert.clone();
                        let silenced = self.is_silenced(&alert, now_ms);
                        return Some(Event { kind: EventKind::Repeat, alert, silenced });
                    }
                    return None;
                }
                let clear_since = clear_since.unwrap_or(now_ms);
                if now_ms - clear_since < self.config.keep_firing_ms {
                    track.phase = Phase::Firing { clear_since: Some(clear_since) };
                    if let Some(alert) = self.active.get_mut(&id) {
                        alert.value = shown;
                    }
                    return None;
                }
                track.phase = Phase::Inactive;
                track.alert_id = None;
                track.last_resolved_ms = Some(now_ms);
                let mut alert = self.active.remove(&id)?;
                alert.state = AlertState::Resolved;
                alert.value = shown;
                alert.resolved_at = Some(now_ms);
                let silenced = self.is_silenced(&alert, now_ms);
                self.push_history(alert.clone());
                Some(Event { kind: EventKind::Resolved, alert, silenced })
            }
        }
    }

    /// Pending → firing once the condition held `for_ms` and the re-fire cool-down has passed.
    fn try_fire(
        &mut self,
        rule: &Rule,
        obs: &Observation,
        shown: f64,
        since: i64,
        now_ms: i64,
        for_ms: i64,
    ) -> Option<Event> {
        let key = (rule.id.clone(), obs.server_id.clone());
        let track = self.tracks.get_mut(&key)?;
        let id = track.alert_id.clone()?;
        let cooled = track.last_resolved_ms.is_none_or(|r| now_ms - r >= self.config.refire_cooldown_ms);
        let alert = self.active.get_mut(&id)?;
        alert.value = shown;
        if now_ms - since < for_ms || !cooled {
            return None;
        }
        track.phase = Phase::Firing { clear_since: None };
        alert.state = AlertState::Firing;
        alert.fired_at = Some(now_ms);
        alert.last_notified_ms = now_ms;
        alert.top_processes = top_processes(&obs.top_processes);
        alert.values = obs.values.clone();
        let alert = alert.clone();
        let silenced = self.is_silenced(&alert, now_ms);
        Some(Event { kind: EventKind::Fired, alert, silenced })
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
