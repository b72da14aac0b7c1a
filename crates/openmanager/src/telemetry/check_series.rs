//! Prometheus series of service checks, computed at scrape time under blackbox_exporter's names
//! (`probe_success`, `probe_duration_seconds`, `probe_http_status_code`,
//! `probe_ssl_earliest_cert_expiry`), so dashboards made for it work; labelled by check id, name and
//! where it ran.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::checks::Checks;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    check: String,
    name: String,
    r#where: String,
}

/// Reads the checks' newest results at scrape time.
pub struct CheckSeries(pub Arc<Checks>);

impl std::fmt::Debug for CheckSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckSeries")
    }
}

type Getter = fn(&probe::Outcome) -> Option<f64>;

const GAUGES: &[(&str, &str, Getter)] = &[
    ("probe_success", "Whether the check's newest probe succeeded", |o| Some(if o.up { 1.0 } else { 0.0 })),
    ("probe_duration_seconds", "How long the newest probe took, seconds", |o| Some(o.latency_ms / 1000.0)),
    ("probe_http_status_code", "HTTP status of the newest probe's last response", |o| o.status_code.map(f64::from)),
    ("probe_ssl_earliest_cert_expiry", "notAfter of the leaf certificate, Unix seconds", |o| {
        o.cert_not_after.map(|t| t as f64)
    }),
];

impl Collector for CheckSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let latest = self.0.latest();
        for (name, help, get) in GAUGES {
            if !latest.iter().any(|(_, _, r)| get(&r.outcome).is_some()) {
                continue;
            }
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (id, check_name, result) in &latest {
                let Some(v) = get(&result.outcome) else { continue };
                let labels =
                    CheckLabels { check: id.clone(), name: check_name.clone(), r#where: result.location.clone() };
                // Whole numbers (success, status codes, expiry times) print as blackbox_exporter's do.
                if v.fract() == 0.0 && v.abs() < 9e15 {
                    ConstGauge::new(v as i64).encode(family.encode_family(&labels)?)?;
                } else {
                    ConstGauge::new(v).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}
