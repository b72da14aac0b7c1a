//! The bounded queue between the hub's pushes and the sender. Pushing never waits: it takes a short
//! lock, and when the queue is full the oldest samples go (counted). The batch being sent still
//! counts against the bound; if its request fails it goes back to the front, so while the receiver
//! is away it is the first to be dropped, as the oldest data.

use std::collections::VecDeque;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::naming::ServerRef;
use crate::series::SeriesTable;
use crate::stats::Counters;
use crate::wire::Entry;

struct State {
    items: VecDeque<Entry>,
    /// Samples taken by the sender and not yet settled.
    in_flight: usize,
    series: SeriesTable,
}

pub struct Queue {
    state: Mutex<State>,
    capacity: usize,
    batch: usize,
    full_batch: Notify,
}

impl Queue {
    /// `batch` must be at most half of `capacity` (see `RemoteWriteConfig::effective_batch`).
    pub fn new(capacity: usize, batch: usize, extra_labels: Vec<(String, String)>) -> Self {
        Self {
            state: Mutex::new(State { items: VecDeque::new(), in_flight: 0, series: SeriesTable::new(extra_labels) }),
            capacity,
            batch,
            full_batch: Notify::new(),
        }
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Queues one stored sample's values; non-finite values are skipped (the store holds none, and
    /// a NaN would read as Prometheus's staleness marker).
    pub fn push<K: AsRef<str>>(
        &self,
        counters: &Counters,
        server: &ServerRef<'_>,
        timestamp_ms: i64,
        values: impl IntoIterator<Item = (K, f64)>,
    ) {
        let mut queued = 0u64;
        let mut dropped = 0u64;
        let full = {
            let mut state = self.state.lock();
            let state = &mut *state;
            for (metric, value) in values {
                if !value.is_finite() {
                    continue;
                }
                let series = state.series.get(server, metric.as_ref());
                if state.items.len() + state.in_flight >= self.capacity {
                    // Full: the oldest queued sample makes room. The in-flight batch is at most half the
                    // capacity, so there is always a queued one to drop.
                    if state.items.pop_front().is_none() {
                        dropped += 1;
                        continue;
                    }
                    dropped += 1;
                }
                state.items.push_back(Entry { series, timestamp_ms, value });
                queued += 1;
            }
            state.items.len() >= self.batch
        };
        counters.pushed(queued, dropped);
        if full {
            self.full_batch.notify_one();
        }
    }

    /// Samples waiting (not counting a batch in flight).
    pub fn len(&self) -> usize {
        self.state.lock().items.len()
    }

    /// Samples waiting and series remembered, read together.
    pub fn lengths(&self) -> (usize, usize) {
        let state = self.state.lock();
        (state.items.len(), state.series.len())
    }

    /// Resolves once a full batch is waiting (possibly spuriously: check [`Queue::len`]).
    pub async fn full_batch(&self) {
        self.full_batch.notified().await;
    }

    /// Moves up to one batch from the front into `into` (cleared first); it stays counted against
    /// the bound until [`Queue::settle`] or [`Queue::put_back`].
    pub fn take(&self, into: &mut Vec<Entry>) {
        into.clear();
        let mut state = self.state.lock();
        let n = state.items.len().min(self.batch);
        into.extend(state.items.drain(..n));
        state.in_flight = n;
    }

    /// The batch in flight was delivered or refused for good.
    pub fn settle(&self) {
        self.state.lock().in_flight = 0;
    }

    /// The batch in flight failed: back to the front, oldest first, to be retried (or dropped first
    /// if the queue fills meanwhile).
    pub fn put_back(&self, batch: &mut Vec<Entry>) {
        let mut state = self.state.lock();
        state.items.reserve(batch.len());
        for e in batch.drain(..).rev() {
            state.items.push_front(e);
        }
        state.in_flight = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: ServerRef<'static> = ServerRef { id: "s1", name: "web-1", server_type: "web", source: "agent" };

    fn times(batch: &[Entry]) -> Vec<i64> {
        batch.iter().map(|e| e.timestamp_ms).collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_them() {
        let counters = Counters::default();
        let q = Queue::new(10, 5, vec![]);
        for t in 0..15 {
            q.push(&counters, &SERVER, t, [("cpu", t as f64)]);
        }
        assert_eq!(q.len(), 10);
        let s = counters.snapshot(q.len(), 0);
        assert_eq!((s.samples_queued, s.samples_dropped_queue_full), (15, 5));
        let mut batch = Vec::new();
        q.take(&mut batch);
        assert_eq!(times(&batch), vec![5, 6, 7, 8, 9]);
    }

    #[test]
    fn a_failed_batch_goes_back_to_the_front_and_is_dropped_first() {
        let counters = Counters::default();
        let q = Queue::new(10, 5, vec![]);
        for t in 0..8 {
            q.push(&counters, &SERVER, t, [("cpu", 1.0)]);
        }
        let mut batch = Vec::new();
        q.take(&mut batch);
        assert_eq!(times(&batch), vec![0, 1, 2, 3, 4]);
        // While in flight the batch still counts: 3 queued + 5 in flight + 2 new = 10, then 2 more
        // push out the two oldest queued ones.
        for t in 8..12 {
            q.push(&counters, &SERVER, t, [("cpu", 1.0)]);
        }
        assert_eq!(q.len(), 5);
        q.put_back(&mut batch);
        assert_eq!(q.len(), 10);
        q.push(&counters, &SERVER, 12, [("cpu", 1.0)]);
        q.take(&mut batch);
        assert_eq!(times(&batch), vec![1, 2, 3, 4, 7], "the failed batch's oldest went first");
        assert_eq!(counters.snapshot(q.len(), 0).samples_dropped_queue_full, 3);
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let counters = Counters::default();
        let q = Queue::new(10, 5, vec![]);
        q.push(&counters, &SERVER, 1, [("cpu", f64::NAN), ("memory", f64::INFINITY), ("disk", 3.0)]);
        assert_eq!(q.len(), 1);
        assert_eq!(q.lengths(), (1, 1));
    }
}
