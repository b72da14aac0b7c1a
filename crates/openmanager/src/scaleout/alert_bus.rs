//! Alerts on the cluster bus, so every hub shows the alerts only one evaluates: the evaluating
//! hub (`alert_lease`) publishes each event (fired, repeated, resolved) on the `alerts` channel
//! and keeps its active alerts in the shared cache; the other hubs apply the events to their
//! alert view (`alerts::mirror`: `/api/alerts`, the fleet's `alerts` counts) and pass them to their
//! WebSockets. An acknowledgement made through any hub is published too, and applied by every
//! other hub (the evaluator's engine then stops repeating it). The other hubs also read the
//! evaluator's active alerts at start, after missed messages (Redis away, a slow subscriber) and
//! every lease tick (5 s), which repairs whatever an event did not say (an alert a dead evaluator
//! left firing). What a hub learnt first is kept over an older list or event (`alerts::mirror`:
//! an acknowledgement never goes back, a deleted server's alert never comes back), and an
//! acknowledgement the evaluator's list still lacks at a re-read is sent to it again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alerts::{Alert, Change, Event};
use crate::services::Services;

const CHANNEL: &str = "alerts";
/// The shared cache key of the evaluator's active alerts.
const ACTIVE_KEY: &[u8] = b"alerts-active";
/// Long past the evaluation interval: rewritten every evaluation, gone once no hub evaluates.
const ACTIVE_TTL: Duration = Duration::from_secs(300);

/// What hubs tell each other about alerts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AlertMessage {
    Event { event: Box<Event> },
    Ack { id: String, by: String, at_ms: i64 },
}

/// The evaluator's side, and the shared state the lease job and the subscriber agree on.
pub struct AlertBus {
    channel: cluster::Channel<AlertMessage>,
    cache: cluster::SharedCache,
    /// Whether this hub holds the alert lease (set by `alert_lease`).
    pub holding: AtomicBool,
}

impl AlertBus {
    /// The evaluator's active alerts for the others first (a hub reading them after an event sees
    /// at least that event), then its events. Redis away: the others catch up from the next
    /// snapshot once it is back.
    pub async fn publish(&self, active: &[Alert], events: &[Event]) {
        self.store_active(active).await;
        for event in events {
            let _ = self.channel.publish(&AlertMessage::Event { event: Box::new(event.clone()) }).await;
        }
    }

    /// The evaluator's active alerts for the others' resyncs.
    async fn store_active(&self, active: &[Alert]) {
        match serde_json::to_vec(active) {
            // Too large for `max_entry_bytes` (thousands of alerts): the others rely on the events.
            Ok(bytes) => {
                let _ = self.cache.set(ACTIVE_KEY, &bytes, ACTIVE_TTL).await;
            }
            Err(e) => tracing::debug!(error = %e, "cannot encode the active alerts"),
        }
    }

    /// An acknowledgement changed the evaluator's alerts: the shared copy at once, so no hub's
    /// resync shows the alert unacknowledged again until the next evaluation.
    async fn acknowledged(&self, s: &Services) {
        if self.holding.load(Ordering::Acquire) {
            self.store_active(&s.alerting.active()).await;
        }
    }

    /// Replaces this hub's view with the evaluator's active alerts (nothing when there are none
    /// to read: Redis away, or no evaluator).
    pub async fn resync(&self, s: &Services) {
        if self.holding.load(Ordering::Acquire) {
            return;
        }
        let Ok(Some(bytes)) = self.cache.get(ACTIVE_KEY).await else { return };
        match serde_json::from_slice::<Vec<Alert>>(&bytes) {
            Ok(active) => {
                let unheard = s.alerting.replace_remote(active);
                s.fleet.set_alert_counts(s.alerting.remote_firing_counts());
                // Acknowledgements the evaluator's list lacks: the message may have been lost
                // (it reconnected), so tell it again; applying one twice changes nothing.
                for a in unheard {
                    let (Some(by), Some(at_ms)) = (a.acknowledged_by, a.acknowledged_at) else { continue };
                    let _ = self.channel.publish(&AlertMessage::Ack { id: a.id, by, at_ms }).await;
                }
            }
            Err(e) => tracing::debug!(error = %e, "unreadable shared active alerts"),
        }
    }
}

/// Starts the subscriber (others' events and acknowledgements) and the publisher of this hub's
/// acknowledgements.
pub fn start(services: &Services, c: &cluster::Cluster) -> anyhow::Result<Arc<AlertBus>> {
    let bus = Arc::new(AlertBus { channel: c.channel(CHANNEL)?, cache: c.cache(), holding: AtomicBool::new(false) });
    let (s, b) = (services.clone(), bus.clone());
    services.supervisor.spawn("alert-bus-apply", move |ctx| {
        let (s, b) = (s.clone(), b.clone());
        async move {
            let mut sub = b.channel.subscribe();
            b.resync(&s).await;
            loop {
                let event = tokio::select! {
                    e = sub.recv() => e,
                    _ = ctx.cancel.cancelled() => return Ok(()),
                };
                match event {
                    Some(cluster::BusEvent::Message { message, .. }) => apply(&s, &b, message).await,
                    Some(cluster::BusEvent::Missed(m)) => {
                        tracing::debug!(?m, "missed alert events from other hubs; reading the active alerts");
                        b.resync(&s).await;
                    }
                    None => return Ok(()),
                }
                ctx.heartbeat.beat();
            }
        }
    });
    let (s, b) = (services.clone(), bus.clone());
    services.supervisor.spawn("alert-bus-publish", move |ctx| {
        let (s, b) = (s.clone(), b.clone());
        async move {
            let mut changes = s.alerting.subscribe_changes();
            loop {
                let change = tokio::select! {
                    c = changes.recv() => c,
                    _ = ctx.cancel.cancelled() => return Ok(()),
                };
                match change {
                    Ok(Change::Acknowledged { id, by, at_ms }) => {
                        b.acknowledged(&s).await;
                        let _ = b.channel.publish(&AlertMessage::Ack { id, by, at_ms }).await;
                    }
                    // Edits go through `changes` (the other hubs reload from the store).
                    Ok(Change::Edited) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(missed = n, "acknowledgements not passed to other hubs");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                }
            }
        }
    });
    Ok(bus)
}

async fn apply(s: &Services, bus: &AlertBus, message: AlertMessage) {
    match message {
        // A hub that evaluates keeps its own engine's view (two evaluators only for the moment a
        // lease changes hands).
        AlertMessage::Event { event } => {
            if !bus.holding.load(Ordering::Acquire) {
                s.alerting.apply_remote(&event);
                s.fleet.set_alert_counts(s.alerting.remote_firing_counts());
            }
        }
        AlertMessage::Ack { id, by, at_ms } => {
            s.alerting.apply_remote_ack(&id, &by, at_ms);
            bus.acknowledged(s).await;
        }
    }
}
