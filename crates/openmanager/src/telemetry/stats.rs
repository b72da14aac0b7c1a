//! Request counters and an HDR latency histogram behind `/api/metrics`'s `application` section.
//!
//! Every HTTP worker thread records into its own shard (counters and a histogram behind a mutex that
//! only that thread takes while serving), and readers merge the shards. One shared histogram behind
//! one mutex made the two workers of an e2-micro queue on each other for every request.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use utoipa::ToSchema;

/// Latencies are recorded in microseconds with two significant figures, up to one hour.
const MAX_MICROS: u64 = 3_600_000_000;

/// Tells instances apart in the thread-local shard list (tests run several in one process).
static NEXT_INSTANCE: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static SHARDS: RefCell<Vec<(usize, Arc<Mutex<Shard>>)>> = const { RefCell::new(Vec::new()) };
}

struct Shard {
    requests: u64,
    errors: u64,
    client_errors: u64,
    total_micros: u64,
    histogram: Histogram<u64>,
}

impl Shard {
    // The bounds are constants that hdrhistogram accepts; a failure here is a programming error.
    #[allow(clippy::expect_used)]
    fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, MAX_MICROS, 2).expect("valid constant histogram bounds");
        Self { requests: 0, errors: 0, client_errors: 0, total_micros: 0, histogram }
    }
}

pub struct RequestStats {
    instance: usize,
    /// One shard per thread that has recorded; bounded by the number of threads serving HTTP.
    shards: Mutex<Vec<Arc<Mutex<Shard>>>>,
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
    pub fn new() -> Self {
        Self { instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed), shards: Mutex::new(Vec::new()) }
    }

    /// This thread's shard, made on first use.
    fn shard(&self) -> Arc<Mutex<Shard>> {
        SHARDS.with(|cell| {
            let mut local = cell.borrow_mut();
            if let Some((_, s)) = local.iter().find(|(i, _)| *i == self.instance) {
                return s.clone();
            }
            let shard = Arc::new(Mutex::new(Shard::new()));
            {
                let mut all = self.shards.lock();
                all.push(shard.clone());
            }
            local.push((self.instance, shard.clone()));
            shard
        })
    }

    pub fn record(&self, status: u16, elapsed: Duration) {
        let micros = (elapsed.as_micros() as u64).clamp(1, MAX_MICROS);
        let shard = self.shard();
        let mut s = shard.lock();
        s.requests += 1;
        s.total_micros += micros;
        if status >= 500 {
            s.errors += 1;
        } else if status >= 400 {
            s.client_errors += 1;
        }
        s.histogram.saturating_record(micros);
    }

    fn merged(&self) -> Shard {
        let mut out = Shard::new();
        let shards: Vec<Arc<Mutex<Shard>>> = {
            let s = self.shards.lock();
            s.clone()
        };
        for shard in shards {
            let s = shard.lock();
            out.requests += s.requests;
            out.errors += s.errors;
            out.client_errors += s.client_errors;
            out.total_micros += s.total_micros;
            // Same bounds on both sides: adding cannot fail.
            let _ = out.histogram.add(&s.histogram);
        }
        out
    }

    /// `(requests, total microseconds)` since start, for rates over an interval.
    pub fn totals(&self) -> (u64, u64) {
        let m = self.merged();
        (m.requests, m.total_micros)
    }

    pub fn snapshot(&self, uptime: Duration) -> ApplicationMetrics {
        let m = self.merged();
        let h = &m.histogram;
        let (p50, p95, p99) = (h.value_at_quantile(0.50), h.value_at_quantile(0.95), h.value_at_quantile(0.99));
        let ms = |micros: u64| (micros as f64 / 1000.0 * 1000.0).round() / 1000.0;
        ApplicationMetrics {
            pid: std::process::id(),
            uptime: uptime.as_secs_f64(),
            requests: m.requests,
            errors: m.errors,
            client_errors: m.client_errors,
            response_time: m.total_micros.checked_div(m.requests).map(ms).unwrap_or(0.0),
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
    fn shards_of_several_threads_are_merged() {
        let s = std::sync::Arc::new(RequestStats::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        s.record(200, Duration::from_millis(2));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        s.record(503, Duration::from_millis(2));
        let m = s.snapshot(Duration::from_secs(1));
        assert_eq!((m.requests, m.errors), (1001, 1));
        assert_eq!(s.totals().0, 1001);
        // Another instance on the same threads keeps its own counts.
        assert_eq!(RequestStats::new().snapshot(Duration::ZERO).requests, 0);
    }

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
