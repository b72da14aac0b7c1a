//! The alerts another hub evaluates, as this hub shows them (several hubs on one Redis: only the
//! hub holding the alert lease runs the engine). Pure: fed the evaluator's events and snapshots
//! (`scaleout::alert_bus`), read by the alerting service's list, get and counts, so a browser on
//! any hub sees the same firing alerts. One active alert per (rule, server), as in the engine.
//!
//! What this hub learnt first is never undone by what the evaluator says later: the evaluator's
//! events and snapshots can be older than an acknowledgement made through this hub (or heard from
//! another) and than a server deleted here. So acknowledgements and ended alerts are remembered by
//! alert id (an id names one episode, so this never touches a later alert) and applied to whatever
//! comes in: an acknowledged alert stays acknowledged, an ended one stays gone.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::engine::{Alert, AlertState, Event, EventKind};

/// Resolved alerts remembered (oldest dropped first), as the engine's default history.
const MAX_HISTORY: usize = 500;
/// Active alerts kept at most, as the engine's default `max_active`.
const MAX_ACTIVE: usize = 1000;
/// Acknowledgements and ended alert ids remembered at most each (oldest forgotten first): as many
/// as there can be active alerts.
const MAX_REMEMBERED: usize = MAX_ACTIVE;

#[derive(Debug, Clone)]
struct Ack {
    by: String,
    at_ms: i64,
}

/// Facts by alert id, bounded, oldest forgotten first.
#[derive(Debug)]
struct Remembered<V> {
    by_id: HashMap<String, V>,
    order: VecDeque<String>,
}

impl<V> Default for Remembered<V> {
    fn default() -> Self {
        Self { by_id: HashMap::new(), order: VecDeque::new() }
    }
}

impl<V> Remembered<V> {
    /// Keeps the first value for an id (the first acknowledgement is the one shown everywhere).
    fn insert(&mut self, id: &str, value: V) {
        if self.by_id.contains_key(id) {
            return;
        }
        while self.order.len() >= MAX_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
        self.order.push_back(id.to_owned());
        self.by_id.insert(id.to_owned(), value);
    }

    fn get(&self, id: &str) -> Option<&V> {
        self.by_id.get(id)
    }
}

#[derive(Debug, Default)]
pub struct Mirror {
    active: BTreeMap<(String, String), Alert>,
    history: VecDeque<Alert>,
    acks: Remembered<Ack>,
    ended: Remembered<()>,
}

fn key(a: &Alert) -> (String, String) {
    (a.rule_id.clone(), a.server_id.clone())
}

/// Applies an acknowledgement this hub knows and `a` does not say (it left the evaluator earlier);
/// whether there was one.
fn keep_ack(acks: &Remembered<Ack>, a: &mut Alert) -> bool {
    if a.acknowledged {
        return false;
    }
    let Some(ack) = acks.get(&a.id) else { return false };
    a.acknowledged = true;
    a.acknowledged_at = Some(ack.at_ms);
    a.acknowledged_by = Some(ack.by.clone());
    true
}

impl Mirror {
    /// Applies one event of the evaluating hub; the event as this hub shows it (with what it
    /// knows that the evaluator did not yet), or `None` for an alert that ended here.
    pub fn apply(&mut self, event: &Event) -> Option<Event> {
        if self.ended.get(&event.alert.id).is_some() {
            return None;
        }
        let mut alert = event.alert.clone();
        keep_ack(&self.acks, &mut alert);
        let k = key(&alert);
        match event.kind {
            EventKind::Fired | EventKind::Repeat => {
                // A full map refuses only new keys; the evaluator bounds what it sends the same way.
                if self.active.len() < MAX_ACTIVE || self.active.contains_key(&k) {
                    self.active.insert(k, alert.clone());
                }
            }
            EventKind::Resolved => {
                self.active.remove(&k);
                self.history.retain(|a| a.id != alert.id);
                while self.history.len() >= MAX_HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(alert.clone());
            }
        }
        Some(Event { alert, ..event.clone() })
    }

