//! Prometheus remote-write 1.0 out: the hub's stored samples, sent to any remote-write receiver
//! (Prometheus with `--web.enable-remote-write-receiver`, VictoriaMetrics, Mimir, Thanos receive).
//!
//! The hub makes one [`RemoteWrite`] from its `[remote_write]` section, [`RemoteWrite::push`]es every
//! sample it stores (never waits, bounded memory), runs [`RemoteWrite::run`] under its task
//! supervisor, and exports [`RemoteWrite::stats`]. Nothing here depends on the hub.
//!
//! ```no_run
//! # async fn hub(cancel: tokio_util::sync::CancellationToken) -> Result<(), remote_write::ConfigError> {
//! use remote_write::{RemoteWrite, RemoteWriteConfig, ServerRef};
//! let config = RemoteWriteConfig { url: "http://127.0.0.1:8428/api/v1/write".into(), ..Default::default() };
//! let rw = RemoteWrite::new(&config)?;
//! let server = ServerRef { id: "web-1", name: "web-1", server_type: "web", source: "agent" };
//! rw.push(&server, 1_700_000_000_000, [("cpu", 12.5), ("load1", 0.4)]);
//! rw.run(cancel, || {}).await; // until cancelled
//! # Ok(()) }
//! ```
//!
//! # Wire format
//!
//! `POST` of a `prometheus.WriteRequest` protobuf, snappy block-compressed, with
//! `Content-Encoding: snappy`, `Content-Type: application/x-protobuf` and
//! `X-Prometheus-Remote-Write-Version: 0.1.0`, plus the configured headers (e.g. `Authorization`).
//! Labels are sorted by name, `__name__` first; empty values are left out; values longer than
//! 1024 bytes are cut at a character boundary (protobuf strings need no escaping).
//!
//! # Names
//!
//! | stored (`protocol::metric`) | metric name | unit |
//! |---|---|---|
//! | `cpu` | `openmanager_server_cpu_percent` | percent 0-100 |
//! | `memory` | `openmanager_server_memory_percent` | percent |
//! | `disk` | `openmanager_server_disk_percent` | percent (root filesystem) |
//! | `swap` | `openmanager_server_swap_percent` | percent |
//! | `net_rx` | `openmanager_server_network_receive_bytes_per_second` | bytes/s |
//! | `net_tx` | `openmanager_server_network_transmit_bytes_per_second` | bytes/s |
//! | `disk_read` | `openmanager_server_disk_read_bytes_per_second` | bytes/s |
//! | `disk_write` | `openmanager_server_disk_written_bytes_per_second` | bytes/s |
//! | `load1` | `node_load1` | node_exporter's gauge |
//! | `load5` | `node_load5` | node_exporter's gauge |
//! | `load15` | `node_load15` | node_exporter's gauge |
//! | `processes` | `node_processes_pids` | node_exporter's gauge (PIDs in /proc, as the collector counts) |
//! | `uptime` | `openmanager_server_uptime_seconds` | seconds |
//! | anything else | `openmanager_server_custom_<name>` | as stored; characters outside `[a-zA-Z0-9_]` become `_` |
//!
//! node_exporter's names are used only where the meaning is the same: its CPU, memory, disk and
//! network series are counters or byte totals (`node_cpu_seconds_total`,
//! `node_network_receive_bytes_total`), while the hub stores percentages and rates, so those keep
//! the hub's own names (the same as the hub's own `/metrics` gauges).
//!
//! Labels on every series: `instance` (the server's name, its id when it has none), `server_id`,
//! `server_type` (`web`, `api`, `database`, ...), `source` (`self`, `agent`, `simulated`, `static`),
//! and the configured `labels` (e.g. `job = "openmanager"`).
//!
//! # Delivery
//!
//! Samples are sent every `interval_ms`, or as soon as `max_batch_samples` wait. 5xx, 429 and
//! network errors are retried (250 ms doubling to 30 s, jittered; `Retry-After` honoured up to
//! 5 minutes); other 4xx answers are final (the batch is dropped, counted in
//! [`Stats::samples_rejected`], the receiver's reason logged once per run of refusals). A batch being
//! retried stays at the front of the bounded queue, so while a receiver is away the oldest samples
//! are the ones dropped. Within a request, each series' samples are in time order with one sample
//! per timestamp; a sample older than one a receiver already has (an agent replaying its spool)
//! is refused by Prometheus as out of order (400), which is counted the same way.

