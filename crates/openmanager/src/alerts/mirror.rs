//! The alerts another hub evaluates, as this hub shows them (several hubs on one Redis: only the
//! hub holding the alert lease runs the engine). Pure: fed the evaluator's events and snapshots
//! (`scaleout::alert_bus`), read by the alerting service's list, get and counts, so a browser on
//! any hub sees the same firing alerts. One active alert per (rule, server), as in the engine: a
//! new evaluator re-fires an alert its predecessor had under another id, and that replaces it.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::engine::{Alert, AlertState, Event, EventKind};

/// Resolved alerts remembered (oldest dropped first), as the engine's default history.
const MAX_HISTORY: usize = 500;
/// Active alerts kept at most, as the engine's default `max_active`.
const MAX_ACTIVE: usize = 1000;

#[derive(Debug, Default)]
pub struct Mirror {
    active: BTreeMap<(String, String), Alert>,
    history: VecDeque<Alert>,
}

fn key(a: &Alert) -> (String, String) {
    (a.rule_id.clone(), a.server_id.clone())
}

impl Mirror {
    /// Applies one event of the evaluating hub.
    pub fn apply(&mut self, event: &Event) {
        let k = key(&event.alert);
        match event.kind {
            EventKind::Fired | EventKind::Repeat => {
                // A full map refuses only new keys; the evaluator bounds what it sends the same way.
                if self.active.len() < MAX_ACTIVE || self.active.contains_key(&k) {
                    self.active.insert(k, event.alert.clone());
                }
            }
            EventKind::Resolved => {
                self.active.remove(&k);
                self.history.retain(|a| a.id != event.alert.id);
                while self.history.len() >= MAX_HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(event.alert.clone());
            }
        }
    }

    /// Replaces the active alerts with the evaluator's full list (after missed events, at start).
    pub fn replace_active(&mut self, alerts: Vec<Alert>) {
        self.active = alerts
            .into_iter()
            .filter(|a| a.state != AlertState::Resolved)
            .take(MAX_ACTIVE)
            .map(|a| (key(&a), a))
            .collect();
    }

    /// Marks an active alert acknowledged; the alert as it is now, if active here.
    pub fn acknowledge(&mut self, id: &str, by: &str, at_ms: i64) -> Option<Alert> {
        let a = self.active.values_mut().find(|a| a.id == id)?;
        if !a.acknowledged {
            a.acknowledged = true;
            a.acknowledged_at = Some(at_ms);
            a.acknowledged_by = Some(by.chars().take(100).collect());
        }
        Some(a.clone())
    }

    /// A removed server's alerts go (the evaluator retires them without an event).
    pub fn forget_server(&mut self, server_id: &str) {
        self.active.retain(|(_, s), _| s != server_id);
    }

    /// Alerts of rules not in `live` (removed or disabled) go, as the engine retires them.
    pub fn retain_rules(&mut self, live: &[String]) {
        self.active.retain(|(r, _), _| live.contains(r));
    }

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
        m.replace_active(vec![
            alert("b:web-1:1", "b", AlertState::Firing),
            alert("c:web-1:1", "c", AlertState::Resolved),
        ]);
        let ids: Vec<&str> = m.active().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["b:web-1:1"]);
    }
}
