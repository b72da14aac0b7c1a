//! What a resolved question needs beyond the snapshot: the request the engine hands the hub's
//! [`crate::FactsSource::fill`], so the hub reads only that (one server's hour of CPU, not the store).

use serde::{Deserialize, Serialize};

use super::Metric;

/// Points per series the engine asks for at most; the store answers with averages over wider steps.
pub const MAX_POINTS: usize = 3_000;

/// The parts of [`super::Facts`] to fill. Empty (`FactsNeed::default()`) when the snapshot is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactsNeed {
    pub series: Vec<SeriesNeed>,
    /// Events with `from_ms <= at_ms <= to_ms`.
    pub events: Option<(i64, i64)>,
    pub alerts: bool,
    pub silences: bool,
    pub budget: bool,
    pub gateway: bool,
    pub checks: bool,
}

/// History of one metric for some servers over a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesNeed {
    /// Server ids; empty means every server.
    pub servers: Vec<String>,
    pub metric: Metric,
    pub from_ms: i64,
    pub to_ms: i64,
    /// At most this many points per series (the source may average neighbours).
    pub max_points: usize,
}

impl FactsNeed {
    /// Whether anything beyond the snapshot is asked.
    pub fn is_empty(&self) -> bool {
        *self == FactsNeed::default()
    }

    /// Adds a series request, merging it into an earlier one for the same metric and window.
    pub fn add_series(&mut self, servers: Vec<String>, metric: Metric, window: (i64, i64)) {
        let (from_ms, to_ms) = window;
        if let Some(same) =
            self.series.iter_mut().find(|s| s.metric == metric && s.from_ms == from_ms && s.to_ms == to_ms)
        {
            if same.servers.is_empty() || servers.is_empty() {
                same.servers.clear();
            } else {
                for id in servers {
                    if !same.servers.contains(&id) {
                        same.servers.push(id);
                    }
                }
            }
            return;
        }
        self.series.push(SeriesNeed { servers, metric, from_ms, to_ms, max_points: MAX_POINTS });
    }

    /// Widens the events window to cover `window`.
    pub fn add_events(&mut self, window: (i64, i64)) {
        self.events = Some(match self.events {
            Some((from, to)) => (from.min(window.0), to.max(window.1)),
            None => window,
        });
    }
}
