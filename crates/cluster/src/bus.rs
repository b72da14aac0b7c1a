//! The bus: typed messages on named channels (fleet updates, alert events, live samples) fanned out
//! to every hub through Redis pub/sub. Each message carries the sending hub's id, and a hub never
//! receives its own (it delivers those locally, without a round trip). Each channel has a bounded
//! local queue per subscriber: a subscriber that falls behind loses the oldest messages and is told
//! so ([`Missed::Lagged`], counted in `bus_dropped`). The subscriber connection is kept by
//! `Cluster::run`: after it was lost (or could not be opened) it is reopened and resubscribed, and
//! every subscriber gets [`Missed::Reconnected`], since pub/sub does not replay: that is the signal
//! to resynchronise (e.g. send a full snapshot to the WebSocket clients).
//!
//! Wire form of a message: `om1 <hub id>|<instance>\n<JSON>` on Redis channel `<prefix>bus:<name>`
//! (the instance is a random id per process, so hubs given the same id by mistake still hear each
//! other).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Cluster;
use crate::error::{Error, Result};
use crate::keys::check_name;
use crate::stats::bump;

/// Channels at most (they are named by the code, not by input).
const MAX_CHANNELS: usize = 64;
/// Local coalescing waiters at most; past it a follower polls instead of being woken.
const MAX_WAITERS: usize = 10_000;
/// The internal channel on which coalescing leaders announce a finished key.
pub(crate) const COALESCE_CHANNEL: &str = "_co";
const MAGIC: &str = "om1 ";

/// What a subscriber missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// The subscription was lost (or could not be opened) for about this long and is back:
    /// anything published meanwhile is gone.
    Reconnected { down_ms: u64 },
    /// This subscriber fell this many messages behind its queue; they were dropped.
    Lagged { count: u64 },
}

/// One thing a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum BusEvent<T> {
    /// A message from another hub.
    Message { from: String, message: T },
    /// Messages were lost: resynchronise.
    Missed(Missed),
}

#[derive(Debug)]
enum Delivery {
    Message { from: Arc<str>, body: Bytes },
    Missed(Missed),
}

