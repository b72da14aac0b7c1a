//! One alert evaluator across hubs: the hub holding the `alert-evaluator` lease evaluates; the
//! others wait, and take over within [`TTL`] when the holder dies. A new evaluator carries on the
//! alerts the cluster has (its predecessor's last shared active alerts, read as it takes the lease,
//! with every acknowledgement it heard: `Alerting::set_evaluating`), so they neither fire again nor
//! vanish. What its predecessor could not share (it died between firing and sharing) fires again:
//! notifications pass a shared gate first, which remembers each rule and server's state in Redis
//! (firing or not, and an episode number) and sends only on a change of that state, once
//! (`Dedup`), whichever hub sees it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::alerts::{Event, EventKind};
use crate::jobs::alerts::Totals;
use crate::services::Services;

/// How long a dead evaluator keeps the lease before another hub takes it.
pub const TTL: Duration = Duration::from_secs(15);
/// How long a rule and server's shared state is remembered (refreshed by every change).
const STATE_TTL: Duration = Duration::from_secs(7 * 86_400);
/// How long a sent notification's key blocks the same one.
const SENT_TTL: Duration = Duration::from_secs(86_400);

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Shared {
    firing: bool,
    episode: u64,
}

/// Replaces the single-hub alert job: ticks the lease every `TTL / 3` and evaluates (every
/// `alerts.interval_seconds`) only while holding it; the others show what it publishes on `bus`.
pub fn start(
    services: &Services,
    lease: Arc<cluster::Lease>,
    dedup: cluster::Dedup,
    bus: Arc<super::alert_bus::AlertBus>,
) {
    if !services.config.alerts.enabled {
        return;
    }
    let (l, b, s) = (lease.clone(), bus.clone(), services.clone());
    services.supervisor.spawn_periodic("alert-lease", TTL / 3, move || {
        let (l, b, s) = (l.clone(), b.clone(), s.clone());
        async move {
            let hold = match l.tick().await {
                Ok(_) => l.is_holder(),
                // Redis away: the last holder carries on, nobody else starts.
                Err(_) => l.held_last(),
            };
            if hold && !b.holding.load(Ordering::Acquire) {
                // The alerts the cluster has, as fresh as they can be, for this hub to carry on.
                b.resync(&s).await;
            }
            if b.holding.swap(hold, Ordering::AcqRel) != hold {
                tracing::info!(holder = hold, "alert evaluator lease {}", if hold { "taken" } else { "lost" });
                s.alerting.set_evaluating(hold, crate::clock::now_millis());
            }
            // The evaluator's active alerts, every tick: an alert a dead evaluator left firing, which
            // its successor never fires (so never resolves), goes from every hub's view too.
            if !hold {
                b.resync(&s).await;
            }
            Ok(())
        }
    });
    let s = services.clone();
    let previous = Arc::new(Mutex::new(Totals::default()));
    let dedup = Arc::new(dedup);
    let every = Duration::from_secs(services.config.alerts.interval_seconds);
    services.supervisor.spawn_periodic("alerts", every, move || {
        let (s, previous, bus, dedup) = (s.clone(), previous.clone(), bus.clone(), dedup.clone());
        async move {
            if !bus.holding.load(Ordering::Acquire) {
                return Ok(());
            }
            let now = crate::clock::now_millis();
            let events = crate::jobs::alerts::tick_quiet(&s, &previous, now);
            for event in &events {
                let notify = event.should_notify() && gate(&s, &dedup, event).await;
                s.alerting.publish(event, now, notify);
            }
            bus.publish(&s.alerting.active(), &events).await;
            if dedup.pending() > 0 {
                let _ = dedup.flush().await;
            }
            Ok(())
        }
    });
}

/// Whether this event is a change of the shared state of its rule and server (and so notified).
/// Redis away: the local `Dedup` decides (written back when Redis returns).
async fn gate(s: &Services, dedup: &cluster::Dedup, event: &Event) -> bool {
    let Some(c) = &s.cluster else { return true };
    let cache = c.cache();
    let a = &event.alert;
    let key = format!("alert-state/{}/{}", a.rule_id, a.server_id);
    let shared: Option<Shared> = match cache.get(key.as_bytes()).await {
        Ok(v) => v.and_then(|b| serde_json::from_slice(&b).ok()),
        Err(_) => None,
    };
    let known = shared.is_some();
    let mut st = shared.unwrap_or_default();
    let send_key = match event.kind {
        // Already firing: a previous evaluator sent it.
        EventKind::Fired if st.firing => return false,
        EventKind::Fired => {
            st = Shared { firing: true, episode: st.episode + 1 };
            format!("alert:{}:{}:fired:{}", a.rule_id, a.server_id, st.episode)
        }
        // Not firing as far as the cluster knows: nothing to recover from.
        EventKind::Resolved if known && !st.firing => return false,
        EventKind::Resolved => {
            st.firing = false;
            format!("alert:{}:{}:resolved:{}", a.rule_id, a.server_id, st.episode)
        }
        // Only the evaluator repeats, on its own schedule.
        EventKind::Repeat => return true,
    };
    if let Ok(bytes) = serde_json::to_vec(&st) {
        let _ = cache.set(key.as_bytes(), &bytes, STATE_TTL).await;
    }
    dedup.check(&send_key, SENT_TTL).await.should_send()
}
