//! The WebSocket hub: one job computes the fleet once per interval, serializes each message once,
//! and publishes it on a bounded broadcast channel that every connection reads. A connection that
//! falls behind misses messages (the channel never grows) and is resynchronised with the newest full
//! snapshot, so a slow client costs the others nothing.
//!
//! Each broadcast is also deflated once here (see `deflate.rs`) for the clients that agreed
//! `permessage-deflate`. The `fleet` topic (`Topic::Overview`) is the frugal one the dashboard uses: at
//! `fleet.overview_interval_ms`, only the fields that changed at the precision the dashboard shows,
//! against what every overview client holds (the hub's `baseline`, which is also the full snapshot a
//! subscriber starts from, so a patch never applies to a state it was not computed against).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::{Semaphore, broadcast};
pub use tokio_tungstenite::tungstenite::Utf8Bytes;

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
    Overview,
    /// `notice` messages: every client gets them.
    Notice,
}

impl Topic {
    /// The topic's name on the wire and in the egress counts.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Servers => "servers",
            Topic::System => "system",
            Topic::Alerts => "alerts",
            Topic::Overview => "fleet",
            Topic::Notice => "control",
            Topic::Checks => "checks",
        }
    }
}

/// A message as sent: its text, and the same deflated when that is smaller.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub text: Utf8Bytes,
    pub deflated: Option<Bytes>,
}

impl Encoded {
    /// Compresses once, for every client that agreed `permessage-deflate`.
    pub fn new(text: Utf8Bytes) -> Self {
        let deflated = super::deflate::deflate(text.as_bytes());
        Self { text, deflated }
    }

    fn empty() -> Self {
        Self { text: Utf8Bytes::from_static("{}"), deflated: None }
    }
}

impl From<Utf8Bytes> for Encoded {
    fn from(text: Utf8Bytes) -> Self {
        Self { text, deflated: None }
    }
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub topic: Topic,
    /// For `overview`: the baseline version this patch leads to (a client that holds a snapshot of
    /// this version or newer skips it).
    pub seq: u64,
    pub msg: Encoded,
}

/// The newest full messages, for new and resynchronised clients.
#[derive(Debug, Clone)]
pub struct Snapshots {
    pub servers: Encoded,
    pub system: Encoded,
    pub overview: Encoded,
    pub overview_seq: u64,
}

pub struct Hub {
    tx: broadcast::Sender<Frame>,
    full: RwLock<Snapshots>,
    /// The newest views by id, for per-connection `serverIds` filters.
    views: RwLock<Arc<Vec<ServerView>>>,
    pub connections: Arc<Semaphore>,
    pub interval: Duration,
    /// The `overview` topic's interval (`fleet.overview_interval_ms`).
    pub overview_interval: Duration,
    /// The `live` topic's interval.
    pub live_interval: Duration,
    /// Bytes sent per topic, for the egress view.
    pub meter: Arc<crate::budget::egress::EgressMeter>,
    /// The egress guard is on (set by the hub job from the budget).
    guard: std::sync::atomic::AtomicBool,
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

    /// The most bytes in flight, and so the largest message that can be sent.
    pub fn limit(&self) -> usize {
        self.limit
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
        let empty = Encoded::empty();
        Self {
            tx,
            full: RwLock::new(Snapshots {
                servers: empty.clone(),
                system: empty.clone(),
                overview: empty,
                overview_seq: 0,
            }),
            views: RwLock::default(),
            connections: Arc::new(Semaphore::new(max_connections)),
            interval,
            overview_interval: Duration::from_secs(5),
            live_interval: Duration::from_secs(1),
            meter: Arc::default(),
            guard: std::sync::atomic::AtomicBool::new(false),
            unsent: UnsentBudget::new(max_unsent),
            stall_timeout,
        }
    }

    pub fn with_overview_interval(mut self, interval: Duration) -> Self {
        self.overview_interval = interval;
        self
    }

