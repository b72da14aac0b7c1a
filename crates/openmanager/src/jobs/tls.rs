//! The TLS certificate manager as a supervised job (reloads `files`, renews `acme` certificates and
//! swaps each new one in), and its health check `tls`: `ok`, or the state that needs attention
//! (`expiring`, `expired`, `renewal-failing`, `missing`) with the expiry time.

use crate::component_health::Check;
use crate::services::Services;

pub fn start(services: &Services) {
    if services.tls.settings().mode == tls::Mode::Off {
        return;
    }
    let manager = services.tls.clone();
    services.health.register("tls", false, move || check(&manager.status()));
    let manager = services.tls.clone();
    services.supervisor.spawn("tls", move |ctx| {
        let manager = manager.clone();
        async move {
            let heartbeat = ctx.heartbeat.clone();
            manager.run(ctx.cancel, move || heartbeat.beat()).await?;
            Ok(())
        }
    });
}

/// The health text of a certificate status: `ok`, or the state, its expiry and the last error.
pub fn check(status: &tls::Status) -> Check {
    if status.state == tls::State::Ok {
        return Check::Ok;
    }
    let mut text = status.state.as_str().to_owned();
    if let Some(not_after) = status.not_after {
        text.push_str(&format!(" (expires {not_after})"));
    }
    if let Some(error) = &status.last_error
        && status.state != tls::State::Expiring
    {
        text.push_str(&format!(": {error}"));
    }
    Check::Failing(text)
}
