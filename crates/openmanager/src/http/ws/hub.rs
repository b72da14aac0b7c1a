//! The WebSocket hub: one job computes the fleet once per interval, serializes each message once,
//! and publishes it on a bounded broadcast channel that every connection reads. A connection that
//! falls behind misses messages (the channel never grows) and is resynchronised with the newest full
//! snapshot, so a slow client costs the others nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use parking_lot::RwLock;
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast};

use crate::alerts::Event;
use crate::clock;
use crate::fleet::model::ServerView;
use crate::http::state::AppState;

/// Messages kept for a connection that is briefly busy; beyond this it lags and is resynchronised.
const CHANNEL_CAPACITY: usize = 16;

/// What a published message is about, for per-connection topic filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Servers,
    System,
    Alerts,
    /// `check_update`: a check's new state (subscribed to by name, not sent by default).
    Checks,
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub topic: Topic,
    pub text: Utf8Bytes,
}

pub struct Hub {
    tx: broadcast::Sender<Frame>,
    /// The newest full `server_update` and `system_update`, for new and resynchronised clients.
    full: RwLock<(Utf8Bytes, Utf8Bytes)>,
    /// The newest views by id, for per-connection `serverIds` filters.
    views: RwLock<Arc<Vec<ServerView>>>,
    pub connections: Arc<Semaphore>,
    pub interval: Duration,
    /// Bytes being sent to clients right now, across all of them.
    pub unsent: UnsentBudget,
    /// How long a send may wait for a client that does not read before it is dropped.
    pub stall_timeout: Duration,
}

/// A bound on the bytes in flight to WebSocket clients across all connections: each send reserves
/// its frame's size until the socket took it, so slow clients together cannot hold more than the
/// limit in buffers, whatever their number.
#[derive(Debug)]
pub struct UnsentBudget {
    used: std::sync::atomic::AtomicUsize,
    limit: usize,
}

/// A reservation, released when dropped.
pub struct Reserved<'a> {
    budget: &'a UnsentBudget,
    bytes: usize,
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, std::sync::atomic::Ordering::AcqRel);
    }
}

impl UnsentBudget {
    pub fn new(limit: usize) -> Self {
        Self { used: std::sync::atomic::AtomicUsize::new(0), limit }
    }

    /// Room for `bytes`, or `None` when the limit would be passed.
    pub fn reserve(&self, bytes: usize) -> Option<Reserved<'_>> {
        use std::sync::atomic::Ordering;
        let mut used = self.used.load(Ordering::Acquire);
        loop {
            let next = used.checked_add(bytes).filter(|n| *n <= self.limit)?;
            match self.used.compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(Reserved { budget: self, bytes }),
                Err(now) => used = now,
            }
        }
    }

    pub fn used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The `{type, data, timestamp}` envelope of every message.
#[derive(Serialize)]
pub struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub data: T,
    pub timestamp: String,
}

pub fn encode<T: Serialize>(kind: &str, data: T) -> Utf8Bytes {
    let text = serde_json::to_string(&Envelope { kind, data, timestamp: clock::now_rfc3339() }).unwrap_or_default();
    Utf8Bytes::from(text)
}

#[derive(Serialize)]
pub struct ServerUpdate<'a> {
    /// True for a complete snapshot; false when only changed servers are listed.
    pub full: bool,
    pub servers: &'a [ServerView],
    /// Ids that disappeared since the previous message.
    pub removed: Vec<String>,
}

impl Hub {
    pub fn new(max_connections: usize, interval: Duration, max_unsent: usize, stall_timeout: Duration) -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let empty = Utf8Bytes::from_static("{}");
        Self {
            tx,
            full: RwLock::new((empty.clone(), empty)),
            views: RwLock::default(),
            connections: Arc::new(Semaphore::new(max_connections)),
            interval,
            unsent: UnsentBudget::new(max_unsent),
            stall_timeout,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.tx.subscribe()
    }

    /// The newest full server and system messages.
    pub fn full(&self) -> (Utf8Bytes, Utf8Bytes) {
        self.full.read().clone()
    }

    pub fn views(&self) -> Arc<Vec<ServerView>> {
        self.views.read().clone()
    }

    /// Publishes a message to every connection (alerts use this too).
    pub fn publish(&self, topic: Topic, text: Utf8Bytes) {
        // No receivers is not an error: nobody is connected.
        let _ = self.tx.send(Frame { topic, text });
    }

    pub fn receivers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// The `alert` message of API.md for a domain event: `{level, title, message, alert}`.
fn alert_message(event: &Event) -> Utf8Bytes {
    encode("alert", event.ws_payload())
}

/// Starts the job that computes and publishes the fleet every interval, and forwards alert events
/// (fired and resolved; repeats are for notifications only) as they happen.
pub fn start(state: &AppState) {
    let s = state.clone();
    state.supervisor.spawn("ws-hub", move |ctx| {
        let state = s.clone();
        async move {
            let mut previous: HashMap<String, ServerView> = HashMap::new();
            let mut interval = tokio::time::interval(state.hub.interval);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut alerts = state.alerting.subscribe();
            let mut checks = state.checks.subscribe();
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        ctx.heartbeat.beat();
                        tick(&state, &mut previous);
                    }
                    event = alerts.recv() => match event {
                        Ok(e) if e.kind != crate::alerts::EventKind::Repeat => {
                            state.hub.publish(Topic::Alerts, alert_message(&e));
                        }
                        Ok(_) => {}
                        // Missed events are in the alert list the dashboard reads on resync.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::debug!(missed = n, "alert events missed by the WebSocket hub");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                    },
                    update = checks.recv() => match update {
                        Ok(u) => state.hub.publish(Topic::Checks, encode("check_update", u)),
                        // Missed updates are in the check list the dashboard reads on resync.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::debug!(missed = n, "check updates missed by the WebSocket hub");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                    },
                    _ = ctx.cancel.cancelled() => return Ok(()),
                }
            }
        }
    });
}

fn tick(state: &AppState, previous: &mut HashMap<String, ServerView>) {
    let views: Vec<ServerView> = state.fleet.views();
    let changed: Vec<ServerView> = views.iter().filter(|v| previous.get(&v.id) != Some(*v)).cloned().collect();
    let removed: Vec<String> = previous.keys().filter(|id| !views.iter().any(|v| &v.id == *id)).cloned().collect();
    let full = encode("server_update", ServerUpdate { full: true, servers: &views, removed: Vec::new() });
    let system = encode("system_update", crate::overview::build(state));
    *state.hub.full.write() = (full, system.clone());
    *previous = views.iter().map(|v| (v.id.clone(), v.clone())).collect();
    *state.hub.views.write() = Arc::new(views);
    // Serialize only when someone listens; the snapshot above is kept for the next connection.
    if state.hub.receivers() == 0 {
        return;
    }
    if !changed.is_empty() || !removed.is_empty() {
        let diff = encode("server_update", ServerUpdate { full: false, servers: &changed, removed });
        state.hub.publish(Topic::Servers, diff);
    }
    state.hub.publish(Topic::System, system);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsent_budget_is_shared_and_returns_on_drop() {
        let b = UnsentBudget::new(100);
        let a = b.reserve(60).unwrap();
        assert!(b.reserve(50).is_none(), "past the limit");
        let c = b.reserve(40).unwrap();
        assert_eq!(b.used(), 100);
        drop(a);
        assert_eq!(b.used(), 40);
        assert!(b.reserve(60).is_some());
        drop(c);
        assert_eq!(b.used(), 0);
    }
}
