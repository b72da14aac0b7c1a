//! Request counters and an HDR latency histogram behind `/api/metrics`'s `application` section.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use utoipa::ToSchema;

/// Latencies are recorded in microseconds with two significant figures, up to one hour.
const MAX_MICROS: u64 = 3_600_000_000;

pub struct RequestStats {
    requests: AtomicU64,
    errors: AtomicU64,
    client_errors: AtomicU64,
    total_micros: AtomicU64,
    histogram: Mutex<Histogram<u64>>,
}

/// The `application` section of `/api/metrics` (times in milliseconds).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationMetrics {
    /// The serving process (it changes when a `SIGUSR2` hand-over completes).
    pub pid: u32,
    /// Seconds since start.
    pub uptime: f64,
    pub requests: u64,
    /// Responses with a 5xx status.
    pub errors: u64,
    /// Responses with a 4xx status.
    pub client_errors: u64,
    /// Mean response time.
    pub response_time: f64,
    pub response_time_p50: f64,
    pub response_time_p95: f64,
    pub response_time_p99: f64,
}

impl Default for RequestStats {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestStats {
    // The bounds are constants that hdrhistogram accepts; a failure here is a programming error.
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, MAX_MICROS, 2).expect("valid constant histogram bounds");
        Self {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            client_errors: AtomicU64::new(0),
            total_micros: AtomicU64::new(0),
            histogram: Mutex::new(histogram),
        }
    }

    pub fn record(&self, status: u16, elapsed: Duration) {
        let micros = (elapsed.as_micros() as u64).clamp(1, MAX_MICROS);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.total_micros.fetch_add(micros, Ordering::Relaxed);
        if status >= 500 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        } else if status >= 400 {
            self.client_errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut h) = self.histogram.lock() {
            h.saturating_record(micros);
        }
    }

    /// `(requests, total microseconds)` since start, for rates over an interval.
    pub fn totals(&self) -> (u64, u64) {
        (self.requests.load(Ordering::Relaxed), self.total_micros.load(Ordering::Relaxed))
    }

    pub fn snapshot(&self, uptime: Duration) -> ApplicationMetrics {
        let requests = self.requests.load(Ordering::Relaxed);
        let total = self.total_micros.load(Ordering::Relaxed);
        let (p50, p95, p99) = match self.histogram.lock() {
            Ok(h) => (h.value_at_quantile(0.50), h.value_at_quantile(0.95), h.value_at_quantile(0.99)),
            Err(_) => (0, 0, 0),
        };
        let ms = |micros: u64| (micros as f64 / 1000.0 * 1000.0).round() / 1000.0;
        ApplicationMetrics {
            pid: std::process::id(),
            uptime: uptime.as_secs_f64(),
            requests,
            errors: self.errors.load(Ordering::Relaxed),
            client_errors: self.client_errors.load(Ordering::Relaxed),
            response_time: total.checked_div(requests).map(ms).unwrap_or(0.0),
            response_time_p50: ms(p50),
            response_time_p95: ms(p95),
            response_time_p99: ms(p99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_recorded_latencies() {
        let s = RequestStats::new();
        for i in 1..=100u64 {
            s.record(200, Duration::from_millis(i));
        }
        s.record(500, Duration::from_millis(1));
        s.record(404, Duration::from_millis(1));
        let m = s.snapshot(Duration::from_secs(5));
        assert_eq!(m.requests, 102);
        assert_eq!(m.errors, 1);
        assert_eq!(m.client_errors, 1);
        assert!((m.response_time_p50 - 49.0).abs() < 1.5, "{m:?}");
        assert!((m.response_time_p99 - 99.0).abs() < 1.5, "{m:?}");
        assert!(m.response_time > 40.0 && m.response_time < 60.0);
    }
}
