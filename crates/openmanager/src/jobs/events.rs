//! The event log's job: every few seconds it compares the fleet with what it saw last time
//! (a status that changed, an uptime that went back: a restart, a server that appeared or went), and
//! it records alerts as they fire and resolve.

use std::collections::HashMap;
use std::time::Duration;

use crate::alerts::EventKind as AlertEventKind;
use crate::events::{Event, EventKind};
use crate::fleet::model::{ServerView, Status};
use crate::services::Services;

/// How often the fleet is compared.
const EVERY: Duration = Duration::from_secs(5);

/// What one comparison found, from the previous views to the current ones at `now_ms`. Pure.
pub fn changes(previous: &HashMap<String, ServerView>, current: &[ServerView], now_ms: i64) -> Vec<Event> {
    let mut out = Vec::new();
    for v in current {
        match previous.get(&v.id) {
            None => out.push(Event::server(now_ms, EventKind::ServerAdded, &v.id, v.name.clone())),
            Some(before) => {
                if before.status != v.status && v.status != Status::Unknown {
                    let name = |s: Status| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(String::from));
                    let mut e = Event::server(now_ms, EventKind::StatusChanged, &v.id, v.name.clone());
                    (e.from, e.to) = (name(before.status), name(v.status));
                    out.push(e);
                }
                // An uptime that went back by more than the comparison's period: the host restarted.
                if v.uptime + 60 < before.uptime && v.status != Status::Offline {
                    out.push(Event::server(now_ms, EventKind::Restart, &v.id, format!("uptime {} s", v.uptime)));
                }
            }
        }
    }
    for id in previous.keys() {
        if !current.iter().any(|v| &v.id == id) {
            out.push(Event::server(now_ms, EventKind::ServerRemoved, id, ""));
        }
    }
    out
}

pub fn start(services: &Services) {
    let s = services.clone();
    services.supervisor.spawn("events", move |ctx| {
        let s = s.clone();
        async move {
            let mut alerts = s.alerting.subscribe();
            // The first look only learns the fleet: servers already there are not "added".
            let mut previous: HashMap<String, ServerView> =
                s.fleet.views().into_iter().map(|v| (v.id.clone(), v)).collect();
            let mut tick = tokio::time::interval(EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        ctx.heartbeat.beat();
                        let now = crate::clock::now_millis();
                        let current = s.fleet.views();
                        for e in changes(&previous, &current, now) {
                            s.events.record(e);
                        }
                        previous = current.into_iter().map(|v| (v.id.clone(), v)).collect();
                    }
                    event = alerts.recv() => match event {
                        Ok(e) => {
                            let (kind, at) = match e.kind {
                                AlertEventKind::Fired => (EventKind::AlertFired, e.alert.fired_at.unwrap_or(e.alert.started_at)),
                                AlertEventKind::Resolved => (EventKind::AlertResolved, e.alert.resolved_at.unwrap_or(e.alert.started_at)),
                                AlertEventKind::Repeat => continue,
                            };
                            s.events.record(Event::server(at, kind, &e.alert.server_id, e.alert.rule_name.clone()));
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::debug!(missed = n, "alert events missed by the event log");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                    },
                    _ = ctx.cancel.cancelled() => return Ok(()),
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::model::{ServerMeta, ServerType, Source, Specs};

    fn view(id: &str, status: Status, uptime: u64) -> ServerView {
        let meta = ServerMeta {
            id: id.into(),
            name: id.into(),
            hostname: String::new(),
            ip: String::new(),
            os: String::new(),
            server_type: ServerType::Web,
            role: String::new(),
            environment: String::new(),
            provider: String::new(),
            location: String::new(),
            source: Source::Agent,
            services: Vec::new(),
            specs: Specs::default(),
            maintenance: false,
        };
        let mut v = ServerView::new(&meta, None, status, 0);
        v.uptime = uptime;
        v
    }

    #[test]
    fn status_changes_restarts_additions_and_removals() {
        let prev: HashMap<String, ServerView> = [view("a", Status::Online, 1000), view("gone", Status::Online, 5)]
            .into_iter()
            .map(|v| (v.id.clone(), v))
            .collect();
        let now = [view("a", Status::Critical, 10), view("new", Status::Online, 1)];
        let kinds: Vec<EventKind> = changes(&prev, &now, 7).iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::StatusChanged, EventKind::Restart, EventKind::ServerAdded, EventKind::ServerRemoved]
        );
        let e = &changes(&prev, &now, 7)[0];
        assert_eq!((e.from.as_deref(), e.to.as_deref()), (Some("online"), Some("critical")));
    }
}
