//! The systemd watchdog job: when systemd asked for one, pings at half its period, but only while
//! every health check passes (the runtime runs this job, the store writer completed a write
//! recently, the collector sampled recently), so a wedged process stops pinging and is restarted.

use crate::lifecycle::systemd;
use crate::services::Services;

pub fn start(services: &Services) {
    let Some(period) = systemd::watchdog_period() else { return };
    let s = services.clone();
    services.supervisor.spawn_periodic("watchdog", period, move || {
        let (healthy, report) = s.health.report();
        if !s.health.ready() {
            // Still starting (or shutting down): READY=1 has not been sent, nothing to vouch for.
        } else if healthy {
            systemd::notify_watchdog();
        } else {
            tracing::error!(checks = ?report, "unhealthy: withholding the watchdog ping so systemd restarts us");
        }
        async { Ok(()) }
    });
}
