//! Fleet updates between hubs: a sink on the fleet queues each stored agent sample (bounded,
//! never waiting), a publisher sends the newest per server on the `fleet` channel, and a
//! subscriber applies other hubs' updates to this hub's registry. The hub's own host (`self`) is
//! not shared: every hub has one under the same id.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::fleet::model::{Live, ServerMeta, Source};
use crate::fleet::sink::SampleSink;
use crate::services::Services;

/// Samples waiting to be published; past it they are dropped (the next sample brings the server
/// up to date again).
const QUEUE: usize = 4096;
const CHANNEL: &str = "fleet";

/// What one hub tells the others: a server's description and newest reading.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetUpdate {
    pub meta: ServerMeta,
    pub live: Live,
}

/// The fleet's sink: agents' samples into the bounded publish queue.
struct BusSink {
    tx: mpsc::Sender<FleetUpdate>,
    dropped: AtomicU64,
}

impl SampleSink for BusSink {
    fn stored(&self, server: &ServerMeta, timestamp_ms: i64, values: &BTreeMap<String, f64>) {
        if server.source == Source::Local {
            return;
        }
        let update = FleetUpdate {
            meta: server.clone(),
            live: Live::from_values(timestamp_ms.min(crate::clock::now_millis()), values),
        };
        if self.tx.try_send(update).is_err() && self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!("fleet updates for other hubs are being dropped (publish queue full)");
        }
    }
}

pub fn start(services: &Services, c: &cluster::Cluster) -> anyhow::Result<()> {
    let channel = Arc::new(c.channel::<FleetUpdate>(CHANNEL)?);
    let (tx, rx) = mpsc::channel(QUEUE);
    services.fleet.add_sink(Arc::new(BusSink { tx, dropped: AtomicU64::new(0) }));
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let ch = channel.clone();
    services.supervisor.spawn("fleet-bus-publish", move |ctx| {
        let (ch, rx) = (ch.clone(), rx.clone());
        async move {
            let mut rx = rx.lock().await;
            loop {
                let first = tokio::select! {
                    m = rx.recv() => m,
                    _ = ctx.cancel.cancelled() => return Ok(()),
                };
                let Some(first) = first else { return Ok(()) };
                // Whatever else is queued: only the newest reading of each server is sent.
                let mut newest: HashMap<String, FleetUpdate> = HashMap::new();
                let mut keep = |u: FleetUpdate| {
                    let slot = newest.entry(u.meta.id.clone()).or_insert_with(|| u.clone());
                    if slot.live.at_ms <= u.live.at_ms {
                        *slot = u;
                    }
                };
                keep(first);
                while let Ok(u) = rx.try_recv() {
                    keep(u);
                }
                for u in newest.values() {
                    // Redis away: local delivery only; other hubs catch up with the next sample.
                    let _ = ch.publish(u).await;
                }
                ctx.heartbeat.beat();
            }
        }
    });
    let s = services.clone();
    services.supervisor.spawn("fleet-bus-apply", move |ctx| {
        let (s, ch) = (s.clone(), channel.clone());
        async move {
            let mut sub = ch.subscribe();
            loop {
                let event = tokio::select! {
                    e = sub.recv() => e,
                    _ = ctx.cancel.cancelled() => return Ok(()),
                };
                match event {
                    Some(cluster::BusEvent::Message { message, .. }) => {
                        s.fleet.apply_remote(message.meta, message.live)
                    }
                    // Lost updates are superseded by the next ones (agents report every few seconds).
                    Some(cluster::BusEvent::Missed(m)) => tracing::debug!(?m, "missed fleet updates from other hubs"),
                    None => return Ok(()),
                }
            }
        }
    });
    Ok(())
}
