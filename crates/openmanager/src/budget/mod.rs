//! The free-tier budget (`GET /api/budget`): this month's egress, VM hours, disk, CPU, memory and AI
//! requests against the plan (`[budget]`, e2-micro defaults). A job reads this host's interface
//! counters from the self-monitor every `budget.interval_seconds` and keeps the month's ledger in
//! the store (`budget/ledger`), so a restart or a reboot keeps the month to date.

pub mod egress;
pub mod ledger;
pub mod period;
pub mod report;

use jiff::tz::TimeZone;
use parking_lot::Mutex;

use crate::config::BudgetConfig;
use crate::fleet::{Fleet, SELF_ID};
use ledger::{Ledger, Reading};
use period::Month;

const LEDGER_KEY: &str = "budget/ledger";

/// Interface name prefixes that never leave the machine (or would count the same bytes twice):
/// loopback, container and VM bridges, and tunnels whose traffic also crosses the real interface.
const VIRTUAL_PREFIXES: &[&str] = &[
    "lo",
    "docker",
    "veth",
    "br-",
    "virbr",
    "cni",
    "flannel",
    "cali",
    "vxlan",
    "kube",
    "lxc",
    "tun",
    "tap",
    "wg",
    "tailscale",
    "zt",
];

pub struct Budget {
    config: BudgetConfig,
    zone: TimeZone,
    /// `None` until loaded from the store by the first tick.
    ledger: Mutex<Option<Ledger>>,
    /// The hub's own egress by route group and WebSocket topic.
    pub egress: std::sync::Arc<egress::EgressMeter>,
}

/// Whether an interface's sent bytes count as egress.
pub fn counts_as_egress(name: &str, configured: &[String]) -> bool {
    if configured.is_empty() {
        !VIRTUAL_PREFIXES.iter().any(|p| name.starts_with(p))
    } else {
        configured.iter().any(|c| c == name)
    }
}

impl Budget {
    pub fn new(config: &BudgetConfig) -> Self {
        Self { config: config.clone(), zone: config.zone(), ledger: Mutex::new(None), egress: Default::default() }
    }

    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    pub fn month(&self, now_ms: i64) -> Month {
        Month::containing(now_ms, &self.zone)
    }

    /// A copy of the ledger, once loaded.
    pub fn ledger(&self) -> Option<Ledger> {
        self.ledger.lock().clone()
    }

    /// Projected egress at the month's end, for the egress alert rule.
    pub fn projected_egress(&self, now_ms: i64) -> Option<f64> {
        let ledger = self.ledger()?;
        let month = self.month(now_ms);
        (ledger.month == month.key).then(|| ledger.projected_egress(now_ms, &month) as f64)
    }

    /// Whether the egress guard is on: the month's projected egress (from the interface counters, and
    /// at least what the hub itself sent since it started this month) is past
    /// `egress_guard_percent` of the limit.
    pub fn egress_guard(&self, now_ms: i64) -> bool {
        let month = self.month(now_ms);
        let own = if self.egress.since_ms() >= month.start_ms { self.egress.total() as f64 } else { 0.0 };
        let projected = self.projected_egress(now_ms).unwrap_or(0.0).max(own);
        projected * 100.0 >= self.config.egress_guard_percent * self.config.egress_limit_bytes as f64
    }

    /// One reading of this host, added to the ledger and saved.
    pub async fn tick(&self, fleet: &Fleet, store: &store::Store) -> anyhow::Result<()> {
        if self.ledger().is_none() {
            let saved = match store.get_kv(LEDGER_KEY).await? {
                Some(v) => serde_json::from_value::<Ledger>(v).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "the saved budget ledger is unreadable; starting a new one");
                    Ledger::default()
                }),
                None => Ledger::default(),
            };
            {
                let mut l = self.ledger.lock();
                *l = Some(saved);
            }
        }
        let now = crate::clock::now_millis();
        let Some(reading) = self.reading(fleet, now) else { return Ok(()) };
        let month = self.month(now);
        let max_gap = i64::try_from(self.config.interval_seconds.saturating_mul(2_000)).unwrap_or(i64::MAX);
        let snapshot = {
            let mut guard = self.ledger.lock();
            let ledger = guard.get_or_insert_with(Ledger::default);
            ledger.observe(&reading, &month, self.config.cpu_sustained_percent, max_gap);
            ledger.clone()
        };
        store.put_kv(LEDGER_KEY, &serde_json::to_value(&snapshot)?).await?;
        Ok(())
    }

    /// The counters of this host as the self-monitor last read them; `None` before its first detail.
    fn reading(&self, fleet: &Fleet, now_ms: i64) -> Option<Reading> {
        let snap = fleet.get(SELF_ID, now_ms)?;
        let detail = snap.detail?;
        let sent = detail
            .interfaces
            .iter()
            .filter(|i| counts_as_egress(&i.name, &self.config.egress_interfaces))
            .map(|i| (i.name.clone(), i.tx_bytes))
            .collect();
        Some(Reading { now_ms, boot_ms: detail.boot_time_ms, sent, cpu: snap.live.and_then(|l| l.cpu) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_interfaces_do_not_count() {
        for name in ["lo", "docker0", "veth12ab", "br-1234", "wg0", "tailscale0"] {
            assert!(!counts_as_egress(name, &[]), "{name}");
        }
        for name in ["ens4", "eth0", "enp0s3"] {
            assert!(counts_as_egress(name, &[]), "{name}");
        }
        assert!(!counts_as_egress("eth0", &["ens4".to_string()]));
        assert!(counts_as_egress("ens4", &["ens4".to_string()]));
    }

    #[test]
    fn the_guard_turns_off_when_the_projection_falls_back() {
        const H: i64 = 3_600_000;
        let config = BudgetConfig { egress_limit_bytes: 1_000_000, egress_guard_percent: 80.0, ..Default::default() };
        let b = Budget::new(&config);
        let month = b.month(crate::clock::now_millis());
        let t0 = month.start_ms + H;
        let reading = |now_ms: i64, sent: u64| Reading {
            now_ms,
            // Booted before the month: the first reading is the baseline.
            boot_ms: month.start_ms - H,
            sent: vec![("ens4".into(), sent)],
            cpu: None,
        };
        let mut ledger = Ledger::default();
        ledger.observe(&reading(t0, 5_000), &month, 12.5, 120_000);
        // 10 kB in the first hour: projected past 80% of 1 MB (about 7 MB by the month's end).
        ledger.observe(&reading(t0 + H, 15_000), &month, 12.5, 120_000);
        *b.ledger.lock() = Some(ledger);
        assert!(b.egress_guard(t0 + H), "{:?}", b.projected_egress(t0 + H));
        // Nothing more sent for 20 days: the projection falls back (about 15 kB) and the guard is off.
        let later = t0 + 20 * 24 * H;
        assert!(b.projected_egress(later).unwrap() < 800_000.0);
        assert!(!b.egress_guard(later));
        // What the hub itself sent this month still counts as a floor.
        b.egress.add_route("servers", 900_000);
        assert!(b.egress_guard(later));
    }
}
