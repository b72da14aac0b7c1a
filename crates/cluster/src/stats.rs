//! What the cluster layer has done, for the hub to export to Prometheus: atomics bumped on the hot
//! path, read as one [`Stats`] snapshot at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot. Counters only grow; `up` is the current state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Whether Redis is usable now.
    pub up: bool,
    /// Commands and scripts sent to Redis.
    pub commands: u64,
    /// Of those, the ones that failed (timeouts, connection errors, error replies).
    pub errors: u64,
    /// Calls to Redis that returned an error to their caller (refused at once while down, busy,
    /// failed), each of which sent the caller to its local state.
    pub fallbacks: u64,
    /// Times Redis became unusable (a failure to connect at start included).
    pub outages: u64,
    /// Whether the bus's subscriber connection is subscribed now.
    pub bus_connected: bool,
    /// Bus messages published by this hub.
    pub bus_published: u64,
    /// Bus messages from other hubs handed to this hub's subscribers (once per message).
    pub bus_received: u64,
    /// Bus messages a slow subscriber missed because its queue was full.
    pub bus_dropped: u64,
    /// Times subscribers were told they missed messages (a lost subscription, a full queue).
    pub bus_missed: u64,
    /// Bus messages that could not be decoded (a hub of another version?); skipped.
    pub bus_undecodable: u64,
    /// Times this hub became a lease holder.
    pub lease_acquired: u64,
    /// Times this hub stopped being a lease holder (released, expired, taken over).
    pub lease_lost: u64,
    /// Notify-once decisions taken locally while Redis was down.
    pub dedup_local: u64,
    /// Of those, the keys written to Redis once it was back.
    pub dedup_replayed: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub commands: AtomicU64,
    pub errors: AtomicU64,
    pub fallbacks: AtomicU64,
    pub outages: AtomicU64,
    pub bus_published: AtomicU64,
    pub bus_received: AtomicU64,
    pub bus_dropped: AtomicU64,
    pub bus_missed: AtomicU64,
    pub bus_undecodable: AtomicU64,
    pub lease_acquired: AtomicU64,
    pub lease_lost: AtomicU64,
    pub dedup_local: AtomicU64,
    pub dedup_replayed: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64, n: u64) {
    if n > 0 {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

impl Counters {
    pub(crate) fn snapshot(&self, up: bool) -> Stats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            up,
            bus_connected: false,
            commands: r(&self.commands),
            errors: r(&self.errors),
            fallbacks: r(&self.fallbacks),
            outages: r(&self.outages),
            bus_published: r(&self.bus_published),
            bus_received: r(&self.bus_received),
            bus_dropped: r(&self.bus_dropped),
            bus_missed: r(&self.bus_missed),
            bus_undecodable: r(&self.bus_undecodable),
            lease_acquired: r(&self.lease_acquired),
            lease_lost: r(&self.lease_lost),
            dedup_local: r(&self.dedup_local),
            dedup_replayed: r(&self.dedup_replayed),
        }
    }
}
