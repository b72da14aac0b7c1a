//! The WebSocket hub: one job computes the fleet once per interval, serializes each message once,
//! and publishes it on a bounded broadcast channel that every connection reads. A connection that
//! falls behind misses messages (the channel never grows) and is resynchronised with the newest full
//! snapshot, so a slow client costs the others nothing.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast};

use crate::clock;
use crate::fleet::model::ServerView;
use crate::state::AppState;

/// Messages kept for a connection that is briefly busy; beyond this it lags and is resynchronised.
const CHANNEL_CAPACITY: usize = 16;

/// What a published message is about, for per-connection topic filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Servers,
    System,
    Alerts,
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
    pub fn new(max_connections: usize, interval: Duration) -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let empty = Utf8Bytes::from_static("{}");
        Self {
            tx,
            full: RwLock::new((empty.clone(), empty)),
            views: RwLock::default(),
            connections: Arc::new(Semaphore::new(max_connections)),
            interval,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.tx.subscribe()
    }

    /// The newest full server and system messages.
    pub fn full(&self) -> (Utf8Bytes, Utf8Bytes) {
        self.full
            .read()
            .map(|f| f.clone())
            .unwrap_or_else(|_| (Utf8Bytes::from_static("{}"), Utf8Bytes::from_static("{}")))
    }

    pub fn views(&self) -> Arc<Vec<ServerView>> {
        self.views.read().map(|v| v.clone()).unwrap_or_default()
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

/// Starts the job that computes and publishes the fleet every interval.
pub fn start(state: &AppState) {
    let s = state.clone();
    state.supervisor.spawn("ws-hub", move |ctx| {
        let state = s.clone();
        async move {
            let mut previous: HashMap<String, ServerView> = HashMap::new();
            let mut interval = tokio::time::interval(state.hub.interval);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = ctx.cancel.cancelled() => return Ok(()),
                }
                ctx.heartbeat.beat();
                tick(&state, &mut previous);
            }
        }
    });
}

fn tick(state: &AppState, previous: &mut HashMap<String, ServerView>) {
    let views: Vec<ServerView> = state.fleet.snapshots(clock::now_millis()).into_iter().map(|s| s.view).collect();
    let changed: Vec<ServerView> = views.iter().filter(|v| previous.get(&v.id) != Some(*v)).cloned().collect();
    let removed: Vec<String> = previous.keys().filter(|id| !views.iter().any(|v| &v.id == *id)).cloned().collect();
    let full = encode("server_update", ServerUpdate { full: true, servers: &views, removed: Vec::new() });
    let system = encode("system_update", crate::http::metrics::metrics_body(state));
    if let Ok(mut f) = state.hub.full.write() {
        *f = (full, system.clone());
    }
    *previous = views.iter().map(|v| (v.id.clone(), v.clone())).collect();
    if let Ok(mut v) = state.hub.views.write() {
        *v = Arc::new(views);
    }
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
