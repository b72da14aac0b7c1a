//! What the sender has done, for the hub to export: plain atomics bumped on the hot path, read as one
//! [`Stats`] snapshot at scrape time.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

/// Longest error text kept (a receiver's message can be long).
const MAX_ERROR_CHARS: usize = 300;

/// A snapshot of the sender's counters. Counters only grow; `queue_len` and the `last_*` fields are
/// current values.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Samples accepted into the queue.
    pub samples_queued: u64,
    /// Samples a receiver acknowledged (2xx).
    pub samples_sent: u64,
    /// Samples dropped because the queue was full (the oldest go first).
    pub samples_dropped_queue_full: u64,
    /// Samples a receiver refused with a 4xx other than 429 (not retried).
    pub samples_rejected: u64,
    /// HTTP requests made (each attempt, retries included).
    pub requests: u64,
    /// Requests that did not end in a 2xx (network errors, timeouts, 4xx, 5xx).
    pub requests_failed: u64,
    /// Attempts that repeated an earlier failed one.
    pub retries: u64,
    /// Request bodies sent, compressed, as they went on the wire (retries included; HTTP headers and
    /// TLS framing not included: about 300 bytes a request, see `requests`). For the egress budget.
    pub bytes_sent: u64,
    /// Samples waiting to be sent.
    pub queue_len: usize,
    /// Series the sender remembers (labels encoded once; bounded).
    pub series: usize,
    /// The latest failure, if any: when (ms since the epoch) and what.
    pub last_error: Option<LastError>,
    /// When (ms since the epoch) a request last succeeded.
    pub last_success_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    pub at_ms: i64,
    pub message: String,
}

#[derive(Default)]
pub struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    dropped_queue_full: AtomicU64,
    rejected: AtomicU64,
    requests: AtomicU64,
    requests_failed: AtomicU64,
    retries: AtomicU64,
    bytes_sent: AtomicU64,
    /// 0: never.
    last_success_ms: AtomicI64,
    last_error: Mutex<Option<LastError>>,
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Counters {
    pub fn pushed(&self, queued: u64, dropped: u64) {
        if queued > 0 {
            self.queued.fetch_add(queued, Ordering::Relaxed);
        }
        if dropped > 0 {
            self.dropped_queue_full.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    pub fn request(&self, body_bytes: Option<usize>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(n) = body_bytes {
            self.bytes_sent.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    pub fn sent(&self, samples: usize) {
        self.sent.fetch_add(samples as u64, Ordering::Relaxed);
        self.last_success_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn rejected(&self, samples: usize) {
        self.rejected.fetch_add(samples as u64, Ordering::Relaxed);
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn failed(&self, message: &str) {
        self.requests_failed.fetch_add(1, Ordering::Relaxed);
        let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
        *self.last_error.lock() = Some(LastError { at_ms: now_ms(), message });
    }

    pub fn snapshot(&self, queue_len: usize, series: usize) -> Stats {
        let last_success = self.last_success_ms.load(Ordering::Relaxed);
        Stats {
            samples_queued: self.queued.load(Ordering::Relaxed),
            samples_sent: self.sent.load(Ordering::Relaxed),
            samples_dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            samples_rejected: self.rejected.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            requests_failed: self.requests_failed.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            queue_len,
            series,
            last_error: self.last_error.lock().clone(),
            last_success_ms: (last_success != 0).then_some(last_success),
        }
    }
}
