//! The hub's overview as the web app reads it (`/api/metrics`, also pushed as the WebSocket's
//! `system_update` and returned by the `fleet_summary` tool): this host, the server's own request
//! statistics, AI query totals and a fleet summary.

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock;
use crate::fleet::listing::Summary;
use crate::fleet::model::{ServerView, Source, Status, significant3};
use crate::services::Services;
use crate::telemetry::ai_totals::AiMetrics;
use crate::telemetry::stats::ApplicationMetrics;

#[derive(Serialize, ToSchema)]
pub struct MetricsBody {
    /// This host (zeros when self-monitoring is off or before the first sample).
    pub system: SystemMetrics,
    pub application: ApplicationMetrics,
    pub ai: AiMetrics,
    pub fleet: FleetMetrics,
    pub timestamp: String,
}

#[derive(Serialize, ToSchema, Default, PartialEq)]
pub struct SystemMetrics {
    /// Percent 0-100.
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub network: NetworkRates,
}

#[derive(Serialize, ToSchema, Default, PartialEq)]
pub struct NetworkRates {
    /// Bytes per second.
    #[serde(rename = "in")]
    pub rx: f64,
    #[serde(rename = "out")]
    pub tx: f64,
}

#[derive(Serialize, ToSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FleetMetrics {
    pub total_servers: usize,
    pub online_servers: usize,
    pub warning_servers: usize,
    pub critical_servers: usize,
    pub offline_servers: usize,
    pub average_cpu: f64,
    pub average_memory: f64,
    pub average_disk: f64,
    pub total_alerts: u64,
}

pub fn fleet_metrics(views: &[&ServerView]) -> FleetMetrics {
    let s = Summary::of(views, 0);
    // Averages over servers with data; offline and unknown ones would drag them to zero.
    let reporting: Vec<&&ServerView> =
        views.iter().filter(|v| !matches!(v.status, Status::Offline | Status::Unknown)).collect();
    let avg = |f: fn(&ServerView) -> f64| {
        if reporting.is_empty() {
            0.0
        } else {
            (reporting.iter().map(|v| f(v)).sum::<f64>() / reporting.len() as f64 * 10.0).round() / 10.0
        }
    };
    FleetMetrics {
        total_servers: s.total_servers,
        online_servers: s.healthy_count,
        warning_servers: s.warning_count,
        critical_servers: s.critical_count,
        offline_servers: s.offline_count,
        average_cpu: avg(|v| v.cpu),
        average_memory: avg(|v| v.memory),
        average_disk: avg(|v| v.disk),
        total_alerts: views.iter().map(|v| u64::from(v.alerts)).sum(),
    }
}

/// The request statistics as the dashboard shows them: uptime in whole seconds, times at 3
/// significant figures. This body is polled every few seconds; digits nobody reads cost bytes
/// after compression on every poll.
fn at_display_precision(mut a: ApplicationMetrics) -> ApplicationMetrics {
    a.uptime = a.uptime.floor();
    for t in [&mut a.response_time, &mut a.response_time_p50, &mut a.response_time_p95, &mut a.response_time_p99] {
        *t = significant3(*t);
    }
    a
}

/// The overview now.
pub fn build(services: &Services) -> MetricsBody {
    let views = services.fleet.views();
    let refs: Vec<&ServerView> = views.iter().collect();
    let system = views
        .iter()
        .find(|v| v.source == Source::Local)
        .map(|v| SystemMetrics {
            cpu: v.cpu,
            memory: v.memory,
            disk: v.disk,
            network: NetworkRates { rx: significant3(v.network_in), tx: significant3(v.network_out) },
        })
        .unwrap_or_default();
    let t = &services.telemetry;
    MetricsBody {
        system,
        application: at_display_precision(t.stats.snapshot(services.started.elapsed())),
        ai: t.ai.snapshot(),
        fleet: fleet_metrics(&refs),
        timestamp: clock::now_rfc3339(),
    }
}
