//! The default rules of the plan. They are ordinary rules with fixed ids: the first start saves them
//! (see `persist::load_rules_or_defaults`) and users may edit or delete them like any other.

use super::rule::{Metric, Op, Rule, Scope, Severity, Window};

pub const MEMORY_HIGH: &str = "default-memory-high";
pub const CPU_SUSTAINED: &str = "default-cpu-sustained";
pub const DISK_HIGH: &str = "default-disk-high";
pub const EGRESS_BUDGET: &str = "default-egress-budget";
pub const SERVER_OFFLINE: &str = "default-server-offline";
pub const STORE_FAILING: &str = "default-store-failing";
pub const TLS_RENEWAL_FAILING: &str = "default-tls-renewal-failing";

/// The defaults of the first release; later defaults are added once to existing installations.
pub const FIRST_DEFAULTS: [&str; 5] = [MEMORY_HIGH, CPU_SUSTAINED, DISK_HIGH, EGRESS_BUDGET, SERVER_OFFLINE];

/// 800 MB: the warning line below the free tier's 1 GB monthly egress.
pub const EGRESS_WARN_BYTES: f64 = 800.0 * 1000.0 * 1000.0;

#[allow(clippy::too_many_arguments)]
fn rule(
    id: &str,
    name: &str,
    metric: Metric,
    op: Op,
    threshold: f64,
    clear: Option<f64>,
    window: Window,
    for_seconds: u64,
    severity: Severity,
) -> Rule {
    Rule {
        id: id.to_owned(),
        name: name.to_owned(),
        metric,
        op,
        threshold,
        clear_threshold: clear,
        window,
        for_seconds,
        severity,
        scope: Scope::default(),
        channels: Vec::new(),
        repeat_interval_seconds: 3600,
        enabled: true,
        check_id: None,
    }
}

pub fn default_rules() -> Vec<Rule> {
    vec![
        // The clear thresholds sit a few points under the trigger so a value hovering at the line
        // does not fire, resolve and fire again.
        rule(
            MEMORY_HIGH,
            "Memory above 85%",
            Metric::Memory,
            Op::Gt,
            85.0,
            Some(80.0),
            Window::Latest,
            60,
            Severity::Warning,
        ),
        rule(
            CPU_SUSTAINED,
            "CPU above 80% for 5 minutes",
            Metric::Cpu,
            Op::Gt,
            80.0,
            Some(70.0),
            Window::Average { seconds: 300 },
            300,
            Severity::Warning,
        ),
        rule(DISK_HIGH, "Disk above 70%", Metric::Disk, Op::Gt, 70.0, Some(68.0), Window::Latest, 0, Severity::Warning),
        rule(
            EGRESS_BUDGET,
            "Projected egress above 800 MB this month",
            Metric::EgressMonth,
            Op::Gt,
            EGRESS_WARN_BYTES,
            None,
            Window::Latest,
            0,
            Severity::Warning,
        ),
        rule(
            SERVER_OFFLINE,
            "Server offline",
            Metric::Offline,
            Op::Ge,
            1.0,
            None,
            Window::Latest,
            60,
            Severity::Critical,
        ),
        rule(
            STORE_FAILING,
            "History store cannot write (disk full or database unreachable)",
            Metric::StoreFailing,
            Op::Ge,
            1.0,
            None,
            Window::Latest,
            0,
            Severity::Critical,
        ),
        // Renewal starts with a third of the lifetime left and retries with back-off: firing means
        // days (hours for a short-lived IP certificate) remain to fix it before browsers refuse.
        rule(
            TLS_RENEWAL_FAILING,
            "HTTPS certificate renewal failing with less than a third of its lifetime left",
            Metric::TlsRenewalFailing,
            Op::Ge,
            1.0,
            None,
            Window::Latest,
            0,
            Severity::Critical,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_distinct() {
        let rules = default_rules();
        assert_eq!(rules.len(), 7);
        for r in &rules {
            assert_eq!(r.validate(), Ok(()), "{}", r.id);
        }
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.dedup();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7);
    }

    #[test]
    fn defaults_round_trip_through_json() {
        for r in default_rules() {
            let json = serde_json::to_value(&r).unwrap();
            let back: Rule = serde_json::from_value(json).unwrap();
            assert_eq!(back, r);
        }
    }
}
