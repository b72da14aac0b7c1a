//! What the server knows about itself: request counts and latency percentiles, AI query totals, the
//! process's memory, and the Prometheus registry every component adds its series to.

pub mod ai_totals;
pub mod alert_series;
pub mod check_series;
pub mod fleet_series;
pub mod gateway_view;
pub mod process;
pub mod prometheus;
pub mod stats;
pub mod tls_series;

use std::sync::Arc;

/// The telemetry every service and adapter shares.
pub struct Telemetry {
    /// Requests answered (for `/api/metrics`'s `application`).
    pub stats: stats::RequestStats,
    /// Time inside the server of answers served from the AI cache (`X-Cache-Status: HIT`), from the
    /// request's arrival at the first layer to its response leaving it.
    pub cache_hits: stats::RequestStats,
    pub ai: ai_totals::AiTotals,
    pub exporter: Arc<prometheus::Exporter>,
    pub memory: process::ProcessMemory,
}

impl Telemetry {
    pub fn new() -> Self {
        let memory = process::ProcessMemory::default();
        memory.refresh();
        Self {
            stats: stats::RequestStats::new(),
            cache_hits: stats::RequestStats::new(),
            ai: ai_totals::AiTotals::default(),
            exporter: prometheus::Exporter::new(crate::clock::now_millis() / 1000),
            memory,
        }
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}