/// The local side: channels by name, and coalescing waiters by key digest.
pub(crate) struct Hub {
    channels: RwLock<HashMap<String, broadcast::Sender<Arc<Delivery>>>>,
    queue: usize,
    connected: AtomicBool,
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Hub {
    pub(crate) fn new(queue: usize) -> Self {
        Self {
            channels: RwLock::new(HashMap::new()),
            queue,
            connected: AtomicBool::new(false),
            waiters: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    fn sender(&self, name: &str) -> Result<broadcast::Sender<Arc<Delivery>>> {
        if let Some(tx) = self.channels.read().get(name) {
            return Ok(tx.clone());
        }
        let mut all = self.channels.write();
        if let Some(tx) = all.get(name) {
            return Ok(tx.clone());
        }
        if all.len() >= MAX_CHANNELS {
            return Err(Error::InvalidInput(format!("more than {MAX_CHANNELS} bus channels")));
        }
        let (tx, _) = broadcast::channel(self.queue);
        all.insert(name.to_owned(), tx.clone());
        Ok(tx)
    }

    /// Hands a message to the channel's subscribers; false when nobody here listens.
    fn dispatch(&self, name: &str, from: Arc<str>, body: Bytes) -> bool {
        let Some(tx) = self.channels.read().get(name).cloned() else { return false };
        tx.send(Arc::new(Delivery::Message { from, body })).is_ok()
    }

    /// Tells every subscriber of every channel; returns the channels that had subscribers.
    fn missed_all(&self, missed: Missed) -> u64 {
        let all: Vec<_> = self.channels.read().values().cloned().collect();
        all.iter().filter(|tx| tx.send(Arc::new(Delivery::Missed(missed))).is_ok()).count() as u64
    }

    /// The notifier for coalescing key `digest` (shared by every local follower of that key).
    pub(crate) fn waiter(&self, digest: &str) -> Option<Arc<Notify>> {
        let mut w = self.waiters.lock();
        if let Some(n) = w.get(digest) {
            return Some(Arc::clone(n));
        }
        if w.len() >= MAX_WAITERS {
            return None;
        }
        let n = Arc::new(Notify::new());
        w.insert(digest.to_owned(), Arc::clone(&n));
        Some(n)
    }

    /// A follower is done with `digest`: drop the notifier once no other follower holds it.
    pub(crate) fn forget_waiter(&self, digest: &str, notify: Arc<Notify>) {
        let mut w = self.waiters.lock();
        // Two references left: the map's and the one passed in.
        if w.get(digest).is_some_and(|n| Arc::ptr_eq(n, &notify) && Arc::strong_count(n) <= 2) {
            w.remove(digest);
        }
    }

    /// Wakes the local followers of `digest` (a leader here finished, or one elsewhere announced it).
    pub(crate) fn wake(&self, digest: &str) {
        if let Some(n) = self.waiters.lock().get(digest) {
            n.notify_waiters();
        }
    }
}

/// Typed channels by name.
#[derive(Clone)]
pub struct Bus {
    cluster: Cluster,
}

impl Bus {
    pub(crate) fn new(cluster: Cluster) -> Self {
        Self { cluster }
    }

    /// The channel `name` carrying `T` (JSON on the wire). Every hub must use the same `T` for a
    /// name; a message that does not decode is skipped and counted (`bus_undecodable`).
    pub fn channel<T: Serialize + DeserializeOwned>(&self, name: &str) -> Result<Channel<T>> {
        check_name("bus channel", name)?;
        if name.starts_with('_') {
            return Err(Error::InvalidInput(format!("bus channel {name:?}: names starting with _ are reserved")));
        }
        let inner = &self.cluster.inner;
        Ok(Channel {
            tx: inner.bus.sender(name)?,
            redis_channel: inner.keys.bus_channel(name),
            name: Arc::from(name),
            cluster: self.cluster.clone(),
            _type: PhantomData,
        })
    }
}

/// One typed channel: publish to the other hubs, subscribe to what they publish.
pub struct Channel<T> {
    cluster: Cluster,
    name: Arc<str>,
    redis_channel: String,
    tx: broadcast::Sender<Arc<Delivery>>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Self {
            cluster: self.cluster.clone(),
            name: Arc::clone(&self.name),
            redis_channel: self.redis_channel.clone(),
            tx: self.tx.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Channel<T> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `message` to the other hubs; returns how many subscriber connections Redis delivered it
    /// to (this hub's own included, which ignores it). `Err` (Redis down, message over
    /// `max_entry_bytes`): the other hubs will not see it; deliver locally as without Redis.
    pub async fn publish(&self, message: &T) -> Result<u64> {
        let inner = &self.cluster.inner;
        let body = encode(&inner.owner, message)?;
        if body.len() > inner.config.max_entry_bytes {
            return Err(Error::InvalidInput(format!(
                "bus message of {} bytes is over max_entry_bytes ({})",
                body.len(),
                inner.config.max_entry_bytes
            )));
        }
        let n: u64 = inner.conn.query(redis::cmd("PUBLISH").arg(&self.redis_channel).arg(body)).await?;
        bump(&inner.conn.counters.bus_published, 1);
        Ok(n)
    }

    /// A new subscriber: it receives what other hubs publish from now on, in order, through a
    /// queue of `bus_queue` messages.
    pub fn subscribe(&self) -> Subscriber<T> {
        Subscriber { rx: self.tx.subscribe(), cluster: self.cluster.clone(), _type: PhantomData }
    }
}

/// `owner` is `<hub id>|<instance>`.
fn encode<T: Serialize>(owner: &str, message: &T) -> Result<Vec<u8>> {
    let mut body = format!("{MAGIC}{owner}\n").into_bytes();
    serde_json::to_writer(&mut body, message).map_err(|e| Error::InvalidInput(format!("bus message: {e}")))?;
    Ok(body)
}

/// `(owner, JSON)` of a wire message.
fn decode(payload: &[u8]) -> Option<(&str, &[u8])> {
    let rest = payload.strip_prefix(MAGIC.as_bytes())?;
    let nl = rest.iter().position(|b| *b == b'\n')?;
    let hub = std::str::from_utf8(&rest[..nl]).ok()?;
    Some((hub, &rest[nl + 1..]))
}

/// Receives one channel's messages from other hubs.
pub struct Subscriber<T> {
    rx: broadcast::Receiver<Arc<Delivery>>,
    cluster: Cluster,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Subscriber<T> {
    /// The next message or notice, waiting for it. `None` only when the channel is gone (never
    /// while the cluster handle lives).
    pub async fn recv(&mut self) -> Option<BusEvent<T>> {
        loop {
            let got = self.rx.recv().await;
            if let Some(ev) = self.take(got)? {
                return Some(ev);
            }
        }
    }

    /// The next message or notice if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<BusEvent<T>> {
        loop {
            let got = match self.rx.try_recv() {
                Ok(d) => Ok(d),
                Err(broadcast::error::TryRecvError::Lagged(n)) => Err(broadcast::error::RecvError::Lagged(n)),
                Err(_) => return None,
            };
            if let Some(ev) = self.take(got)? {
                return Some(ev);
            }
        }
    }

    /// `None`: closed; `Some(None)`: skipped (undecodable); `Some(Some(ev))`: deliver.
    fn take(&self, got: Result<Arc<Delivery>, broadcast::error::RecvError>) -> Option<Option<BusEvent<T>>> {
        let counters = &self.cluster.inner.conn.counters;
        match got {
            Ok(d) => match &*d {
                Delivery::Missed(m) => Some(Some(BusEvent::Missed(*m))),
                Delivery::Message { from, body } => match serde_json::from_slice(body) {
                    Ok(message) => Some(Some(BusEvent::Message { from: from.to_string(), message })),
                    Err(e) => {
                        bump(&counters.bus_undecodable, 1);
                        tracing::debug!(from = &**from, error = %e, "bus message skipped: does not decode");
                        Some(None)
                    }
                },
            },
            Err(broadcast::error::RecvError::Lagged(n)) => {
                bump(&counters.bus_dropped, n);
                bump(&counters.bus_missed, 1);
                Some(Some(BusEvent::Missed(Missed::Lagged { count: n })))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// Keeps the subscriber connection: subscribe to every channel under the prefix, dispatch, ping
/// while idle, and on loss resubscribe (after `retry_interval`) and tell subscribers.
pub(crate) async fn pump(cluster: &Cluster, cancel: &CancellationToken) {
    let inner = &cluster.inner;
    let config = &inner.config;
    // Since when subscribers have been without a subscription (None: never, or not since the last
    // notice).
    let mut lost_at: Option<Instant> = None;
    let mut warned = false;
    loop {
        match subscribe(cluster).await {
            Ok(pubsub) => {
                inner.bus.connected.store(true, Ordering::Release);
                if let Some(since) = lost_at.take() {
                    let down_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let told = inner.bus.missed_all(Missed::Reconnected { down_ms });
                    bump(&inner.conn.counters.bus_missed, told);
                    tracing::info!(down_ms, "bus subscribed again; subscribers told to resynchronise");
                }
                let (mut sink, mut stream) = pubsub.split();
                let reason = loop {
                    tokio::select! {
                        _ = cancel.cancelled() => {
                            inner.bus.connected.store(false, Ordering::Release);
                            return;
                        }
                        msg = stream.next() => match msg {
                            Some(m) => deliver(cluster, &m),
                            None => break "connection closed".to_owned(),
                        },
                        // Only while idle: any message proves the connection alive.
                        _ = tokio::time::sleep(config.probe_interval()) => {
                            let ping = tokio::time::timeout(inner.conn.command_timeout(), sink.ping::<redis::Value>());
                            match ping.await {
                                Ok(Ok(_)) => {}
                                Ok(Err(e)) => break inner.conn.classify(&e).to_string(),
                                Err(_) => break "ping timed out".to_owned(),
                            }
                        }
                    }
                };
                inner.bus.connected.store(false, Ordering::Release);
                lost_at = Some(Instant::now());
                tracing::warn!(reason, "bus subscription lost; other hubs' messages are missed until it is back");
                warned = true;
            }
            Err(e) => {
                lost_at.get_or_insert_with(Instant::now);
                if !warned {
                    tracing::warn!(error = %e, "bus cannot subscribe; other hubs' messages are missed until it can");
                    warned = true;
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(config.retry_interval()) => {}
        }
    }
}

async fn subscribe(cluster: &Cluster) -> Result<redis::aio::PubSub> {
    let inner = &cluster.inner;
    let mut pubsub = inner.conn.pubsub().await?;
    let pattern = inner.keys.bus_pattern();
    match tokio::time::timeout(inner.conn.command_timeout(), pubsub.psubscribe(&pattern)).await {
        Ok(Ok(())) => Ok(pubsub),
        Ok(Err(e)) => Err(inner.conn.classify(&e)),
        Err(_) => Err(crate::error::timed_out("PSUBSCRIBE", inner.conn.command_timeout())),
    }
}

fn deliver(cluster: &Cluster, msg: &redis::Msg) {
    let inner = &cluster.inner;
    let Some(name) = inner.keys.bus_name(msg.get_channel_name()) else { return };
    let Some((owner, body)) = decode(msg.get_payload_bytes()) else {
        bump(&inner.conn.counters.bus_undecodable, 1);
        return;
    };
    if owner == &*inner.owner {
        return;
    }
    let from = owner.split_once('|').map_or(owner, |(hub, _)| hub);
    if name == COALESCE_CHANNEL {
        if let Ok(digest) = std::str::from_utf8(body) {
            inner.bus.wake(digest.trim_matches('"'));
        }
        return;
    }
    if inner.bus.dispatch(name, Arc::from(from), Bytes::copy_from_slice(body)) {
        bump(&inner.conn.counters.bus_received, 1);
    }
}

/// Announces that coalescing key `digest` is done (published or abandoned) to the other hubs.
pub(crate) fn coalesce_announcement(cluster: &Cluster, digest: &str) -> Result<(String, Vec<u8>)> {
    let inner = &cluster.inner;
    Ok((inner.keys.bus_channel(COALESCE_CHANNEL), encode(&inner.owner, &digest)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_round_trips() {
        let body = encode("hub-1|abc", &serde_json::json!({"cpu": 1.5})).unwrap();
        assert!(body.starts_with(b"om1 hub-1|abc\n"));
        let (owner, json) = decode(&body).unwrap();
        assert_eq!(owner, "hub-1|abc");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(json).unwrap()["cpu"], 1.5);
        assert!(decode(b"garbage").is_none() && decode(b"om1 no-newline").is_none());
    }

    #[test]
    fn waiters_are_shared_and_forgotten() {
        let hub = Hub::new(4);
        let a = hub.waiter("k").unwrap();
        let b = hub.waiter("k").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        hub.forget_waiter("k", a);
        assert!(hub.waiters.lock().contains_key("k"), "b still waits");
        hub.forget_waiter("k", b);
        assert!(hub.waiters.lock().is_empty());
    }
}