mod config;
mod naming;
mod queue;
mod sender;
mod series;
mod stats;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use config::{ConfigError, MASK, RemoteWriteConfig, redact_url};
pub use naming::{CUSTOM_PREFIX, MAPPINGS, Mapping, ServerRef, metric_name};
pub use stats::{LastError, Stats};

use queue::Queue;
use sender::{Endpoint, Task};
use stats::Counters;

/// The `source` label value of the simulated demo fleet, left out unless `include_simulated`.
pub const SIMULATED_SOURCE: &str = "simulated";

/// The handle: cheap to clone, shared by the hub's ingest paths and the sender task.
#[derive(Clone)]
pub struct RemoteWrite {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Queue,
    counters: Counters,
    endpoint: Endpoint,
    interval: Duration,
    include_simulated: bool,
    redacted_url: String,
    running: AtomicBool,
}

impl RemoteWrite {
    /// Checks `config` and builds the HTTP client (rustls with the `ring` provider). Fails when
    /// the configuration is invalid or remote write is off (no `url`).
    pub fn new(config: &RemoteWriteConfig) -> Result<Self, ConfigError> {
        Self::new_counted(config, Default::default())
    }

    /// Like [`RemoteWrite::new`], adding the bytes of every request to `sent` (the hub's
    /// `outbound:remote_write` egress).
    pub fn new_counted(
        config: &RemoteWriteConfig,
        sent: prometheus_client::metrics::counter::Counter,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let fail = |message: String| ConfigError { key: "url".into(), message };
        if !config.is_enabled() {
            return Err(fail("is empty: remote write is off".into()));
        }
        let mut url = reqwest::Url::parse(config.url.trim()).map_err(|e| fail(e.to_string()))?;
        // Credentials in the URL become basic authentication; the URL itself is then safe to show.
        let basic_auth = (!url.username().is_empty()).then(|| {
            let user = decode(url.username());
            (user, url.password().map(decode))
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let headers = sender::default_headers(&config.headers)
            .ok_or_else(|| ConfigError { key: "headers".into(), message: "a header is not valid".into() })?;
        // An error only means a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("openmanager-remote-write/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(config.timeout())
            .connect_timeout(config.timeout().min(Duration::from_secs(5)))
            // A redirected POST becomes a GET, or carries the credentials to another host.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))?;
        let extra = config.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(Self {
            inner: Arc::new(Inner {
                queue: Queue::new(config.max_queue_samples, config.effective_batch(), extra),
                counters: Counters::default(),
                endpoint: Endpoint { client, url, basic_auth, sent },
                interval: config.interval(),
                include_simulated: config.include_simulated,
                redacted_url: redact_url(&config.url),
                running: AtomicBool::new(false),
            }),
        })
    }

    /// Queues one stored sample of `server`: its `(stored metric name, value)` pairs at
    /// `timestamp_ms`. Never waits on the network; when the queue is full the oldest queued samples
    /// are dropped (counted in [`Stats::samples_dropped_queue_full`]). Samples of simulated servers
    /// are ignored unless `include_simulated`.
    pub fn push<K: AsRef<str>>(
        &self,
        server: &ServerRef<'_>,
        timestamp_ms: i64,
        values: impl IntoIterator<Item = (K, f64)>,
    ) {
        if server.id.is_empty() || (!self.inner.include_simulated && server.source == SIMULATED_SOURCE) {
            return;
        }
        self.inner.queue.push(&self.inner.counters, server, timestamp_ms, values);
    }

    /// The sender: sends every `interval_ms` (a full batch at once) until `cancel`, calling
    /// `heartbeat` at least every 5 s while alive. Errors are handled inside (retried, counted,
    /// logged), so it returns only when cancelled, after one last bounded (2 s) attempt to send what
    /// is queued. A second concurrent call returns at once. Meant to run under the hub's supervisor:
    /// the queue lives in the handle, so a restarted task carries on where the last one stopped.
    pub async fn run<B: Fn() + Send + Sync>(&self, cancel: CancellationToken, heartbeat: B) {
        if self.inner.running.swap(true, Ordering::AcqRel) {
            tracing::warn!("remote write sender already running; not starting a second one");
            return;
        }
        // Cleared even if this future is dropped mid-way.
        struct Running<'a>(&'a AtomicBool);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _running = Running(&self.inner.running);
        let inner = &*self.inner;
        tracing::info!(url = inner.redacted_url, "remote write sender started");
        let task = Task {
            queue: &inner.queue,
            counters: &inner.counters,
            endpoint: &inner.endpoint,
            interval: inner.interval,
            redacted_url: &inner.redacted_url,
        };
        sender::run(&task, &cancel, &heartbeat).await;
    }

    /// Counters and current state, for the hub's `/metrics`, health and the egress budget.
    pub fn stats(&self) -> Stats {
        let (queue_len, series) = self.inner.queue.lengths();
        self.inner.counters.snapshot(queue_len, series)
    }

    /// The receiver's URL without credentials or query string, for logs and status pages.
    pub fn url(&self) -> &str {
        &self.inner.redacted_url
    }
}

/// Percent-decoding of URL user info (`user%40corp`), lossy on invalid UTF-8.
fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_can_run_on_a_multi_threaded_runtime() {
        fn send<T: Send + 'static>(_: &T) {}
        let config = RemoteWriteConfig { url: "http://127.0.0.1:1/api/v1/write".into(), ..Default::default() };
        let rw = RemoteWrite::new(&config).unwrap();
        let beat = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let task = async move { rw.run(CancellationToken::new(), move || drop(beat.clone())).await };
        send(&task);
    }

