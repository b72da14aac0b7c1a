//! The `[budget]` section: the free-tier plan the budget compares use against (GCP e2-micro
//! defaults) and the zone its months follow.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// The zone GCP bills in; months and "today" follow it.
pub const DEFAULT_TIMEZONE: &str = "America/Los_Angeles";

/// The free-tier plan. Byte limits are decimal, as Google states them (1 GB = 10^9 bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetConfig {
    /// Seconds between readings of the interface counters (the ledger is saved each time).
    pub interval_seconds: u64,
    /// Monthly egress included in the free tier.
    pub egress_limit_bytes: u64,
    /// VM hours included per month (744 = every hour of a 31-day month).
    pub vm_hours: f64,
    /// Standard persistent disk included.
    pub disk_limit_bytes: u64,
    /// The CPU share an e2-micro sustains, in percent of the whole machine (0.25 of 2 vCPUs = 12.5).
    pub cpu_sustained_percent: f64,
    /// IANA zone of the billing month.
    pub timezone: String,
    /// Interfaces whose sent bytes count as egress; empty means every interface except loopback and
    /// virtual ones (docker, veth, bridges, tunnels to containers).
    pub egress_interfaces: Vec<String>,
    /// Projected month egress, in percent of the limit, past which the hub lowers its live rates
    /// (WebSocket `fleet` to 30 s, `live` to 5 s) until the projection falls back.
    pub egress_guard_percent: f64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            interval_seconds: 60,
            egress_limit_bytes: 1_000_000_000,
            vm_hours: 744.0,
            disk_limit_bytes: 30_000_000_000,
            cpu_sustained_percent: 12.5,
            timezone: DEFAULT_TIMEZONE.into(),
            egress_interfaces: Vec::new(),
            egress_guard_percent: 80.0,
        }
    }
}

impl BudgetConfig {
    /// The billing zone. The default falls back to UTC-8 on a machine without a tz database, so a
    /// minimal container still starts; a zone the user named must exist (checked in `validate`).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.timezone).unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(-8)))
    }

    pub(super) fn validate(&self, out: &mut Vec<Invalid>) {
        let mut bad = |key: &str, reason: &str| out.push(Invalid { key: key.into(), reason: reason.into() });
        if !(1..=3600).contains(&self.interval_seconds) {
            bad("budget.interval_seconds", "must be 1-3600");
        }
        if self.egress_limit_bytes == 0 || self.disk_limit_bytes == 0 {
            bad("budget", "egress_limit_bytes and disk_limit_bytes must be positive");
        }
        if !(self.vm_hours > 0.0 && self.vm_hours <= 744.0) {
            bad("budget.vm_hours", "must be above 0 and at most 744");
        }
        if !(self.egress_guard_percent > 0.0 && self.egress_guard_percent <= 1000.0) {
            bad("budget.egress_guard_percent", "must be above 0 and at most 1000");
        }
        if !(self.cpu_sustained_percent > 0.0 && self.cpu_sustained_percent <= 100.0) {
            bad("budget.cpu_sustained_percent", "must be above 0 and at most 100");
        }
        if self.timezone != DEFAULT_TIMEZONE && jiff::tz::TimeZone::get(&self.timezone).is_err() {
            bad("budget.timezone", "unknown time zone (an IANA name such as `Asia/Seoul`)");
        }
    }
}
