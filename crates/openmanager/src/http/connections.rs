//! The connection table: every open HTTP connection, across all workers, with its peer address,
//! when it opened and whether a request is in flight on it. It decides whether a new connection may
//! come in: within `server.max_connections` in all and `server.max_connections_per_ip` per address;
//! at either bound it sheds the oldest idle connection (of that address first) instead of leaving
//! the newcomer waiting in the kernel's backlog, and refuses only when every connection is busy. A
//! stranger holding thousands of idle or slow connections therefore cannot lock others out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use tokio_util::sync::CancellationToken;

/// How many connections may be open.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub total: usize,
    pub per_ip: usize,
}

/// What one connection shares with the table.
#[derive(Debug)]
pub struct Conn {
    /// Requests in flight (their response bodies included), so a streaming answer is never shed.
    active: AtomicUsize,
    /// Requests begun on it so far: an idle check compares it between two looks, since a client
    /// polling now and then is seldom caught mid-request.
    begun: AtomicU64,
    /// Cancelled to shed this connection.
    shed: CancellationToken,
}

impl Conn {
    pub fn is_idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0
    }

    /// How many requests have begun on this connection.
    pub fn requests_begun(&self) -> u64 {
        self.begun.load(Ordering::Acquire)
    }

    /// Fires when the table sheds this connection.
    pub fn shed_signal(&self) -> &CancellationToken {
        &self.shed
    }

    /// Marks a request in flight until the returned guard drops.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.active.fetch_add(1, Ordering::AcqRel);
        self.begun.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }
}

/// A request in flight on a connection.
#[derive(Debug)]
pub struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Entry {
    ip: IpAddr,
    opened: Instant,
    conn: Arc<Conn>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
}

impl Inner {
    /// The oldest idle connection (of `ip` only, when given), marked so it is not picked twice.
    fn shed_oldest_idle(&mut self, ip: Option<IpAddr>) -> bool {
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| ip.is_none_or(|ip| e.ip == ip) && e.conn.is_idle() && !e.conn.shed.is_cancelled())
            .min_by_key(|(_, e)| e.opened)
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.entries.get(&id)) {
            Some(e) => {
                e.conn.shed.cancel();
                true
            }
            None => false,
        }
    }

    /// Connections not yet told to go.
    fn live(&self, ip: Option<IpAddr>) -> usize {
        self.entries.values().filter(|e| ip.is_none_or(|ip| e.ip == ip) && !e.conn.shed.is_cancelled()).count()
    }
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every connection of this address is busy.
    PerIp,
    /// Every connection is busy.
    Total,
}

#[derive(Clone)]
pub struct ConnectionTable {
    inner: Arc<Mutex<Inner>>,
    bounds: Bounds,
    /// Connections shed and refused (Prometheus `openmanager_connections_shed_total`,
    /// `openmanager_connections_refused_total`).
    pub shed_count: Counter,
    pub refused_count: Counter,
}

/// A connection's place in the table; leaving it (drop) frees the place.
pub struct Admitted {
    table: ConnectionTable,
    id: u64,
    pub conn: Arc<Conn>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut inner = self.table.inner.lock();
        if let Some(e) = inner.entries.remove(&self.id)
            && let Some(n) = inner.per_ip.get_mut(&e.ip)
        {
            *n -= 1;
            if *n == 0 {
                inner.per_ip.remove(&e.ip);
            }
        }
    }
}

impl ConnectionTable {
    pub fn new(bounds: Bounds) -> Self {
        Self {
            inner: Arc::default(),
            bounds: Bounds { total: bounds.total.max(1), per_ip: bounds.per_ip.max(1) },
            shed_count: Counter::default(),
            refused_count: Counter::default(),
        }
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.inner.lock().entries.len()
    }

    /// Lets a connection from `ip` in, shedding the oldest idle one where a bound is reached.
    /// Connections that are shed leave the table when their task ends, a moment later; until then
    /// they are not counted against newcomers.
    pub fn admit(&self, ip: IpAddr, now: Instant) -> Result<Admitted, Refused> {
        let mut inner = self.inner.lock();
        if inner.per_ip.get(&ip).copied().unwrap_or(0) >= self.bounds.per_ip
            && inner.live(Some(ip)) >= self.bounds.per_ip
        {
            if !inner.shed_oldest_idle(Some(ip)) {
                self.refused_count.inc();
                return Err(Refused::PerIp);
            }
            self.shed_count.inc();
        }
        if inner.entries.len() >= self.bounds.total && inner.live(None) >= self.bounds.total {
            if !inner.shed_oldest_idle(None) {
                self.refused_count.inc();
                return Err(Refused::Total);
            }
            self.shed_count.inc();
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let conn =
            Arc::new(Conn { active: AtomicUsize::new(0), begun: AtomicU64::new(0), shed: CancellationToken::new() });
        inner.entries.insert(id, Entry { ip, opened: now, conn: conn.clone() });
        *inner.per_ip.entry(ip).or_default() += 1;
        drop(inner);
        Ok(Admitted { table: self.clone(), id, conn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn sheds_the_oldest_idle_connection_of_the_same_address() {
        let t = ConnectionTable::new(Bounds { total: 100, per_ip: 2 });
        let start = Instant::now();
        let a = t.admit(ip(1), start).unwrap();
        let b = t.admit(ip(1), start + std::time::Duration::from_secs(1)).unwrap();
        let _busy = b.conn.busy();
        // A third from the same address sheds the oldest idle one (a), not the busy one.
        let c = t.admit(ip(1), start + std::time::Duration::from_secs(2)).unwrap();
        assert!(a.conn.shed_signal().is_cancelled());
        assert!(!b.conn.shed_signal().is_cancelled());
        // Another address is not affected.
        let _d = t.admit(ip(2), start).unwrap();
        // With b busy and c idle, one more from .1 sheds c; with both busy it is refused.
        let _busy_c = c.conn.busy();
        drop(a);
        assert_eq!(t.admit(ip(1), start).err(), Some(Refused::PerIp));
        assert_eq!(t.refused_count.get(), 1);
    }

    #[test]
    fn the_total_bound_sheds_across_addresses_and_places_return() {
        let t = ConnectionTable::new(Bounds { total: 2, per_ip: 10 });
        let now = Instant::now();
        let a = t.admit(ip(1), now).unwrap();
        let b = t.admit(ip(2), now).unwrap();
        let _busy = b.conn.busy();
        let _c = t.admit(ip(3), now).unwrap();
        assert!(a.conn.shed_signal().is_cancelled());
        assert_eq!(t.open(), 3, "a shed connection counts until its task ends");
        drop(a);
        assert_eq!(t.open(), 2);
        assert_eq!(t.shed_count.get(), 1);
    }
}
