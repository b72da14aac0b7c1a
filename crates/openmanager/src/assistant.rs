//! What the built-in local engine knows: the live fleet and, for trend and forecast questions, the
//! history the question needs (from the store, or computed for simulated servers). Wired into the
//! AI router as its `FactsSource`, through a weak reference since the router lives in the state.

use std::sync::Weak;

use ai::local::{Facts, LocalEngine, Series, ServerFact};
use ai::{BoxFuture, FactsSource};

use crate::clock;
use crate::fleet::model::Source;
use crate::fleet::simulated;
use crate::state::Shared;
use protocol::metric;

/// Points per series handed to the engine: enough for a fit, bounded in memory.
const MAX_POINTS: usize = 1_000;

pub struct FleetFacts(pub Weak<Shared>);

impl FactsSource for FleetFacts {
    fn facts<'a>(&'a self, query: &'a str) -> BoxFuture<'a, Facts> {
        Box::pin(async move {
            let Some(state) = self.0.upgrade() else { return Facts::default() };
            gather(&state, query).await
        })
    }
}

async fn gather(state: &Shared, query: &str) -> Facts {
    let now = clock::now_millis();
    let snaps = state.fleet.snapshots(now);
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
    let engine = LocalEngine::new().with_known_servers(servers.iter().map(|s| s.id.clone()));
    let mut series = Vec::new();
    if let Some(need) = engine.understand(query).history_need() {
        let ids: Vec<(String, Source)> = match &need.server {
            Some(id) => snaps.iter().filter(|s| &s.view.id == id).map(|s| (s.view.id.clone(), s.view.source)).collect(),
            None => snaps.iter().map(|s| (s.view.id.clone(), s.view.source)).collect(),
        };
        let from = now - need.range_ms;
        let key = need.metric.key();
        for (id, source) in ids {
            let points = match (source, state.fleet.simulation_seed()) {
                (Source::Simulated, Some(seed)) => {
                    let step = (need.range_ms / MAX_POINTS as i64).max(5_000);
                    simulated::history(&id, from, now, step, seed)
                        .iter()
                        .filter_map(|l| {
                            value(key, l.cpu, l.memory, l.disk, l.net_in + l.net_out, l.load[0]).map(|v| (l.at_ms, v))
                        })
                        .collect()
                }
                _ => stored(state, &id, key, from, now).await,
            };
            if !points.is_empty() {
                series.push(Series { server_id: id, metric: key.to_string(), points });
            }
        }
    }
    Facts { now_ms: now, servers, alerts: Vec::new(), series }
}

fn value(key: &str, cpu: Option<f64>, memory: Option<f64>, disk: Option<f64>, network: f64, load: f64) -> Option<f64> {
    match key {
        "cpu" => cpu,
        "memory" => memory,
        "disk" => disk,
        "network" => Some(network),
        "load1" => Some(load),
        _ => None,
    }
}

async fn stored(state: &Shared, id: &str, key: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
    let names: &[&str] = match key {
        "network" => &[metric::NET_RX, metric::NET_TX],
        "cpu" => &[metric::CPU],
        "memory" => &[metric::MEMORY],
        "disk" => &[metric::DISK],
        _ => &[metric::LOAD1],
    };
    match state.store.history(id, names, from, to, MAX_POINTS, None).await {
        Ok(h) => h
            .points
            .iter()
            .filter_map(|p| {
                let sum: f64 = names.iter().filter_map(|n| p.values.get(*n).map(|s| s.avg)).sum();
                names.iter().any(|n| p.values.contains_key(*n)).then_some((p.timestamp_ms, sum))
            })
            .collect(),
        Err(e) => {
            tracing::warn!(server = id, error = %e, "history for the assistant failed");
            Vec::new()
        }
    }
}
