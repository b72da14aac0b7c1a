//! Where stored samples go next: after a sample is in the store, each registered sink gets it
//! (remote write to Prometheus-compatible receivers; in a multi-hub deployment, the cluster bus).
//! Sinks must not wait: they queue, bounded, and deliver on their own tasks.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::model::ServerMeta;

/// Receives every sample the fleet stored, with the server's description.
pub trait SampleSink: Send + Sync {
    fn stored(&self, server: &ServerMeta, timestamp_ms: i64, values: &BTreeMap<String, f64>);
}

/// The registered sinks (a handful at most, set at start).
#[derive(Default)]
pub struct Sinks(RwLock<Vec<Arc<dyn SampleSink>>>);

impl Sinks {
    pub fn add(&self, sink: Arc<dyn SampleSink>) {
        self.0.write().push(sink);
    }

    pub fn is_empty(&self) -> bool {
        self.0.read().is_empty()
    }

    pub fn stored(&self, server: &ServerMeta, timestamp_ms: i64, values: &BTreeMap<String, f64>) {
        for sink in self.0.read().iter() {
            sink.stored(server, timestamp_ms, values);
        }
    }
}