    #[test]
    fn user_info_is_decoded() {
        assert_eq!(decode("user%40corp"), "user@corp");
        assert_eq!(decode("p%3As%2"), "p:s%2");
    }

    #[test]
    fn off_is_an_error_and_credentials_leave_the_url() {
        assert_eq!(RemoteWrite::new(&RemoteWriteConfig::default()).err().map(|e| e.key), Some("url".into()));
        let config =
            RemoteWriteConfig { url: "https://u:p%40ss@example.com/api/v1/write?k=v".into(), ..Default::default() };
        let rw = RemoteWrite::new(&config).unwrap();
        assert_eq!(rw.url(), "https://example.com/api/v1/write?...");
        assert_eq!(rw.inner.endpoint.url.as_str(), "https://example.com/api/v1/write?k=v");
        assert_eq!(rw.inner.endpoint.basic_auth, Some(("u".into(), Some("p@ss".into()))));
    }

    #[test]
    fn simulated_servers_are_left_out_unless_asked_for() {
        let config = RemoteWriteConfig { url: "http://127.0.0.1:1/api/v1/write".into(), ..Default::default() };
        let sim = ServerRef { id: "sim-1", name: "web-sim", server_type: "web", source: SIMULATED_SOURCE };
        let rw = RemoteWrite::new(&config).unwrap();
        rw.push(&sim, 1, [("cpu", 1.0)]);
        assert_eq!(rw.stats().queue_len, 0);
        let rw = RemoteWrite::new(&RemoteWriteConfig { include_simulated: true, ..config }).unwrap();
        rw.push(&sim, 1, [("cpu", 1.0)]);
        assert_eq!(rw.stats().queue_len, 1);
    }
}
