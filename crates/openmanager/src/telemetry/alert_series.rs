//! Prometheus series computed at scrape time from the hub's own state: firing alerts by severity,
//! alert events by kind, this month's egress against the plan, and each AI engine's quota left and
//! circuit state.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::alerts::Alerting;
use crate::budget::Budget;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabels {
    severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabels {
    engine: String,
    window: &'static str,
    unit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EngineLabels {
    engine: String,
}

/// Reads alerting, the gateway and the budget at scrape time.
pub struct AlertSeries {
    pub alerting: Arc<Alerting>,
    pub gateway: ai::Router,
    pub budget: Arc<Budget>,
}

impl std::fmt::Debug for AlertSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertSeries")
    }
}

impl Collector for AlertSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        {
            let a = &self.alerting;
            let mut family =
                encoder.encode_descriptor("openmanager_alerts_firing", "Firing alerts", None, MetricType::Gauge)?;
            for (severity, n) in a.firing_by_severity() {
                let labels = SeverityLabels { severity: severity.as_str() };
                ConstGauge::new(n as f64).encode(family.encode_family(&labels)?)?;
            }
            let mut family = encoder.encode_descriptor(
                "openmanager_alert_events",
                "Alert events: fired, resolved, repeated notices",
                None,
                MetricType::Counter,
            )?;
            use std::sync::atomic::Ordering::Relaxed;
            for (kind, n) in
                [("fired", &a.counts.fired), ("resolved", &a.counts.resolved), ("repeat", &a.counts.repeated)]
            {
                ConstCounter::new(n.load(Relaxed)).encode(family.encode_family(&KindLabels { kind })?)?;
            }
        }
        {
            let quotas = self.gateway.quotas();
            let mut family = encoder.encode_descriptor(
                "openmanager_ai_quota_remaining",
                "Requests or tokens an engine may still use in the window (only configured limits)",
                None,
                MetricType::Gauge,
            )?;
            for (engine, q, _) in &quotas {
                let windows = [
                    ("minute", "requests", q.minute_requests.map(u64::from)),
                    ("day", "requests", q.day_requests.map(u64::from)),
                    ("minute", "tokens", q.minute_tokens),
                ];
                for (window, unit, left) in windows {
                    if let Some(left) = left {
                        let labels = QuotaLabels { engine: engine.clone(), window, unit };
                        ConstGauge::new(left as f64).encode(family.encode_family(&labels)?)?;
                    }
                }
            }
            let mut family = encoder.encode_descriptor(
                "openmanager_ai_circuit_open",
                "1 while an engine's circuit breaker is open or half-open, and 1 while its daily quota is spent",
                None,
                MetricType::Gauge,
            )?;
            for (engine, q, circuit) in &quotas {
                let open = *circuit != ai::CircuitState::Closed || q.day_exhausted;
                ConstGauge::new(if open { 1.0 } else { 0.0 })
                    .encode(family.encode_family(&EngineLabels { engine: engine.clone() })?)?;
            }
        }
        let now = crate::clock::now_millis();
        if let Some(ledger) = self.budget.ledger() {
            let month = self.budget.month(now);
            if ledger.month == month.key {
                let mut family = encoder.encode_descriptor(
                    "openmanager_budget_egress_bytes",
                    "Egress this month: month_to_date, projected (at month end) and limit",
                    None,
                    MetricType::Gauge,
                )?;
                let limit = self.budget.config().egress_limit_bytes as f64;
                for (kind, v) in [
                    ("month_to_date", ledger.egress_bytes as f64),
                    ("projected", ledger.projected_egress(now, &month) as f64),
                    ("limit", limit),
                ] {
                    ConstGauge::new(v).encode(family.encode_family(&KindLabels { kind })?)?;
                }
                let mut family = encoder.encode_descriptor(
                    "openmanager_budget_vm_hours",
                    "VM hours used this month",
                    None,
                    MetricType::Gauge,
                )?;
                ConstGauge::new(ledger.vm_hours(now, &month))
                    .encode(family.encode_family(&KindLabels { kind: "used" })?)?;
            }
        }
        Ok(())
    }
}
