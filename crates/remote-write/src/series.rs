//! The series the hub has pushed, each with its labels encoded once: a sample in the queue is then a
//! shared pointer, a time and a value (24 bytes), and a batch copies ready-made label bytes. The table
//! is bounded: past [`MAX_SERIES`] it forgets series no queued sample uses.

use std::collections::HashMap;
use std::sync::Arc;

use crate::naming::{self, ServerRef};
use crate::wire::{self, Series};

/// Series remembered at most (about 150-250 bytes each). 1,000 servers with 30 metrics each fit.
pub const MAX_SERIES: usize = 50_000;

struct ServerSeries {
    name: Box<str>,
    server_type: Box<str>,
    source: Box<str>,
    metrics: HashMap<Box<str>, Arc<Series>>,
}

impl ServerSeries {
    fn describes(&self, server: &ServerRef<'_>) -> bool {
        *self.name == *server.name && *self.server_type == *server.server_type && *self.source == *server.source
    }
}

pub struct SeriesTable {
    servers: HashMap<Box<str>, ServerSeries>,
    count: usize,
    extra: Vec<(String, String)>,
}

impl SeriesTable {
    /// `extra`: the configured labels added to every series, already checked.
    pub fn new(extra: Vec<(String, String)>) -> Self {
        Self { servers: HashMap::new(), count: 0, extra }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    /// The series of `metric` on `server`, made on first use. A server whose name, type or source
    /// changed gets new series (its labels changed).
    pub fn get(&mut self, server: &ServerRef<'_>, metric: &str) -> Arc<Series> {
        if let Some(s) = self.servers.get(server.id)
            && s.describes(server)
            && let Some(series) = s.metrics.get(metric)
        {
            return Arc::clone(series);
        }
        if self.count >= MAX_SERIES {
            self.prune();
        }
        let name = naming::metric_name(metric);
        let labels = naming::series_labels(&name, server, &self.extra);
        let series = Arc::new(Series { labels: wire::encode_labels(&labels) });
        let entry = self.servers.entry(server.id.into()).or_insert_with(|| ServerSeries {
            name: server.name.into(),
            server_type: server.server_type.into(),
            source: server.source.into(),
            metrics: HashMap::new(),
        });
        if !entry.describes(server) {
            self.count -= entry.metrics.len();
            entry.metrics.clear();
            entry.name = server.name.into();
            entry.server_type = server.server_type.into();
            entry.source = server.source.into();
        }
        if entry.metrics.insert(metric.into(), Arc::clone(&series)).is_none() {
            self.count += 1;
        }
        series
    }

    /// Forgets the series no queued sample holds; if most are still held, forgets them all (queued
    /// samples keep theirs alive, new pushes make new ones), so pruning runs at most once per
    /// `MAX_SERIES / 2` new series.
    fn prune(&mut self) {
        for server in self.servers.values_mut() {
            server.metrics.retain(|_, s| Arc::strong_count(s) > 1);
        }
        self.servers.retain(|_, s| !s.metrics.is_empty());
        self.count = self.servers.values().map(|s| s.metrics.len()).sum();
        if self.count > MAX_SERIES / 2 {
            self.servers.clear();
            self.count = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(id: &str) -> ServerRef<'_> {
        ServerRef { id, name: "web-1", server_type: "web", source: "agent" }
    }

    #[test]
    fn a_series_is_made_once_and_remade_when_its_server_changes() {
        let mut t = SeriesTable::new(vec![]);
        let a = t.get(&server("s1"), "cpu");
        let b = t.get(&server("s1"), "cpu");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(t.len(), 1);
        let renamed = ServerRef { name: "web-2", ..server("s1") };
        let c = t.get(&renamed, "cpu");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_ne!(a.labels, c.labels);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut t = SeriesTable::new(vec![]);
        let held = t.get(&server("kept"), "cpu");
        let ids: Vec<String> = (0..MAX_SERIES + 10).map(|i| format!("s{i}")).collect();
        for id in &ids {
            let _ = t.get(&server(id), "cpu");
            assert!(t.len() <= MAX_SERIES);
        }
        // The held series survived the prune and is still the one handed out.
        assert!(Arc::ptr_eq(&held, &t.get(&server("kept"), "cpu")));
    }
}
