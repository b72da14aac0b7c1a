//! systemd notifications (`READY=1`, `STOPPING=1`, `WATCHDOG=1`, `MAINPID=`, `STATUS=`), sent only
//! when `NOTIFY_SOCKET` is set. The watchdog job (`jobs::watchdog`) pings only while every health
//! check passes.

/// Tells systemd the service is ready to serve.
pub fn notify_ready() {
    send(&[sd_notify::NotifyState::Ready]);
}

/// The watchdog ping (`WATCHDOG=1`).
pub fn notify_watchdog() {
    send(&[sd_notify::NotifyState::Watchdog]);
}

/// The watchdog's period when systemd asked for one (`WATCHDOG_USEC`): half its timeout.
pub fn watchdog_period() -> Option<std::time::Duration> {
    sd_notify::watchdog_enabled().map(|timeout| (timeout / 2).max(std::time::Duration::from_millis(50)))
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