    /// Replaces the active alerts with the evaluator's full list (after missed events, at start,
    /// every lease tick). Returns the alerts whose acknowledgement the list lacked, as shown here:
    /// the evaluator may never have heard of it (a message lost while it reconnected), so the
    /// caller tells it again.
    pub fn replace_active(&mut self, alerts: Vec<Alert>) -> Vec<Alert> {
        let mut active = BTreeMap::new();
        let mut unheard = Vec::new();
        for mut a in alerts {
            if a.state == AlertState::Resolved || self.ended.get(&a.id).is_some() || active.len() >= MAX_ACTIVE {
                continue;
            }
            if keep_ack(&self.acks, &mut a) {
                unheard.push(a.clone());
            }
            active.insert(key(&a), a);
        }
        self.active = active;
        unheard
    }

    /// Marks an alert acknowledged, for good (remembered even before this hub lists it); the
    /// alert as it is now, if active here.
    pub fn acknowledge(&mut self, id: &str, by: &str, at_ms: i64) -> Option<Alert> {
        // An alert acknowledged already keeps the acknowledgement it shows.
        let shown = self.active.values().find(|a| a.id == id && a.acknowledged).map(|a| Ack {
            by: a.acknowledged_by.clone().unwrap_or_default(),
            at_ms: a.acknowledged_at.unwrap_or(at_ms),
        });
        self.acks.insert(id, shown.unwrap_or_else(|| Ack { by: by.chars().take(100).collect(), at_ms }));
        let a = self.active.values_mut().find(|a| a.id == id)?;
        keep_ack(&self.acks, a);
        Some(a.clone())
    }

    /// A removed server's alerts go for good (the evaluator retires them without an event).
    pub fn forget_server(&mut self, server_id: &str) {
        let gone: Vec<String> =
            self.active.values().filter(|a| a.server_id == server_id).map(|a| a.id.clone()).collect();
        for id in gone {
            self.ended.insert(&id, ());
        }
        self.active.retain(|(_, s), _| s != server_id);
    }

    /// Alerts of rules not in `live` (removed or disabled) go, as the engine retires them.
    pub fn retain_rules(&mut self, live: &[String]) {
        self.active.retain(|(r, _), _| live.contains(r));
    }

