//! The `[alerts]` section: how often rules are evaluated and how flapping is damped.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// Alert evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    pub enabled: bool,
    /// Seconds between evaluations of every rule against every server.
    pub interval_seconds: u64,
    /// A firing alert resolves only after its condition has been clear this long (flap suppression).
    pub keep_firing_seconds: u64,
    /// After resolving, the same rule and server cannot fire again for this long.
    pub refire_cooldown_seconds: u64,
    /// Hosts notification channels may send to: names, addresses and networks (`127.0.0.0/8`).
    /// Empty allows any host. A test run sets loopback, so no channel it creates reaches outside.
    pub channel_hosts: Vec<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_seconds: 10,
            keep_firing_seconds: 60,
            refire_cooldown_seconds: 300,
            channel_hosts: Vec::new(),
        }
    }
}

impl AlertsConfig {
    pub(super) fn validate(&self, out: &mut Vec<Invalid>) {
        let mut bad = |key: &str, reason: &str| out.push(Invalid { key: key.into(), reason: reason.into() });
        if !(1..=3600).contains(&self.interval_seconds) {
            bad("alerts.interval_seconds", "must be 1-3600");
        }
        if self.keep_firing_seconds > 86_400 || self.refire_cooldown_seconds > 86_400 {
            bad("alerts", "keep_firing_seconds and refire_cooldown_seconds are at most 86400");
        }
        if self.channel_hosts.len() > 256 {
            bad("alerts.channel_hosts", "at most 256 entries");
        } else if let Err(e) = super::HostPolicy::parse(&self.channel_hosts) {
            bad("alerts.channel_hosts", &e);
        }
    }
}
