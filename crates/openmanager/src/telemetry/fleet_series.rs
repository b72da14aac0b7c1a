//! Prometheus series computed at scrape time from the fleet: one gauge family per metric, labelled by
//! server id, name, type and source, and node_exporter-style series for this host.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::clock;
use crate::fleet::Fleet;
use crate::fleet::Snapshot;
use crate::fleet::model::{Source, Status};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    server_id: String,
    name: String,
    #[prometheus(flatten)]
    kind: KindLabels,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    r#type: &'static str,
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MountLabels {
    mountpoint: String,
}

/// Reads the fleet at scrape time.
pub struct FleetSeries(pub Arc<Fleet>);

impl std::fmt::Debug for FleetSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetSeries")
    }
}

type Getter = fn(&Snapshot) -> Option<f64>;

const SERVER_GAUGES: &[(&str, &str, Getter)] = &[
    ("openmanager_server_cpu_percent", "CPU use, percent", |s| Some(s.view.cpu)),
    ("openmanager_server_memory_percent", "Memory use, percent", |s| Some(s.view.memory)),
    ("openmanager_server_disk_percent", "Disk use, percent", |s| Some(s.view.disk)),
    ("openmanager_server_network_receive_bytes_per_second", "Received, bytes per second", |s| Some(s.view.network_in)),
    ("openmanager_server_network_transmit_bytes_per_second", "Sent, bytes per second", |s| Some(s.view.network_out)),
    ("openmanager_server_load1", "Load average over 1 minute", |s| s.live.map(|l| l.load[0])),
    ("openmanager_server_up", "1 unless the server is offline or unknown", |s| {
        Some(if matches!(s.view.status, Status::Offline | Status::Unknown) { 0.0 } else { 1.0 })
    }),
    ("openmanager_server_alerts", "Firing alerts", |s| Some(f64::from(s.view.alerts))),
];

impl Collector for FleetSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snaps = self.0.snapshots(clock::now_millis());
        for (name, help, get) in SERVER_GAUGES {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for s in &snaps {
                let Some(v) = get(s) else { continue };
                let labels = ServerLabels {
                    server_id: s.view.id.clone(),
                    name: s.view.name.clone(),
                    kind: KindLabels { r#type: s.view.server_type.as_str(), source: s.view.source.as_str() },
                };
                ConstGauge::new(v).encode(family.encode_family(&labels)?)?;
            }
        }
        if let Some(host) = snaps.iter().find(|s| s.view.source == Source::Local) {
            encode_host(&mut encoder, host)?;
        }
        Ok(())
    }
}

/// This host with node_exporter's names, so existing dashboards work.
fn encode_host(encoder: &mut DescriptorEncoder, host: &Snapshot) -> Result<(), std::fmt::Error> {
    let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, v: f64| -> Result<(), std::fmt::Error> {
        ConstGauge::new(v).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
    };
    if let Some(live) = host.live {
        gauge(encoder, "node_load1", "1m load average.", live.load[0])?;
        gauge(encoder, "node_load5", "5m load average.", live.load[1])?;
        gauge(encoder, "node_load15", "15m load average.", live.load[2])?;
        gauge(encoder, "node_procs", "Processes.", live.processes as f64)?;
    }
    let Some(detail) = &host.detail else { return Ok(()) };
    let mut size = encoder.encode_descriptor(
        "node_filesystem_size_bytes",
        "Filesystem size in bytes.",
        None,
        MetricType::Gauge,
    )?;
    for d in &detail.disks {
        ConstGauge::new(d.total_bytes as f64)
            .encode(size.encode_family(&MountLabels { mountpoint: d.mount.clone() })?)?;
    }
    let mut used = encoder.encode_descriptor(
        "node_filesystem_used_bytes",
        "Filesystem space used in bytes.",
        None,
        MetricType::Gauge,
    )?;
    for d in &detail.disks {
        ConstGauge::new(d.used_bytes as f64)
            .encode(used.encode_family(&MountLabels { mountpoint: d.mount.clone() })?)?;
    }
    let mut rx = encoder.encode_descriptor(
        "node_network_receive_bytes",
        "Network device statistic receive_bytes.",
        None,
        MetricType::Counter,
    )?;
    for i in &detail.interfaces {
        prometheus_client::metrics::counter::ConstCounter::new(i.rx_bytes)
            .encode(rx.encode_family(&DeviceLabels { device: i.name.clone() })?)?;
    }
    let mut tx = encoder.encode_descriptor(
        "node_network_transmit_bytes",
        "Network device statistic transmit_bytes.",
        None,
        MetricType::Counter,
    )?;
    for i in &detail.interfaces {
        prometheus_client::metrics::counter::ConstCounter::new(i.tx_bytes)
            .encode(tx.encode_family(&DeviceLabels { device: i.name.clone() })?)?;
    }
    Ok(())
}
