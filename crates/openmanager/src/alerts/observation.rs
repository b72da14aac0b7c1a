//! What the rules see: one [`Observation`] per server from the fleet's snapshots, plus the hub's own
//! figures (projected egress, AI error rate, response time) on this host's observation. Pure.

use std::collections::BTreeMap;

use super::engine::{Observation, ProcessInfo};
use super::rule::Metric;
use crate::fleet::Snapshot;
use crate::fleet::detail::ServerDetail;
use crate::fleet::model::{Source, Status};

/// Figures that belong to the hub rather than to a server; `None` leaves their rules alone.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HubFigures {
    /// Bytes at the month's end.
    pub egress_projected: Option<f64>,
    /// 0-1 over the last interval.
    pub ai_error_rate: Option<f64>,
    /// Mean milliseconds over the last interval.
    pub response_time_ms: Option<f64>,
    /// 1 while the store cannot accept writes, else 0.
    pub store_failing: Option<f64>,
    /// 1 while the certificate is in its last third and renewal fails; `None` while TLS is off.
    pub tls_renewal_failing: Option<f64>,
}

/// Servers in maintenance or never heard from are left out; an offline server reports only
/// `offline = 1` (its last values are stale and must not keep other alerts firing or fire new ones).
pub fn observations(snapshots: &[Snapshot], seed: Option<u64>, hub: HubFigures) -> Vec<Observation> {
    let mut out = Vec::with_capacity(snapshots.len());
    for snap in snapshots {
        let view = &snap.view;
        let mut values = BTreeMap::new();
        match view.status {
            Status::Maintenance | Status::Unknown => continue,
            Status::Offline => {
                values.insert(Metric::Offline, 1.0);
            }
            Status::Online | Status::Warning | Status::Critical => {
                values.insert(Metric::Offline, 0.0);
                let mut known: Vec<(Metric, Option<f64>)> = Vec::new();
                if let Some(live) = &snap.live {
                    known.extend(Metric::SERVER.iter().map(|m| (*m, m.server_metric().and_then(|s| s.of_live(live)))));
                }
                if view.source == Source::Local {
                    known.extend([
                        (Metric::EgressMonth, hub.egress_projected),
                        (Metric::AiErrorRate, hub.ai_error_rate),
                        (Metric::ResponseTime, hub.response_time_ms),
                        (Metric::StoreFailing, hub.store_failing),
                        (Metric::TlsRenewalFailing, hub.tls_renewal_failing),
                    ]);
                }
                values.extend(known.into_iter().filter_map(|(m, v)| v.map(|v| (m, v))));
            }
        }
        let top_processes = match (&snap.detail, view.source) {
            (Some(d), _) => d.top_processes.iter().map(process).collect(),
            (None, Source::Simulated) => ServerDetail::of(snap, seed).top_processes.iter().map(process).collect(),
            (None, _) => Vec::new(),
        };
        out.push(Observation {
            server_id: view.id.clone(),
            server_name: view.name.clone(),
            server_type: view.server_type,
            source: view.source,
            values,
            top_processes,
        });
    }
    out
}

/// One observation per check (`check:<id>`), with the `check.*` metrics: `check.up` 1 or 0 while
/// the check's state is up or down (pending, unknown and maintenance leave its rules as they are),
/// the slowest place's latency and the soonest certificate expiry.
pub fn check_observations(checks: &[crate::checks::wire::CheckView]) -> Vec<Observation> {
    use crate::checks::wire::CheckStatus;
    let mut out = Vec::with_capacity(checks.len());
    for c in checks {
        if !c.spec.enabled || c.state.status == CheckStatus::Maintenance {
            continue;
        }
        let mut values = BTreeMap::new();
        match c.state.status {
            CheckStatus::Up => {
                values.insert(Metric::CheckUp, 1.0);
            }
            CheckStatus::Down => {
                values.insert(Metric::CheckUp, 0.0);
            }
            _ => {}
        }
        let latency = c.locations.iter().filter_map(|l| l.latency_ms).reduce(f64::max);
        if let Some(v) = latency {
            values.insert(Metric::CheckLatency, v);
        }
        if let Some(days) = c.locations.iter().filter_map(|l| l.cert_days_left).min() {
            values.insert(Metric::CheckCertDays, days as f64);
        }
        out.push(Observation {
            server_id: super::rule::check_subject(c.spec.id.as_deref().unwrap_or_default()),
            server_name: c.spec.name.clone(),
            server_type: crate::fleet::model::ServerType::Other,
            source: Source::Static,
            values,
            top_processes: Vec::new(),
        });
    }
    out
}

fn process(p: &protocol::Process) -> ProcessInfo {
    ProcessInfo { pid: p.pid, name: p.name.clone(), cpu: p.cpu, memory_bytes: p.memory_bytes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{Registry as Fleet, Thresholds};

    #[test]
    fn simulated_servers_are_observed_with_processes() {
        let fleet = Fleet::new(Thresholds::default(), Some(42));
        let now = 1_800_000_000_000;
        let hub = HubFigures { egress_projected: Some(5.0), ..HubFigures::default() };
        let obs = observations(&fleet.snapshots(now), Some(42), hub);
        assert_eq!(obs.len(), 10);
        for o in &obs {
            assert_eq!(o.values.get(&Metric::Offline), Some(&0.0));
            assert!(o.values.contains_key(&Metric::Cpu), "{}", o.server_id);
            assert!(!o.top_processes.is_empty());
            // Hub figures belong to this host only.
            assert!(!o.values.contains_key(&Metric::EgressMonth));
        }
    }

    #[test]
    fn offline_servers_report_only_offline() {
        let fleet = Fleet::new(Thresholds::default(), None);
        let meta = crate::fleet::simulated::metas().remove(0);
        let mut meta = meta;
        meta.source = Source::Agent;
        meta.id = "agent-1".into();
        fleet.upsert(meta).unwrap();
        let live = crate::fleet::model::Live { at_ms: 1_000, cpu: Some(99.0), ..Default::default() };
        fleet.update("agent-1", live, None);
        let obs = observations(&fleet.snapshots(1_000 + 60_000), None, HubFigures::default());
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].values, BTreeMap::from([(Metric::Offline, 1.0)]));
        let fresh = observations(&fleet.snapshots(2_000), None, HubFigures::default());
        assert_eq!(fresh[0].values.get(&Metric::Cpu), Some(&99.0));
    }
}
