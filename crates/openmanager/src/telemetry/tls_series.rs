//! Prometheus series of the HTTPS certificate, read at scrape time from the certificate manager:
//! its expiry and lifetime, whether renewal is failing, and the renewal and reload counters. Nothing
//! is exported while TLS is off.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

pub struct TlsSeries(pub tls::Tls);

impl std::fmt::Debug for TlsSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsSeries")
    }
}

impl Collector for TlsSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if self.0.settings().mode == tls::Mode::Off {
            return Ok(());
        }
        let status = self.0.status();
        if let (Some(not_after), Some(not_before)) = (status.not_after, status.not_before) {
            let family = encoder.encode_descriptor(
                "openmanager_tls_certificate_expiry_timestamp_seconds",
                "notAfter of the certificate being served, seconds since the epoch",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(not_after.as_second()).encode(family)?;
            let family = encoder.encode_descriptor(
                "openmanager_tls_certificate_lifetime_seconds",
                "notAfter minus notBefore of the certificate being served",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(not_after.as_second() - not_before.as_second()).encode(family)?;
        }
        let failing = matches!(status.state, tls::State::RenewalFailing | tls::State::Expired | tls::State::Missing);
        let family = encoder.encode_descriptor(
            "openmanager_tls_renewal_failing",
            "1 while the certificate has less than a third of its lifetime left (or none) and renewal fails",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(i64::from(failing && status.last_error.is_some())).encode(family)?;
        let mut family = encoder.encode_descriptor(
            "openmanager_tls_renewals",
            "ACME renewal attempts by result",
            None,
            MetricType::Counter,
        )?;
        for (result, n) in [("success", status.renewals_succeeded), ("failure", status.renewals_failed)] {
            ConstCounter::new(n).encode(family.encode_family(&ResultLabels { result })?)?;
        }
        let family = encoder.encode_descriptor(
            "openmanager_tls_reloads",
            "Certificate files reloaded after a change (files mode)",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(status.reloads).encode(family)?;
        Ok(())
    }
}
