//! The alerting loop: every `alerts.interval_seconds` it observes the fleet, runs the engine, and
//! turns events into WebSocket `alert` messages and notifications; it also keeps each server's
//! firing count in the fleet. Rules, silences and channels load from the store at start; the HTTP
//! handlers change them here and in the store together.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::engine::{Engine, EngineConfig, Event, EventKind};
use super::observe::{HubFigures, observations};
use super::persist;
use crate::http::ws::hub::{Topic, encode};
use crate::notify::channel::load_channels;
use crate::notify::{Notifier, NotifierConfig};
use crate::state::AppState;

pub struct Alerting {
    engine: Mutex<Engine>,
    pub notifier: Arc<Notifier>,
    /// Held by API edits of rules, silences and channels: store and engine change together.
    pub edits: tokio::sync::Mutex<()>,
    /// Counters behind the hub's windowed figures (AI error rate, response time).
    previous: Mutex<Totals>,
    /// Events by kind since start, for Prometheus.
    pub fired: AtomicU64,
    pub resolved: AtomicU64,
    pub repeated: AtomicU64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    ai_queries: u64,
    ai_ok: u64,
    requests: u64,
    micros: u64,
}

impl Alerting {
    /// Rules (the plan's defaults on a first start), silences and channels from the store.
    pub async fn load(store: &store::Store, config: &crate::config::AlertsConfig) -> anyhow::Result<Self> {
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
        let notifier = Arc::new(Notifier::new(NotifierConfig::default())?);
        notifier.set_channels(load_channels(store).await?);
        Ok(Self {
            engine: Mutex::new(engine),
            notifier,
            edits: tokio::sync::Mutex::new(()),
            previous: Mutex::default(),
            fired: AtomicU64::new(0),
            resolved: AtomicU64::new(0),
            repeated: AtomicU64::new(0),
        })
    }

    /// The engine, locked. Evaluation takes microseconds, so handlers and the loop share one lock.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        // A panic while holding the lock leaves a consistent engine (every step is self-contained).
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One evaluation at `now_ms`; returns the events it produced.
    pub fn tick(&self, state: &AppState, now_ms: i64) -> Vec<Event> {
        let snapshots = state.fleet.snapshots(now_ms);
        let hub = self.hub_figures(state, now_ms);
        let obs = observations(&snapshots, state.fleet.simulation_seed(), hub);
        let (events, counts) = {
            let mut engine = self.engine();
            let events = engine.evaluate(now_ms, &obs);
            let counts = obs.iter().map(|o| (o.server_id.clone(), engine.firing_count(&o.server_id))).collect();
            (events, counts)
        };
        state.fleet.set_alert_counts(counts);
        for event in &events {
            let counter = match event.kind {
                EventKind::Fired => &self.fired,
                EventKind::Resolved => &self.resolved,
                EventKind::Repeat => &self.repeated,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if event.kind != EventKind::Repeat {
                state.hub.publish(Topic::Alerts, encode("alert", event.ws_payload()));
            }
            let queued = self.notifier.dispatch(event, now_ms);
            tracing::info!(
                alert = event.alert.id,
                kind = ?event.kind,
                server = event.alert.server_id,
                value = event.alert.value,
                silenced = event.silenced,
                queued,
                "alert"
            );
        }
        events
    }

    fn hub_figures(&self, state: &AppState, now_ms: i64) -> HubFigures {
        let (ai_queries, ai_ok) = state.ai_stats.counts();
        let (requests, micros) = state.stats.totals();
        let now = Totals { ai_queries, ai_ok, requests, micros };
        let mut prev = self.previous.lock().unwrap_or_else(|e| e.into_inner());
        let before = std::mem::replace(&mut *prev, now);
        let dq = now.ai_queries.saturating_sub(before.ai_queries);
        let dok = now.ai_ok.saturating_sub(before.ai_ok);
        let dr = now.requests.saturating_sub(before.requests);
        let dm = now.micros.saturating_sub(before.micros);
        HubFigures {
            egress_projected: state.budget.projected_egress(now_ms),
            // No queries in the interval means no errors, not an unknown rate.
            ai_error_rate: Some(if dq == 0 { 0.0 } else { dq.saturating_sub(dok) as f64 / dq as f64 }),
            response_time_ms: (dr > 0).then(|| dm as f64 / dr as f64 / 1000.0),
        }
    }

    /// Firing alerts by severity (for Prometheus and the metrics body).
    pub fn firing_by_severity(&self) -> [(super::Severity, u64); 3] {
        use super::{AlertState, Severity};
        let engine = self.engine();
        let mut counts = [(Severity::Critical, 0), (Severity::Warning, 0), (Severity::Info, 0)];
        for a in engine.active().filter(|a| a.state == AlertState::Firing) {
            if let Some(c) = counts.iter_mut().find(|c| c.0 == a.severity) {
                c.1 += 1;
            }
        }
        counts
    }
}

/// Loads the alerting state and starts the notifier and the evaluation loop.
pub async fn start(state: &AppState) -> anyhow::Result<()> {
    let alerting = Arc::new(Alerting::load(&state.store, &state.config.alerts).await?);
    alerting.notifier.start(&state.supervisor);
    let _ = state.alerting.set(alerting.clone());
    if !state.config.alerts.enabled {
        return Ok(());
    }
    let s = state.clone();
    let every = Duration::from_secs(state.config.alerts.interval_seconds);
    state.supervisor.spawn_periodic("alerts", every, move || {
        let (s, a) = (s.clone(), alerting.clone());
        async move {
            a.tick(&s, crate::clock::now_millis());
            Ok(())
        }
    });
    Ok(())
}
