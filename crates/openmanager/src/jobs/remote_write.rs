//! `[remote_write]` wired into the hub: every sample the fleet stores goes to the configured
//! Prometheus remote-write receiver (the `remote-write` crate queues, batches and retries), the
//! sender runs under the job supervisor, and its counters are Prometheus series on `/metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use remote_write::{RemoteWrite, ServerRef};

use crate::fleet::model::ServerMeta;
use crate::fleet::sink::SampleSink;
use crate::services::Services;

/// The fleet's sink that queues each stored sample for the receiver (never waits).
pub struct RemoteWriteSink(pub RemoteWrite);

impl SampleSink for RemoteWriteSink {
    fn stored(&self, server: &ServerMeta, timestamp_ms: i64, values: &BTreeMap<String, f64>) {
        let name = if server.name.is_empty() { server.id.as_str() } else { server.name.as_str() };
        let r = ServerRef {
            id: &server.id,
            name,
            server_type: server.server_type.as_str(),
            source: server.source.as_str(),
        };
        self.0.push(&r, timestamp_ms, values.iter().map(|(k, v)| (k.as_str(), *v)));
    }
}

/// With `remote_write.url` set: registers the sink and the series, and starts the sender.
pub fn start(services: &Services) -> anyhow::Result<()> {
    let config = &services.config.remote_write;
    if !config.is_enabled() {
        return Ok(());
    }
    let rw = RemoteWrite::new_counted(config, services.budget.egress.outbound("remote_write"))?;
    services.fleet.add_sink(Arc::new(RemoteWriteSink(rw.clone())));
    services.telemetry.exporter.with_registry(|r| r.register_collector(Box::new(RemoteWriteSeries(rw.clone()))));
    tracing::info!(url = rw.url(), "remote write on");
    services.supervisor.spawn("remote-write", move |ctx| {
        let rw = rw.clone();
        async move {
            let beat = ctx.heartbeat.clone();
            rw.run(ctx.cancel, move || beat.beat()).await;
            Ok(())
        }
    });
    Ok(())
}

/// The sender's counters at scrape time.
struct RemoteWriteSeries(RemoteWrite);

impl std::fmt::Debug for RemoteWriteSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteWriteSeries")
    }
}

impl Collector for RemoteWriteSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.stats();
        let counters: [(&str, &str, u64); 7] = [
            ("openmanager_remote_write_samples_queued", "Samples queued for the receiver", s.samples_queued),
            ("openmanager_remote_write_samples_sent", "Samples the receiver acknowledged", s.samples_sent),
            (
                "openmanager_remote_write_samples_dropped",
                "Samples dropped because the queue was full (receiver slow or away)",
                s.samples_dropped_queue_full,
            ),
            (
                "openmanager_remote_write_samples_rejected",
                "Samples the receiver refused (4xx other than 429; not retried)",
                s.samples_rejected,
            ),
            ("openmanager_remote_write_requests", "Requests made, retries included", s.requests),
            ("openmanager_remote_write_requests_failed", "Requests that did not end in a 2xx", s.requests_failed),
            ("openmanager_remote_write_bytes_sent", "Request bodies sent, compressed, in bytes", s.bytes_sent),
        ];
        for (name, help, v) in counters {
            let m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(v).encode(m)?;
        }
        let m = encoder.encode_descriptor(
            "openmanager_remote_write_queue_samples",
            "Samples waiting to be sent",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(s.queue_len as i64).encode(m)?;
        Ok(())
    }
}
