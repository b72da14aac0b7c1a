//! Query totals of the AI gateway as the web app reads them (`/api/metrics`'s `ai` section), and the
//! counts the alert rules' AI error rate is computed from.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Default)]
pub struct AiTotals {
    queries: AtomicU64,
    succeeded: AtomicU64,
    total_ms: AtomicU64,
}

#[derive(Serialize, ToSchema, Default, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AiMetrics {
    pub total_queries: u64,
    /// Percent of queries answered.
    pub success_rate: f64,
    /// Milliseconds.
    pub avg_latency: f64,
}

impl AiTotals {
    pub fn record(&self, ok: bool, ms: u64) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.succeeded.fetch_add(1, Ordering::Relaxed);
        }
        self.total_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// `(queries, answered)` since start.
    pub fn counts(&self) -> (u64, u64) {
        (self.queries.load(Ordering::Relaxed), self.succeeded.load(Ordering::Relaxed))
    }

    pub fn snapshot(&self) -> AiMetrics {
        let q = self.queries.load(Ordering::Relaxed);
        let ok = self.succeeded.load(Ordering::Relaxed);
        let ms = self.total_ms.load(Ordering::Relaxed);
        AiMetrics {
            total_queries: q,
            success_rate: if q == 0 { 100.0 } else { (ok as f64 * 1000.0 / q as f64).round() / 10.0 },
            avg_latency: if q == 0 { 0.0 } else { (ms as f64 / q as f64 * 10.0).round() / 10.0 },
        }
    }
}
