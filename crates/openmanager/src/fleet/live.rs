//! The live view: the last 15 minutes of 1-second samples of servers that report that often (this
//! host), in compact rings, for charts that open with their recent past and then stream.

use parking_lot::RwLock;
use std::collections::{HashMap, VecDeque};

use super::model::Live;

/// 15 minutes at 1 s.
pub const CAPACITY: usize = 900;
/// Servers with a live ring (agents report every few seconds; a ring each would be waste).
const MAX_SERVERS: usize = 16;

#[derive(Default)]
pub struct LiveRing {
    rings: RwLock<HashMap<String, VecDeque<Live>>>,
    /// Wakes `/ws` subscribers when a sample arrives.
    notify: tokio::sync::Notify,
}

impl LiveRing {
    pub fn push(&self, id: &str, live: Live) {
        {
            let mut r = self.rings.write();
            if !r.contains_key(id) && r.len() >= MAX_SERVERS {
                return;
            }
            let ring = r.entry(id.to_owned()).or_insert_with(|| VecDeque::with_capacity(CAPACITY));
            if ring.len() == CAPACITY {
                ring.pop_front();
            }
            ring.push_back(live);
        }
        self.notify.notify_waiters();
    }

    /// Samples of `id` newer than `after_ms`, oldest first.
    pub fn since(&self, id: &str, after_ms: i64) -> Vec<Live> {
        self.rings
            .read()
            .get(id)
            .map(|ring| ring.iter().filter(|l| l.at_ms > after_ms).copied().collect())
            .unwrap_or_default()
    }

    /// Resolves at the next `push`.
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_ordered() {
        let ring = LiveRing::default();
        for t in 0..(CAPACITY as i64 + 10) {
            ring.push("self", Live { at_ms: t, ..Live::default() });
        }
        let all = ring.since("self", -1);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all.first().map(|l| l.at_ms), Some(10));
        assert_eq!(ring.since("self", CAPACITY as i64 + 7).len(), 2);
        assert!(ring.since("other", 0).is_empty());
    }
}