    pub fn with_meter(mut self, meter: Arc<crate::budget::egress::EgressMeter>) -> Self {
        meter.set_fleet_interval_ms(self.overview_interval.as_millis() as u64);
        self.meter = meter;
        self
    }

    /// Whether the egress guard has slowed the live rates.
    pub fn guarded(&self) -> bool {
        self.guard.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The `fleet` and `live` intervals now (slower while the egress guard is on).
    pub fn rates(&self) -> (Duration, Duration) {
        let (fleet, live) =
            crate::budget::report::guard_intervals(self.guarded(), self.overview_interval.as_millis() as u64);
        (Duration::from_millis(fleet), Duration::from_millis(live))
    }

    /// The `notice` message for the guard's state.
    pub fn guard_notice(&self) -> Utf8Bytes {
        let (fleet, live) = self.rates();
        let (level, message) = if self.guarded() {
            (
                "warning",
                format!(
                    "Egress is projected past the month's guard: live updates slowed (fleet every {} s, live chart every {} s).",
                    fleet.as_secs(),
                    live.as_secs()
                ),
            )
        } else {
            ("info", "Egress is back under the guard: live updates at their normal rates.".to_string())
        };
        encode(
            "notice",
            serde_json::json!({ "level": level, "code": "egress_guard", "message": message, "active": self.guarded() }),
        )
    }

    /// Turns the egress guard on or off; when that changes it, the `notice` every client must get
    /// (slowed rates, or back to the normal ones).
    pub fn set_guard(&self, active: bool) -> Option<Utf8Bytes> {
        (self.guard.swap(active, std::sync::atomic::Ordering::Relaxed) != active).then(|| self.guard_notice())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.tx.subscribe()
    }

    /// The newest full messages.
    pub fn full(&self) -> Snapshots {
        self.full.read().clone()
    }

    pub fn views(&self) -> Arc<Vec<ServerView>> {
        self.views.read().clone()
    }

    /// Publishes a message to every connection (alerts use this too).
    pub fn publish(&self, topic: Topic, text: Utf8Bytes) {
        self.publish_seq(topic, 0, Encoded::new(text));
    }

    fn publish_seq(&self, topic: Topic, seq: u64, msg: Encoded) {
        // No receivers is not an error: nobody is connected.
        let _ = self.tx.send(Frame { topic, seq, msg });
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
            let mut overview = Overview::default();
            let mut last_system: Option<Value> = None;
            let mut guard_checked = std::time::Instant::now();
            let mut interval = tokio::time::interval(state.hub.interval);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut alerts = state.alerting.subscribe();
            let mut checks = state.checks.subscribe();
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        ctx.heartbeat.beat();
                        tick(&state, &mut previous, &mut last_system);
                        overview.tick(&state);
                        if guard_checked.elapsed() >= GUARD_CHECK {
                            guard_checked = std::time::Instant::now();
                            check_guard(&state);
                        }
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
                        // Encoded only for someone connected: 200 checks at 10 s are 20 updates a second.
                        Ok(u) if state.hub.receivers() > 0 => state.hub.publish(Topic::Checks, encode("check_update", u)),
                        Ok(_) => {}
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

/// How often the hub asks the budget whether the egress guard applies.
const GUARD_CHECK: Duration = Duration::from_secs(2);

/// Turns the egress guard on or off from the budget's projection, and tells every client.
fn check_guard(state: &AppState) {
    let active = state.budget.egress_guard(clock::now_millis());
    if let Some(notice) = state.hub.set_guard(active) {
        tracing::warn!(
            active,
            "egress guard changed: WebSocket live rates {}",
            if active { "lowered" } else { "restored" }
        );
        state.hub.publish(Topic::Notice, notice);
    }
}

fn tick(state: &AppState, previous: &mut HashMap<String, ServerView>, last_system: &mut Option<Value>) {
    let views: Vec<ServerView> = state.fleet.views();
    let changed: Vec<ServerView> = views.iter().filter(|v| previous.get(&v.id) != Some(*v)).cloned().collect();
    let removed: Vec<String> = previous.keys().filter(|id| !views.iter().any(|v| &v.id == *id)).cloned().collect();
    let body = crate::overview::build(state);
    // `system_update` goes out only when something in it changed, its timestamp aside.
    let mut compared = serde_json::to_value(&body).unwrap_or_default();
    if let Some(m) = compared.as_object_mut() {
        m.remove("timestamp");
    }
    let system_changed = last_system.as_ref() != Some(&compared);
    *last_system = Some(compared);
    let listening = state.hub.receivers() > 0;
    // Deflated only when someone listens; a client that connects meanwhile has it deflated on send.
    let full = encode("server_update", ServerUpdate { full: true, servers: &views, removed: Vec::new() });
    let system = encode("system_update", body);
    let (full, system) =
        if listening { (Encoded::new(full), Encoded::new(system)) } else { (full.into(), system.into()) };
    {
        let mut snap = state.hub.full.write();
        snap.servers = full;
        snap.system = system;
    }
    *previous = views.iter().map(|v| (v.id.clone(), v.clone())).collect();
    *state.hub.views.write() = Arc::new(views);
    if !listening {
        return;
    }
    if !changed.is_empty() || !removed.is_empty() {
        let diff = encode("server_update", ServerUpdate { full: false, servers: &changed, removed });
        state.hub.publish(Topic::Servers, diff);
    }
    if system_changed {
        let system = state.hub.full.read().system.clone();
        state.hub.publish_seq(Topic::System, 0, system);
    }
}

/// Fields the `overview` patches leave out: the web app's older aliases (the full snapshot has
/// them) and the report time (the detail view reads it over HTTP).
const NOT_PATCHED: [&str; 6] = ["cpu_usage", "memory_usage", "disk_usage", "network_in", "network_out", "lastUpdate"];
/// Uptime is shown in minutes at best: a patch carries it when it moved this much (or went back).
const UPTIME_STEP_SECONDS: i64 = 60;

/// A server as the overview sends it: network rates at 3 significant figures (percentages are
/// already at 0.1 points).
fn displayed(view: &ServerView) -> Map<String, Value> {
    match serde_json::to_value(view.clone().at_display_precision()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The fields of `new` a client holding `old` must be told, with `id`; empty when none.
fn patch(old: &Map<String, Value>, new: &Map<String, Value>) -> Map<String, Value> {
    let mut p = Map::new();
    for (k, v) in new {
        if NOT_PATCHED.contains(&k.as_str()) {
            continue;
        }
        let differs = match (k.as_str(), old.get(k).and_then(Value::as_i64), v.as_i64()) {
            ("uptime", Some(a), Some(b)) => b < a || b - a >= UPTIME_STEP_SECONDS,
            _ => old.get(k) != Some(v),
        };
        if differs {
            p.insert(k.clone(), v.clone());
        }
    }
    if !p.is_empty()
        && let Some(id) = new.get("id")
    {
        p.insert("id".into(), id.clone());
    }
    p
}

#[derive(Serialize)]
struct OverviewPatch {
    full: bool,
    /// Marks a patch: each entry has `id` and only the fields that changed.
    patch: bool,
    servers: Vec<Value>,
    removed: Vec<String>,
}

/// The `overview` topic's state: what every overview client holds, and when it was last sent.
#[derive(Default)]
struct Overview {
    /// Servers in the fleet's order, as the clients hold them.
    baseline: Vec<(String, Map<String, Value>)>,
    seq: u64,
    last: Option<std::time::Instant>,
}

impl Overview {
    fn tick(&mut self, state: &AppState) {
        let hub = &state.hub;
        // Half a hub tick of slack so a 5 s interval is not pushed to 6 s by tick jitter.
        if self.last.is_some_and(|t| t.elapsed() + hub.interval / 2 < hub.rates().0) {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let views = hub.views();
        let mut held: HashMap<String, Map<String, Value>> = std::mem::take(&mut self.baseline).into_iter().collect();
        let mut patches = Vec::new();
        for v in views.iter() {
            let now = displayed(v);
            let kept = match held.remove(&v.id) {
                None => {
                    patches.push(Value::Object(now.clone()));
                    now
                }
                Some(mut old) => {
                    let p = patch(&old, &now);
                    if !p.is_empty() {
                        for (k, val) in &p {
                            old.insert(k.clone(), val.clone());
                        }
                        patches.push(Value::Object(p));
                    }
                    old
                }
            };
            self.baseline.push((v.id.clone(), kept));
        }
        let mut removed: Vec<String> = held.into_keys().collect();
        removed.sort();
        if patches.is_empty() && removed.is_empty() && self.seq > 0 {
            return;
        }
        self.seq += 1;
        let servers: Vec<Value> = self.baseline.iter().map(|(_, m)| Value::Object(m.clone())).collect();
        let full = encode("server_update", OverviewPatch { full: true, patch: false, servers, removed: Vec::new() });
        {
            let mut snap = hub.full.write();
            snap.overview = Encoded::new(full);
            snap.overview_seq = self.seq;
        }
        if hub.receivers() > 0 {
            let msg = encode("server_update", OverviewPatch { full: false, patch: true, servers: patches, removed });
            hub.publish_seq(Topic::Overview, self.seq, Encoded::new(msg));
        }
    }
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

    #[test]
    fn the_guard_slows_the_rates_and_restores_them_saying_so_each_time() {
        let hub = Hub::new(4, Duration::from_secs(1), 1 << 20, Duration::from_secs(5));
        let normal = (Duration::from_secs(5), Duration::from_secs(1));
        assert_eq!(hub.rates(), normal);
        let notice = |t: Utf8Bytes| serde_json::from_str::<Value>(t.as_str()).unwrap();
        let on = notice(hub.set_guard(true).expect("turning on is told"));
        assert_eq!(on["type"], "notice");
        assert_eq!(on["data"]["code"], "egress_guard");
        assert_eq!(on["data"]["active"], true);
        assert_eq!(on["data"]["level"], "warning");
        assert_eq!(hub.rates(), (Duration::from_secs(30), Duration::from_secs(5)));
        assert!(hub.set_guard(true).is_none(), "no change, nothing to tell");
        let off = notice(hub.set_guard(false).expect("restoring is told"));
        assert_eq!(off["data"]["active"], false);
        assert_eq!(off["data"]["level"], "info");
        assert!(off["data"]["message"].as_str().unwrap().contains("normal rates"), "{off}");
        assert_eq!(hub.rates(), normal);
        assert!(!hub.guarded());
        assert!(hub.set_guard(false).is_none());
    }

    #[test]
    fn rates_keep_three_significant_figures() {
        use crate::fleet::model::significant3;
        assert_eq!(significant3(123_456.0), 123_000.0);
        assert_eq!(significant3(0.012_345), 0.0123);
        assert_eq!(significant3(987.6), 988.0);
        assert_eq!(significant3(0.0), 0.0);
    }

    #[test]
    fn a_patch_carries_what_changed_and_uptime_in_steps() {
        let old: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"id": "a", "cpu": 1.0, "uptime": 100, "cpu_usage": 1.0}))
                .unwrap();
        let same: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"id": "a", "cpu": 1.0, "uptime": 130, "cpu_usage": 2.0}))
                .unwrap();
        assert!(patch(&old, &same).is_empty(), "aliases and small uptime moves are not news");
        let moved: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"id": "a", "cpu": 1.1, "uptime": 160})).unwrap();
        let p = patch(&old, &moved);
        assert_eq!(Value::Object(p), serde_json::json!({"id": "a", "cpu": 1.1, "uptime": 160}));
    }
}
