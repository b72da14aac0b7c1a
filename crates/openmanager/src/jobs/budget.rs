//! The budget job: reads this host's interface counters from the self-monitor every
//! `budget.interval_seconds` into the month's ledger, saved in the store (only with
//! self-monitoring: the counters come from it).

use std::time::Duration;

use crate::services::Services;

pub fn start(services: &Services) {
    if !services.config.fleet.monitor_self {
        return;
    }
    let s = services.clone();
    let every = Duration::from_secs(services.config.budget.interval_seconds);
    services.supervisor.spawn_periodic("budget", every, move || {
        let s = s.clone();
        async move { s.budget.tick(&s.fleet, &s.store).await }
    });
}
