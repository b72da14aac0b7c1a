//! The alert evaluation job: every `alerts.interval_seconds` it observes the fleet (with the hub's own
//! figures: projected egress, AI error rate, response time over the last interval), runs the
//! engine and sets each server's firing count in the fleet.

use std::time::Duration;

use parking_lot::Mutex;

use crate::alerts::observation::{HubFigures, check_observations, observations};
use crate::component_health::Check;
use crate::services::Services;

/// Counters behind the hub's windowed figures.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    ai_queries: u64,
    ai_ok: u64,
    requests: u64,
    micros: u64,
}

fn hub_figures(services: &Services, previous: &Mutex<Totals>, now_ms: i64) -> HubFigures {
    let (ai_queries, ai_ok) = services.telemetry.ai.counts();
    let (requests, micros) = services.telemetry.stats.totals();
    let now = Totals { ai_queries, ai_ok, requests, micros };
    let before = std::mem::replace(&mut *previous.lock(), now);
    let dq = now.ai_queries.saturating_sub(before.ai_queries);
    let dok = now.ai_ok.saturating_sub(before.ai_ok);
    let dr = now.requests.saturating_sub(before.requests);
    let dm = now.micros.saturating_sub(before.micros);
    HubFigures {
        egress_projected: services.budget.projected_egress(now_ms),
        // No queries in the interval means no errors, not an unknown rate.
        ai_error_rate: Some(if dq == 0 { 0.0 } else { dq.saturating_sub(dok) as f64 / dq as f64 }),
        response_time_ms: (dr > 0).then(|| dm as f64 / dr as f64 / 1000.0),
        store_failing: services.health.check("store").map(|c| if c == Check::Ok { 0.0 } else { 1.0 }),
        tls_renewal_failing: tls_renewal_failing(&services.tls),
    }
}

/// 1 when the certificate has less than a third of its lifetime left (or expired) and the last
/// renewal attempt failed; `None` while TLS is off.
fn tls_renewal_failing(manager: &tls::Tls) -> Option<f64> {
    if manager.settings().mode == tls::Mode::Off {
        return None;
    }
    let s = manager.status();
    let failing = s.state == tls::State::RenewalFailing
        || (matches!(s.state, tls::State::Expired | tls::State::Missing) && s.last_error.is_some());
    Some(if failing { 1.0 } else { 0.0 })
}

/// What the rules see at `now_ms`: servers and checks, without the items of a maintenance window
/// in effect (they raise nothing new, and absent values leave their open alerts as they are), and
/// that window set.
fn gather(
    services: &Services,
    previous: &Mutex<Totals>,
    now_ms: i64,
) -> (Vec<crate::alerts::Observation>, crate::maintenance::Active) {
    let fleet = &services.fleet;
    let snapshots = fleet.snapshots(now_ms);
    let hub = hub_figures(services, previous, now_ms);
    let mut obs = observations(&snapshots, fleet.simulation_seed(), hub);
    obs.extend(check_observations(&services.checks.list(now_ms)));
    let maintenance = services.maintenance.active(now_ms);
    obs.retain(|o| !maintenance.covers(&o.server_id));
    (obs, maintenance)
}

/// One evaluation at `now_ms` (the job's step; tests call it with made-up times). Alerts already
/// open for items of a window in effect are marked `maintenance` and notify nobody meanwhile.
pub fn tick(services: &Services, previous: &Mutex<Totals>, now_ms: i64) {
    let (obs, maintenance) = gather(services, previous, now_ms);
    let (_, counts) = services.alerting.evaluate(now_ms, &obs, &|subject| maintenance.covers(subject));
    services.fleet.set_alert_counts(counts);
}

/// Like [`tick`] (the same observations, checks and maintenance windows included), but sends and
/// publishes nothing: the events, for a multi-hub evaluator to gate (see `scaleout::alert_lease`).
pub fn tick_quiet(services: &Services, previous: &Mutex<Totals>, now_ms: i64) -> Vec<crate::alerts::Event> {
    let (obs, maintenance) = gather(services, previous, now_ms);
    let (events, counts) = services.alerting.evaluate_quiet(now_ms, &obs, &|subject| maintenance.covers(subject));
    services.fleet.set_alert_counts(counts);
    events
}

/// Starts the notifier and, when alerts are enabled, the evaluation loop (with Redis configured,
/// `scaleout::alert_lease` runs it on one hub at a time instead).
pub fn start(services: &Services) {
    services.alerting.notifier().start(&services.supervisor);
    if !services.config.alerts.enabled || services.cluster.is_some() {
        return;
    }
    let s = services.clone();
    let previous = std::sync::Arc::new(Mutex::new(Totals::default()));
    let every = Duration::from_secs(services.config.alerts.interval_seconds);
    services.supervisor.spawn_periodic("alerts", every, move || {
        tick(&s, &previous, crate::clock::now_millis());
        async { Ok(()) }
    });
}
