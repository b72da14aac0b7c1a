//! systemd notifications (`READY=1`, `STOPPING=1`, `WATCHDOG=1`), sent only when `NOTIFY_SOCKET` is
//! set. The watchdog ping is sent only while every health check passes (the runtime runs this job,
//! the store writer completed a write recently, the collector sampled recently), so a wedged process
//! stops pinging and systemd restarts it.

use std::time::Duration;

use crate::services::Services;

/// Tells systemd the service is ready to serve.
pub fn notify_ready() {
    send(&[sd_notify::NotifyState::Ready]);
}

/// Tells systemd the service is stopping.
pub fn notify_stopping() {
    send(&[sd_notify::NotifyState::Stopping]);
}

/// Tells systemd that `pid` (our hand-over successor) is the service's main process now. Accepted
/// because we are still the main process when we send it; after it, systemd watches `pid` (its
/// exit, its watchdog pings), and our own exit is that of a helper.
pub fn notify_main_pid(pid: u32) {
    let status = format!("serving (pid {pid}, handed over)");
    send(&[sd_notify::NotifyState::MainPid(pid), sd_notify::NotifyState::Status(&status)]);
}

/// A status line for `systemctl status` (and for `deploy.sh`, which reads it after a reload).
pub fn notify_status(text: &str) {
    send(&[sd_notify::NotifyState::Status(text)]);
}

fn send(states: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "systemd notification failed");
    }
}

/// Starts the watchdog job when systemd asked for one (`WATCHDOG_USEC`), pinging at half the period.
pub fn start_watchdog(services: &Services) {
    let Some(timeout) = sd_notify::watchdog_enabled() else { return };
    let period = (timeout / 2).max(Duration::from_millis(50));
    let s = services.clone();
    services.supervisor.spawn_periodic("watchdog", period, move || {
        let (healthy, report) = s.health.report();
        if !s.health.ready() {
            // Still starting (or shutting down): READY=1 has not been sent, nothing to vouch for.
        } else if healthy {
            send(&[sd_notify::NotifyState::Watchdog]);
        } else {
            tracing::error!(checks = ?report, "unhealthy: withholding the watchdog ping so systemd restarts us");
        }
        async { Ok(()) }
    });
}
