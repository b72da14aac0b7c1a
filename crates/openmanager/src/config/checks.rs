//! The `[checks]` section: how much outbound work service checks may do on the hub (probes at once,
//! checks kept). What each probe may read (64 KiB of body, 5 redirects) is fixed in the `probe`
//! crate.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// Service checks run by the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Run the hub's own checks (agents' checks are still accepted and shown).
    pub enabled: bool,
    /// Probes in flight at once on the hub; the rest wait for a slot.
    pub max_concurrent: usize,
    /// Checks kept (every place they run counts once).
    pub max_checks: usize,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        Self { enabled: true, max_concurrent: 16, max_checks: 500 }
    }
}

impl ChecksConfig {
    pub(super) fn validate(&self, out: &mut Vec<Invalid>) {
        let mut bad = |key: &str, reason: &str| out.push(Invalid { key: key.into(), reason: reason.into() });
        if !(1..=256).contains(&self.max_concurrent) {
            bad("checks.max_concurrent", "must be 1-256");
        }
        if !(1..=1000).contains(&self.max_checks) {
            bad("checks.max_checks", "must be 1-1000");
        }
    }
}
