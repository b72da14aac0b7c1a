//! The alerting service: rules, silences and channels with their limits and the store-first rule
//! (an edit is saved, then applied, one edit at a time, so what the engine runs is what a restart
//! loads), acknowledgements, the evaluation step, and the events it publishes on a bounded
//! broadcast for adapters (the WebSocket layer encodes them; nothing here knows the wire).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use super::engine::{Alert, AlertFilter, Engine, EngineConfig, Event, EventKind, Observation, listing};
use super::mirror::Mirror;
use super::persist;
use super::rule::{Rule, Silence};
use crate::alerts::notify::channel::{delete_channel, load_channels, save_channel};
use crate::alerts::notify::{Channel, DeliveryRecord, Notifier, NotifierConfig, NotifyError};
use crate::config::HostPolicy;
use crate::validation::{FieldError, from_value, new_id};

/// Most rules and silences kept: each rule is evaluated against every server every interval.
pub const MAX_RULES: usize = 200;
pub const MAX_SILENCES: usize = 500;
/// Most channels kept (each has a worker and a queue).
pub const MAX_CHANNELS: usize = 50;
/// Events kept for a slow subscriber before it misses some (it then re-reads the alert list).
const EVENT_BUFFER: usize = 64;
/// Changes kept for a slow subscriber (the cluster bus) before it misses some.
const CHANGE_BUFFER: usize = 64;

/// What an edit through this hub changed, for the other hubs of a cluster (`scaleout`): they
/// apply an acknowledgement, and reload rules, silences and channels from the shared store.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Acknowledged {
        id: String,
        by: String,
        at_ms: i64,
    },
    /// Rules, silences or channels.
    Edited,
}

/// Why an alerting operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid `{}`", .0.first().map(|e| e.field.as_str()).unwrap_or("body"))]
    Invalid(Vec<FieldError>),
    #[error("store failure")]
    Store(#[source] anyhow::Error),
}

impl From<persist::PersistError> for AlertingError {
    fn from(e: persist::PersistError) -> Self {
        Self::Store(e.into())
    }
}

impl From<store::Error> for AlertingError {
    fn from(e: store::Error) -> Self {
        Self::Store(e.into())
    }
}

fn invalid(field: &str, reason: &str) -> AlertingError {
    AlertingError::Invalid(vec![FieldError::new(field, reason)])
}

/// Event counts since start, for Prometheus.
#[derive(Debug, Default)]
pub struct EventCounts {
    pub fired: std::sync::atomic::AtomicU64,
    pub resolved: std::sync::atomic::AtomicU64,
    pub repeated: std::sync::atomic::AtomicU64,
}

pub struct Alerting {
    engine: Mutex<Engine>,
    notifier: Arc<Notifier>,
    store: store::Store,
    /// Held by edits of rules, silences and channels: store and engine change together.
    edits: tokio::sync::Mutex<()>,
    events: broadcast::Sender<Event>,
    changes: broadcast::Sender<Change>,
    /// The alerts another hub evaluates (several hubs: empty while this one evaluates).
    mirror: Mutex<Mirror>,
    pub counts: EventCounts,
}

impl Alerting {
    /// Rules (the plan's defaults on a first start), silences and channels from the store.
    /// `sent` counts the bytes of notification deliveries (the hub's `outbound:notify` egress).
    pub async fn load(
        store: &store::Store,
        config: &crate::config::AlertsConfig,
        sent: prometheus_client::metrics::counter::Counter,
    ) -> anyhow::Result<Self> {
        let now = crate::clock::now_millis();
        let ms = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let mut engine = Engine::new(EngineConfig {
            keep_firing_ms: ms(config.keep_firing_seconds),
            refire_cooldown_ms: ms(config.refire_cooldown_seconds),
            ..EngineConfig::default()
        });
        engine.set_rules(persist::load_rules_or_defaults(store).await?, now);
        persist::prune_silences(store, now).await?;
        engine.set_silences(persist::load_silences(store).await?);
        let hosts =
            HostPolicy::parse(&config.channel_hosts).map_err(|e| anyhow::anyhow!("alerts.channel_hosts: {e}"))?;
        let notifier = Arc::new(Notifier::new(NotifierConfig { hosts, sent, ..NotifierConfig::default() })?);
        notifier.set_channels(load_channels(store).await?);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        Ok(Self {
            engine: Mutex::new(engine),
            notifier,
            store: store.clone(),
            edits: tokio::sync::Mutex::new(()),
            events,
            changes,
            mirror: Mutex::new(Mirror::default()),
            counts: EventCounts::default(),
        })
    }

