//! What happened in the fleet, in time order: status changes, restarts, servers added and removed,
//! alerts fired and resolved (and, once checks exist, checks going down and up). A bounded log in
//! memory, fed by `jobs::events`; read by the assistant for "what happened in the last hour". It
//! starts empty at each start of the hub (the alert history and the metrics history persist; this
//! log is their summary for recent questions).

use std::collections::VecDeque;

use parking_lot::RwLock;
use serde::Serialize;

/// Events kept; the oldest go first.
pub const CAPACITY: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    StatusChanged,
    AlertFired,
    AlertResolved,
    Restart,
    ServerAdded,
    ServerRemoved,
    CheckDown,
    CheckUp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub at_ms: i64,
    pub kind: EventKind,
    pub server_id: Option<String>,
    pub check: Option<String>,
    /// Status changes: the old and the new status.
    pub from: Option<String>,
    pub to: Option<String>,
    /// A short human detail (an alert's rule name, say).
    pub detail: String,
}

impl Event {
    pub fn server(at_ms: i64, kind: EventKind, server_id: &str, detail: impl Into<String>) -> Self {
        Self {
            at_ms,
            kind,
            server_id: Some(server_id.to_owned()),
            check: None,
            from: None,
            to: None,
            detail: detail.into(),
        }
    }
}

#[derive(Default)]
pub struct EventLog {
    events: RwLock<VecDeque<Event>>,
}

impl EventLog {
    pub fn record(&self, event: Event) {
        let mut events = self.events.write();
        if events.len() >= CAPACITY {
            events.pop_front();
        }
        // Sources report in their own order; keep the log sorted by time (late ones are rare and recent).
        let at = events.iter().rposition(|e| e.at_ms <= event.at_ms).map_or(0, |i| i + 1);
        events.insert(at, event);
    }

    /// Events with `from_ms <= at_ms <= to_ms`, oldest first.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> Vec<Event> {
        self.events.read().iter().filter(|e| (from_ms..=to_ms).contains(&e.at_ms)).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.events.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_sorted_and_windowed() {
        let log = EventLog::default();
        for t in 0..(CAPACITY as i64 + 10) {
            log.record(Event::server(t * 10, EventKind::Restart, "a", ""));
        }
        assert_eq!(log.len(), CAPACITY);
        log.record(Event::server(205, EventKind::ServerAdded, "b", "late"));
        let w = log.between(200, 220);
        let times: Vec<i64> = w.iter().map(|e| e.at_ms).collect();
        assert_eq!(times, [200, 205, 210, 220]);
    }
}
