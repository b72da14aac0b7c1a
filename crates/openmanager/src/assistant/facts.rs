//! What the built-in local engine knows, its `FactsSource`: the live fleet, the alerts firing now,
//! and, for trend and forecast questions, the history the question needs (through the fleet's one
//! series function). Built from the services below the gateway, so nothing points back up.

use std::sync::Arc;

use ai::local::{AlertFact, Facts, LocalEngine, Series, ServerFact};
use ai::{BoxFuture, FactsSource};

use crate::alerts::{AlertFilter, AlertState, Alerting};
use crate::clock;
use crate::fleet::Fleet;
use crate::fleet::metric::Metric;

/// Points per series handed to the engine: enough for a fit, bounded in memory.
const MAX_POINTS: usize = 1_000;

pub struct HubFacts {
    pub fleet: Arc<Fleet>,
    pub alerting: Arc<Alerting>,
}

impl FactsSource for HubFacts {
    fn facts<'a>(&'a self, query: &'a str) -> BoxFuture<'a, Facts> {
        Box::pin(self.gather(query))
    }
}

impl HubFacts {
    async fn gather(&self, query: &str) -> Facts {
        let now = clock::now_millis();
        let snaps = self.fleet.snapshots(now);
        let servers: Vec<ServerFact> = snaps
            .iter()
            .map(|s| ServerFact {
                id: s.view.id.clone(),
                name: s.view.name.clone(),
                server_type: s.view.server_type.as_str().to_string(),
                status: serde_json::to_value(s.view.status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                cpu: s.view.cpu,
                memory: s.view.memory,
                disk: s.view.disk,
                network_in: s.view.network_in,
                network_out: s.view.network_out,
                load1: s.live.map(|l| l.load[0]).unwrap_or(0.0),
                uptime_secs: s.view.uptime,
                disk_total_bytes: (s.view.specs.disk_gb * 1e9) as u64,
            })
            .collect();
        let firing = AlertFilter { state: Some(AlertState::Firing), ..AlertFilter::default() };
        let alerts = self
            .alerting
            .engine()
            .list(&firing, 200)
            .into_iter()
            .map(|a| AlertFact {
                server_id: a.server_id.clone(),
                severity: a.severity.as_str().to_string(),
                title: format!("{} on {}", a.rule_name, a.server_name),
                started_at_ms: a.fired_at.unwrap_or(a.started_at),
                value: a.value,
            })
            .collect();
        let engine = LocalEngine::new().with_known_servers(servers.iter().map(|s| s.id.clone()));
        let mut series = Vec::new();
        if let Some(need) = engine.understand(query).history_need() {
            let ids: Vec<String> = match &need.server {
                Some(id) => snaps.iter().filter(|s| &s.view.id == id).map(|s| s.view.id.clone()).collect(),
                None => snaps.iter().map(|s| s.view.id.clone()).collect(),
            };
            let key = need.metric.key();
            if let Some(metric) = Metric::parse(key) {
                for id in ids {
                    match self.fleet.series(&id, &[metric], now - need.range_ms, now, MAX_POINTS).await {
                        Ok(mut all) => {
                            if let Some((_, points)) = all.pop()
                                && !points.is_empty()
                            {
                                series.push(Series { server_id: id, metric: key.to_string(), points });
                            }
                        }
                        Err(e) => tracing::warn!(server = id, error = %e, "history for the assistant failed"),
                    }
                }
            }
        }
        Facts { now_ms: now, servers, alerts, series }
    }
}