    /// Forgets the alerts shown (this hub evaluates now); the acknowledgements and ended alerts
    /// it learnt stay remembered.
    pub fn clear(&mut self) {
        self.active.clear();
        self.history.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty() && self.history.is_empty()
    }

    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// Resolved alerts, newest first.
    pub fn history(&self) -> impl Iterator<Item = &Alert> {
        self.history.iter().rev()
    }

    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.active().find(|a| a.id == id).or_else(|| self.history.iter().find(|a| a.id == id))
    }

    /// Firing alerts per server (the fleet's `alerts` field).
    pub fn firing_counts(&self) -> HashMap<String, u32> {
        let mut out: HashMap<String, u32> = HashMap::new();
        for a in self.active().filter(|a| a.state == AlertState::Firing) {
            *out.entry(a.server_id.clone()).or_default() += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str, rule: &str, state: AlertState) -> Alert {
        let json = serde_json::json!({
            "id": id, "ruleId": rule, "ruleName": rule, "metric": "cpu", "op": ">=", "serverId": "web-1",
            "serverName": "web-1", "state": state, "severity": "warning", "value": 91.0, "threshold": 90.0,
            "startedAt": "2026-12-01T00:00:00.000Z", "firedAt": "2026-12-01T00:01:00.000Z", "resolvedAt": null,
            "acknowledged": false, "acknowledgedAt": null, "acknowledgedBy": null, "topProcesses": [],
            "values": {"cpu": 91.0}, "channels": []
        });
        serde_json::from_value(json).unwrap()
    }

    fn event(kind: EventKind, a: Alert) -> Event {
        Event { kind, alert: a, silenced: false }
    }

    #[test]
    fn an_alert_round_trips_through_its_api_form() {
        let a = alert("r:web-1:1", "r", AlertState::Firing);
        let back: Alert = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(a, back);
        assert_eq!(back.fired_at, Some(1_796_083_260_000));
    }

    #[test]
    fn fire_refire_under_a_new_id_ack_and_resolve() {
        let mut m = Mirror::default();
        m.apply(&event(EventKind::Fired, alert("r:web-1:1", "r", AlertState::Firing)));
        // A new evaluator fires the same (rule, server) again: one alert, the newer id.
        m.apply(&event(EventKind::Fired, alert("r:web-1:2", "r", AlertState::Firing)));
        assert_eq!(m.active().count(), 1);
        assert!(m.get("r:web-1:1").is_none());
        assert_eq!(m.firing_counts().get("web-1"), Some(&1));
        let acked = m.acknowledge("r:web-1:2", "alice", 5).unwrap();
        assert!(acked.acknowledged && acked.acknowledged_by.as_deref() == Some("alice"));
        m.apply(&event(EventKind::Resolved, alert("r:web-1:2", "r", AlertState::Resolved)));
        assert_eq!(m.active().count(), 0);
        assert_eq!(m.history().next().unwrap().state, AlertState::Resolved);
        assert!(m.firing_counts().is_empty());
    }

    #[test]
    fn a_snapshot_replaces_the_active_alerts() {
        let mut m = Mirror::default();
        m.apply(&event(EventKind::Fired, alert("a:web-1:1", "a", AlertState::Firing)));
        let unheard = m.replace_active(vec![
            alert("b:web-1:1", "b", AlertState::Firing),
            alert("c:web-1:1", "c", AlertState::Resolved),
        ]);
        assert!(unheard.is_empty());
        let ids: Vec<&str> = m.active().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["b:web-1:1"]);
    }

    #[test]
    fn a_stale_snapshot_or_event_never_undoes_an_acknowledgement() {
        let mut m = Mirror::default();
        m.apply(&event(EventKind::Fired, alert("r:web-1:1", "r", AlertState::Firing)));
        let acked = m.acknowledge("r:web-1:1", "alice", 5).unwrap();
        assert!(acked.acknowledged);
        // The evaluator had not heard of it yet: its snapshot and repeat say unacknowledged.
        let unheard = m.replace_active(vec![alert("r:web-1:1", "r", AlertState::Firing)]);
        assert_eq!(unheard.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["r:web-1:1"], "told again");
        let a = m.get("r:web-1:1").unwrap();
        assert_eq!((a.acknowledged, a.acknowledged_at, a.acknowledged_by.as_deref()), (true, Some(5), Some("alice")));
        let shown = m.apply(&event(EventKind::Repeat, alert("r:web-1:1", "r", AlertState::Firing))).unwrap();
        assert!(shown.alert.acknowledged && m.get("r:web-1:1").unwrap().acknowledged);
        // Heard before the alert itself arrived: applied when it does.
        m.acknowledge("s:web-1:1", "bob", 7);
        m.replace_active(vec![alert("s:web-1:1", "s", AlertState::Firing)]);
        assert_eq!(m.get("s:web-1:1").unwrap().acknowledged_by.as_deref(), Some("bob"));
        // Once the evaluator's list says it, nothing is told again.
        let mut heard = alert("s:web-1:1", "s", AlertState::Firing);
        heard.acknowledged = true;
        assert!(m.replace_active(vec![heard]).is_empty());
        // A later episode of the same rule and server is a new alert, not acknowledged.
        assert!(m.replace_active(vec![alert("r:web-1:9", "r", AlertState::Firing)]).is_empty());
        assert!(!m.get("r:web-1:9").unwrap().acknowledged);
    }

    #[test]
    fn a_forgotten_server_s_alerts_do_not_come_back_from_a_stale_copy() {
        let mut m = Mirror::default();
        let a = alert("r:web-1:1", "r", AlertState::Firing);
        m.apply(&event(EventKind::Fired, a.clone()));
        m.forget_server("web-1");
        assert!(m.replace_active(vec![a.clone()]).is_empty());
        assert!(m.apply(&event(EventKind::Repeat, a)).is_none());
        assert_eq!(m.active().count(), 0);
        // Registered again and firing again: a new alert, shown.
        m.apply(&event(EventKind::Fired, alert("r:web-1:2", "r", AlertState::Firing)));
        assert_eq!(m.active().count(), 1);
    }
}