    /// The engine, locked. Evaluation takes microseconds, so readers and the loop share one lock.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock()
    }

    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.notifier
    }

    /// Alert events as they happen (fired, repeated, resolved).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Acknowledgements and edits made through this hub, as they happen.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    fn changed(&self, change: Change) {
        // Nobody listening (one hub) is not an error.
        let _ = self.changes.send(change);
    }

    /// Another hub's alert event (it evaluates): shown here as there, and passed to this hub's
    /// subscribers (WebSockets, the event log); never notified here (the evaluator did).
    /// An alert that ended here (its server deleted) is neither shown nor passed on.
    pub fn apply_remote(&self, event: &Event) {
        let shown = self.mirror.lock().apply(event);
        if let Some(event) = shown {
            let _ = self.events.send(event);
        }
    }

    /// The evaluating hub's active alerts, replacing what this hub showed (after missed events).
    /// Returns the alerts acknowledged here whose acknowledgement the evaluator's list lacks (to be
    /// told to it again).
    pub fn replace_remote(&self, alerts: Vec<Alert>) -> Vec<Alert> {
        self.mirror.lock().replace_active(alerts)
    }

    /// An acknowledgement made through another hub.
    pub fn apply_remote_ack(&self, id: &str, by: &str, at_ms: i64) {
        let _ = self.engine().acknowledge(id, by, at_ms);
        let _ = self.mirror.lock().acknowledge(id, by, at_ms);
    }

    /// Firing alerts per server as the evaluating hub reported them (the fleet's `alerts` field).
    pub fn remote_firing_counts(&self) -> HashMap<String, u32> {
        self.mirror.lock().firing_counts()
    }

    /// A server is gone (removed through this hub or another): its alerts end here, without a
    /// notice, and a stale copy of them from the evaluator does not bring them back.
    pub fn forget_server(&self, server_id: &str, now_ms: i64) {
        self.engine().forget_server(server_id, now_ms);
        self.mirror.lock().forget_server(server_id);
    }

    /// This hub starts (true) or stops evaluating: it shows its own engine's alerts, or another
    /// hub's. Starting carries on the alerts this hub showed, those of the previous evaluator with
    /// every acknowledgement known here (same ids, since and acknowledgements: nothing fires or
    /// notifies again, nothing is lost). Stopping forgets the engine's alerts (the next evaluator
    /// reports the current ones).
    pub fn set_evaluating(&self, evaluating: bool, now_ms: i64) {
        if evaluating {
            // One lock at a time; the mirror is cleared last, so a listing meanwhile shows the
            // same alerts from one or the other.
            let had: Vec<Alert> = self.mirror.lock().active().cloned().collect();
            self.engine().adopt(had, now_ms);
            self.mirror.lock().clear();
        } else {
            self.engine().reset_state();
        }
    }

    /// Pending and firing alerts of this hub's engine (what the evaluator shares with the others).
    pub fn active(&self) -> Vec<Alert> {
        self.engine().active().cloned().collect()
    }

    /// One evaluation of `observations` at `now_ms`: updates each server's firing count (returned),
    /// dispatches notifications and publishes the events. Alerts of subjects `covered` by a
    /// maintenance window are marked so and notify nobody.
    pub fn evaluate(
        &self,
        now_ms: i64,
        observations: &[Observation],
        covered: &dyn Fn(&str) -> bool,
    ) -> (Vec<Event>, HashMap<String, u32>) {
        let (events, counts) = self.evaluate_quiet(now_ms, observations, covered);
        for event in &events {
            self.publish(event, now_ms, true);
        }
        (events, counts)
    }

    /// The engine's part of [`Alerting::evaluate`]: state and counts, nothing sent or published
    /// (a multi-hub evaluator decides per event whether to notify, then calls [`Alerting::publish`]).
    pub fn evaluate_quiet(
        &self,
        now_ms: i64,
        observations: &[Observation],
        covered: &dyn Fn(&str) -> bool,
    ) -> (Vec<Event>, HashMap<String, u32>) {
        let mut engine = self.engine();
        engine.set_maintenance(covered, now_ms);
        let events = engine.evaluate(now_ms, observations);
        let counts = observations.iter().map(|o| (o.server_id.clone(), engine.firing_count(&o.server_id))).collect();
        (events, counts)
    }

    /// Counts, logs and publishes one event; queues its notifications when `notify` (another hub
    /// may already have sent them).
    pub fn publish(&self, event: &Event, now_ms: i64, notify: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let counter = match event.kind {
            EventKind::Fired => &self.counts.fired,
            EventKind::Resolved => &self.counts.resolved,
            EventKind::Repeat => &self.counts.repeated,
        };
        counter.fetch_add(1, Relaxed);
        let queued = if notify { self.notifier.dispatch(event, now_ms) } else { 0 };
        // Nobody listening is not an error.
        let _ = self.events.send(event.clone());
        tracing::info!(
            alert = event.alert.id,
            kind = ?event.kind,
            server = event.alert.server_id,
            value = event.alert.value,
            silenced = event.silenced,
            queued,
            notify,
            "alert"
        );
    }

    /// Firing alerts by severity (for Prometheus).
    pub fn firing_by_severity(&self) -> [(super::Severity, u64); 3] {
        use super::{AlertState, Severity};
        // One lock at a time (never the engine inside the mirror, or the reverse).
        let mut firing: Vec<Severity> =
            self.engine().active().filter(|a| a.state == AlertState::Firing).map(|a| a.severity).collect();
        firing.extend(self.mirror.lock().active().filter(|a| a.state == AlertState::Firing).map(|a| a.severity));
        let mut counts = [(Severity::Critical, 0), (Severity::Warning, 0), (Severity::Info, 0)];
        for severity in firing {
            if let Some(c) = counts.iter_mut().find(|c| c.0 == severity) {
                c.1 += 1;
            }
        }
        counts
    }

    /// Alerts matching `filter`, active first (newest first), then resolved ones; a page after
    /// `cursor` (an alert id) of at most `limit`, and the cursor of the next page.
    pub fn list(
        &self,
        filter: &AlertFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Alert>, Option<String>), AlertingError> {
        // One lock at a time (never the engine inside the mirror, or the reverse).
        let remote = {
            let mirror = self.mirror.lock();
            (!mirror.is_empty()).then(|| listing(mirror.active(), mirror.history(), filter, usize::MAX))
        };
        let all = match remote {
            Some(all) => all,
            None => self.engine().list(filter, usize::MAX),
        };
        let start = match cursor {
            Some(c) => all
                .iter()
                .position(|a| a.id == c)
                .map(|i| i + 1)
                .ok_or_else(|| invalid("cursor", "unknown or expired cursor; start again"))?,
            None => 0,
        };
        let page: Vec<Alert> = all.iter().skip(start).take(limit).cloned().collect();
        let next = (start + page.len() < all.len()).then(|| page.last().map(|a| a.id.clone())).flatten();
        Ok((page, next))
    }

    pub fn get(&self, id: &str) -> Result<Alert, AlertingError> {
        let own = self.engine().get(id).cloned();
        let found = own.or_else(|| self.mirror.lock().get(id).cloned());
        found.ok_or_else(|| AlertingError::NotFound(format!("alert `{id}`")))
    }

    /// Acknowledges an active alert: it stops repeating notifications and still resolves as usual.
    /// Through any hub: the evaluating one learns it from the cluster bus.
    pub fn acknowledge(&self, id: &str, by: &str, now_ms: i64) -> Result<Alert, AlertingError> {
        let acked = self.engine().acknowledge(id, by, now_ms);
        let acked = acked.or_else(|| self.mirror.lock().acknowledge(id, by, now_ms));
        let alert = acked.ok_or_else(|| AlertingError::NotFound(format!("active alert `{id}`")))?;
        let by = alert.acknowledged_by.clone().unwrap_or_default();
        self.changed(Change::Acknowledged { id: id.to_string(), by, at_ms: alert.acknowledged_at.unwrap_or(now_ms) });
        Ok(alert)
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.engine().rules().to_vec()
    }

    pub fn silences(&self) -> Vec<Silence> {
        self.engine().silences().to_vec()
    }

    /// Replaces the rules: the engine keeps the state of those that remain, and alerts of removed
    /// or disabled rules end, here and in the view of another hub's alerts, without an event.
    fn set_rules(&self, rules: Vec<Rule>, now_ms: i64) {
        let live: Vec<String> = rules.iter().filter(|r| r.enabled).map(|r| r.id.clone()).collect();
        self.engine().set_rules(rules, now_ms);
        self.mirror.lock().retain_rules(&live);
    }

    /// Every channel a rule names must exist, or its alerts would go nowhere without a word.
    fn check_channels(&self, rule: &Rule) -> Result<(), AlertingError> {
        let known: Vec<String> = self.notifier.channels().into_iter().map(|c| c.id).collect();
        let errors: Vec<FieldError> = rule
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| !known.contains(c))
            .map(|(i, c)| FieldError::new(format!("channels[{i}]"), format!("unknown channel `{c}`")))
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(AlertingError::Invalid(errors)) }
    }

    /// Creates a rule from its JSON document; `id` is generated when absent.
    pub async fn create_rule(&self, mut body: Map<String, Value>, now_ms: i64) -> Result<Rule, AlertingError> {
        body.entry("id").or_insert_with(|| Value::String(new_id("rule")));
        let rule: Rule = from_value(Value::Object(body)).map_err(AlertingError::Invalid)?;
        rule.validate().map_err(AlertingError::Invalid)?;
        self.check_channels(&rule)?;
        let _edit = self.edits.lock().await;
        let mut rules = self.rules();
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(AlertingError::Conflict(format!("a rule with id `{}` already exists", rule.id)));
        }
        if rules.len() >= MAX_RULES {
            return Err(AlertingError::Conflict(format!("at most {MAX_RULES} rules; delete one first")));
        }
        persist::save_rule(&self.store, &rule).await?;
        rules.push(rule.clone());
        self.set_rules(rules, now_ms);
        self.changed(Change::Edited);
        Ok(rule)
    }

    /// Changes a rule: the fields sent replace the rule's (`id` cannot change).
    pub async fn update_rule(&self, id: &str, patch: Map<String, Value>, now_ms: i64) -> Result<Rule, AlertingError> {
        if patch.get("id").is_some_and(|v| v.as_str() != Some(id)) {
            return Err(invalid("id", "cannot be changed"));
        }
        let _edit = self.edits.lock().await;
        let mut rules = self.rules();
        let i = rules.iter().position(|r| r.id == id).ok_or_else(|| AlertingError::NotFound(format!("rule `{id}`")))?;
        let mut merged = serde_json::to_value(&rules[i]).map_err(|e| AlertingError::Store(e.into()))?;
        if let Some(obj) = merged.as_object_mut() {
            obj.extend(patch);
        }
        let rule: Rule = from_value(merged).map_err(AlertingError::Invalid)?;
        rule.validate().map_err(AlertingError::Invalid)?;
        self.check_channels(&rule)?;
        persist::save_rule(&self.store, &rule).await?;
        rules[i] = rule.clone();
        self.set_rules(rules, now_ms);
        self.changed(Change::Edited);
        Ok(rule)
    }

    /// Deletes a rule; its active alerts end without a notice.
    pub async fn delete_rule(&self, id: &str, now_ms: i64) -> Result<(), AlertingError> {
        let _edit = self.edits.lock().await;
        let mut rules = self.rules();
        let before = rules.len();
        rules.retain(|r| r.id != id);
        if rules.len() == before {
            return Err(AlertingError::NotFound(format!("rule `{id}`")));
        }
        persist::delete_rule(&self.store, id).await?;
        self.set_rules(rules, now_ms);
        self.changed(Change::Edited);
        Ok(())
    }

    /// Creates a silence; `id` is generated, `startsAt` defaults to now and `createdBy` to `by`.
    pub async fn create_silence(
        &self,
        mut body: Map<String, Value>,
        by: &str,
        now_ms: i64,
    ) -> Result<Silence, AlertingError> {
        body.entry("id").or_insert_with(|| Value::String(new_id("silence")));
        body.entry("startsAt").or_insert_with(|| Value::String(crate::clock::millis_rfc3339(now_ms)));
        body.entry("createdBy").or_insert_with(|| Value::String(by.to_owned()));
        let silence: Silence = from_value(Value::Object(body)).map_err(AlertingError::Invalid)?;
        silence.validate().map_err(AlertingError::Invalid)?;
        let _edit = self.edits.lock().await;
        persist::prune_silences(&self.store, now_ms).await?;
        let mut silences: Vec<Silence> =
            self.silences().into_iter().filter(|s| s.ends_at.as_millisecond() > now_ms).collect();
        if silences.iter().any(|s| s.id == silence.id) {
            return Err(AlertingError::Conflict(format!("a silence with id `{}` already exists", silence.id)));
        }
        if silences.len() >= MAX_SILENCES {
            return Err(AlertingError::Conflict(format!("at most {MAX_SILENCES} silences; delete one first")));
        }
        persist::save_silence(&self.store, &silence).await?;
        silences.push(silence.clone());
        self.engine().set_silences(silences);
        self.changed(Change::Edited);
        Ok(silence)
    }

    pub async fn delete_silence(&self, id: &str) -> Result<(), AlertingError> {
        let _edit = self.edits.lock().await;
        let mut silences = self.silences();
        let before = silences.len();
        silences.retain(|s| s.id != id);
        if silences.len() == before {
            return Err(AlertingError::NotFound(format!("silence `{id}`")));
        }
        persist::delete_silence(&self.store, id).await?;
        self.engine().set_silences(silences);
        self.changed(Change::Edited);
        Ok(())
    }

    /// Channels, secrets masked when serialized.
    pub fn channels(&self) -> Vec<Channel> {
        self.notifier.channels()
    }

    /// The latest delivery attempts, newest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.notifier.log()
    }

    /// Adds a channel or replaces the one with the same `id`; returns it and whether it is new. A
    /// secret sent back as the mask keeps its stored value, so a form can save what a read showed.
    pub async fn upsert_channel(&self, mut body: Map<String, Value>) -> Result<(Channel, bool), AlertingError> {
        body.entry("id").or_insert_with(|| Value::String(new_id("channel")));
        let mut channel: Channel = from_value(Value::Object(body)).map_err(AlertingError::Invalid)?;
        let _edit = self.edits.lock().await;
        let existing = self.notifier.channels();
        let previous = existing.iter().find(|c| c.id == channel.id);
        if previous.is_none() && existing.len() >= MAX_CHANNELS {
            return Err(AlertingError::Conflict(format!("at most {MAX_CHANNELS} channels; delete one first")));
        }
        // The notifier's copy holds the real secrets (only their serialization is masked).
        if let Some(stored) = previous {
            channel.keep_unchanged_secrets(stored);
        }
        channel.validate().map_err(AlertingError::Invalid)?;
        save_channel(&self.store, &channel).await?;
        self.notifier.upsert_channel(channel.clone());
        self.changed(Change::Edited);
        Ok((channel, previous.is_none()))
    }

    /// Removes a channel; rules that name it keep the name (their alerts skip it with a warning).
    pub async fn delete_channel(&self, id: &str) -> Result<(), AlertingError> {
        let _edit = self.edits.lock().await;
        if !self.notifier.channels().iter().any(|c| c.id == id) {
            return Err(AlertingError::NotFound(format!("channel `{id}`")));
        }
        delete_channel(&self.store, id).await?;
        self.notifier.remove_channel(id);
        self.changed(Change::Edited);
        Ok(())
    }

    /// Rules, silences and channels again from the store (another hub edited them). The state of
    /// rules that remain is kept, as after an edit here.
    pub async fn reload(&self, now_ms: i64) -> Result<(), AlertingError> {
        let _edit = self.edits.lock().await;
        let rules = persist::load_rules(&self.store).await?;
        let silences = persist::load_silences(&self.store).await?;
        let channels = load_channels(&self.store).await?;
        self.notifier.set_channels(channels);
        self.set_rules(rules, now_ms);
        self.engine().set_silences(silences);
        Ok(())
    }

    /// Sends a test message now (one attempt) and returns its delivery record.
    pub async fn test_channel(&self, id: &str) -> Result<DeliveryRecord, AlertingError> {
        self.notifier.test(id).await.map_err(|e| match e {
            NotifyError::UnknownChannel(_) => AlertingError::NotFound(format!("channel `{id}`")),
            other => AlertingError::Conflict(other.to_string()),
        })
    }
}
