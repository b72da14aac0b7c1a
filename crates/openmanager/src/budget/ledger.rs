//! The month's running totals, kept in the store so restarts, reboots and interface counter resets
//! lose nothing: egress from the interfaces' sent-byte counters, VM hours from boot times, and the
//! CPU's average and burst time. Pure: readings in, totals out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::period::Month;

/// Two readings of the same boot time may differ by rounding; a reboot moves it by far more.
const SAME_BOOT_TOLERANCE_MS: i64 = 5_000;

/// What one look at the host gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub now_ms: i64,
    pub boot_ms: i64,
    /// Sent bytes per counted interface, as the kernel counts them since boot.
    pub sent: Vec<(String, u64)>,
    /// Host CPU percent (0-100), when known.
    pub cpu: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ledger {
    /// `YYYY-MM`; a reading in another month starts a new ledger.
    pub month: String,
    pub egress_bytes: u64,
    /// The earliest moment `egress_bytes` covers (the month's start, a boot in the month, or the
    /// first reading), so projections divide by the right span.
    pub counted_since_ms: i64,
    /// Boot time of the host at the last reading (`None` before the first).
    pub boot_ms: Option<i64>,
    /// Last counter per interface in the current boot.
    pub counters: BTreeMap<String, u64>,
    /// Up time of earlier boots within this month, in seconds.
    pub earlier_boots_secs: f64,
    pub last_ms: Option<i64>,
    /// Sum of CPU percent x seconds, and the seconds it covers.
    pub cpu_percent_secs: f64,
    pub cpu_secs: f64,
    /// Seconds above the sustained share.
    pub burst_secs: f64,
}

impl Ledger {
    /// Adds one reading. `max_gap_ms` caps how long one CPU reading may stand for (a long pause
    /// between readings says nothing about the CPU in between).
    pub fn observe(&mut self, r: &Reading, month: &Month, sustained_percent: f64, max_gap_ms: i64) {
        if self.month != month.key {
            let first_ever = self.month.is_empty();
            *self = Ledger {
                month: month.key.clone(),
                // A new month keeps counting from the counters: bytes after the last reading of the
                // old month belong to the new one. The first ledger ever has no such history.
                counters: if first_ever { BTreeMap::new() } else { std::mem::take(&mut self.counters) },
                boot_ms: self.boot_ms,
                last_ms: if first_ever { None } else { self.last_ms },
                counted_since_ms: if first_ever { r.now_ms } else { month.start_ms },
                ..Ledger::default()
            };
        }
        let same_boot = self.boot_ms.is_some_and(|b| (r.boot_ms - b).abs() <= SAME_BOOT_TOLERANCE_MS);
        if !same_boot {
            if let (Some(boot), Some(last)) = (self.boot_ms, self.last_ms) {
                // The previous boot ran at least until its last reading.
                let from = boot.max(month.start_ms);
                self.earlier_boots_secs += (last - from).max(0) as f64 / 1000.0;
            }
            self.counters.clear();
            self.boot_ms = Some(r.boot_ms);
        }
        let boot_in_month = r.boot_ms >= month.start_ms;
        let mut seen = BTreeMap::new();
        for (name, sent) in &r.sent {
            let add = match self.counters.get(name) {
                Some(&prev) if *sent >= prev => sent - prev,
                // The counter went back within a boot (driver reload, 32-bit wrap): it restarted at 0.
                Some(_) => *sent,
                // First sight in this boot: all of it is this month's if the boot is.
                None if boot_in_month => {
                    self.counted_since_ms = self.counted_since_ms.min(r.boot_ms.max(month.start_ms));
                    *sent
                }
                None => 0,
            };
            self.egress_bytes = self.egress_bytes.saturating_add(add);
            seen.insert(name.clone(), *sent);
        }
        self.counters = seen;
        if same_boot
            && let Some(last) = self.last_ms
            && let Some(cpu) = r.cpu.filter(|c| c.is_finite())
        {
            let secs = (r.now_ms - last).clamp(0, max_gap_ms.max(0)) as f64 / 1000.0;
            self.cpu_percent_secs += cpu * secs;
            self.cpu_secs += secs;
            if cpu > sustained_percent {
                self.burst_secs += secs;
            }
        }
        self.last_ms = Some(r.now_ms);
    }

    /// VM hours this month: earlier boots plus the current one.
    pub fn vm_hours(&self, now_ms: i64, month: &Month) -> f64 {
        let current = self.boot_ms.map_or(0.0, |b| (now_ms - b.max(month.start_ms)).max(0) as f64);
        (self.earlier_boots_secs + current / 1000.0) / 3600.0
    }

    /// Egress at the month's end if the rate so far continues. Less than an hour of data is
    /// extrapolated as if it were an hour, so a burst at start-up does not project terabytes.
    pub fn projected_egress(&self, now_ms: i64, month: &Month) -> u64 {
        let span = (now_ms - self.counted_since_ms).max(3_600_000) as f64;
        let left = (month.end_ms - now_ms).max(0) as f64;
        let rate = self.egress_bytes as f64 / span;
        (self.egress_bytes as f64 + rate * left).round() as u64
    }

    pub fn cpu_average(&self) -> Option<f64> {
        (self.cpu_secs > 0.0).then(|| self.cpu_percent_secs / self.cpu_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    // A 30-day month starting at t=0 (UTC).
    fn month() -> Month {
        Month { key: "2026-11".into(), start_ms: 0, end_ms: 30 * 24 * H }
    }
    fn reading(now_ms: i64, boot_ms: i64, sent: u64, cpu: f64) -> Reading {
        Reading { now_ms, boot_ms, sent: vec![("ens4".into(), sent)], cpu: Some(cpu) }
    }

    #[test]
    fn counts_deltas_across_restarts_and_reboots() {
        let m = month();
        let mut l = Ledger::default();
        // Booted before the month: the counter's history is not this month's.
        l.observe(&reading(2 * H, -H, 5_000, 10.0), &m, 12.5, 120_000);
        assert_eq!(l.egress_bytes, 0);
        l.observe(&reading(3 * H, -H, 8_000, 10.0), &m, 12.5, 120_000);
        assert_eq!(l.egress_bytes, 3_000);
        // A restart of the process: the ledger comes back from the store (a JSON round trip).
        let mut l: Ledger = serde_json::from_value(serde_json::to_value(&l).unwrap()).unwrap();
        l.observe(&reading(4 * H, -H, 9_000, 10.0), &m, 12.5, 120_000);
        assert_eq!(l.egress_bytes, 4_000);
        // A reboot at 10 h: the new counter started at zero, all of it this month's.
        l.observe(&reading(11 * H, 10 * H, 700, 10.0), &m, 12.5, 120_000);
        assert_eq!(l.egress_bytes, 4_700);
        // A counter reset within the boot (driver reload) counts from zero again.
        l.observe(&reading(12 * H, 10 * H, 100, 10.0), &m, 12.5, 120_000);
        assert_eq!(l.egress_bytes, 4_800);
        // VM hours: the first boot from the month's start to its last reading (4 h), then 2 h.
        assert!((l.vm_hours(12 * H, &m) - 6.0).abs() < 1e-9, "{}", l.vm_hours(12 * H, &m));
    }

    #[test]
    fn a_new_month_starts_from_zero_but_keeps_counting() {
        let m = month();
        let mut l = Ledger::default();
        l.observe(&reading(H, 0, 1_000, 5.0), &m, 12.5, 120_000);
        assert_eq!(l.egress_bytes, 1_000, "booted within the month: the whole counter counts");
        let next = Month { key: "2026-12".into(), start_ms: m.end_ms, end_ms: m.end_ms + 31 * 24 * H };
        l.observe(&reading(next.start_ms + H, 0, 1_500, 5.0), &next, 12.5, 120_000);
        assert_eq!((l.month.as_str(), l.egress_bytes), ("2026-12", 500));
        assert_eq!(l.counted_since_ms, next.start_ms);
        assert!((l.vm_hours(next.start_ms + H, &next) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn projection_extrapolates_the_rate() {
        let m = month();
        let mut l = Ledger::default();
        l.observe(&reading(0, -H, 0, 5.0), &m, 12.5, 120_000);
        // 100 MB in the first 24 hours of a 30-day month: 3 GB at the end.
        l.observe(&reading(24 * H, -H, 100_000_000, 5.0), &m, 12.5, 120_000);
        assert_eq!(l.projected_egress(24 * H, &m), 3_000_000_000);
    }

    #[test]
    fn cpu_average_and_burst() {
        let m = month();
        let mut l = Ledger::default();
        let boot = -H;
        l.observe(&reading(0, boot, 0, 0.0), &m, 12.5, 120_000);
        l.observe(&reading(60_000, boot, 0, 50.0), &m, 12.5, 120_000);
        l.observe(&reading(120_000, boot, 0, 10.0), &m, 12.5, 120_000);
        // A long gap counts as at most two minutes.
        l.observe(&reading(120_000 + H, boot, 0, 10.0), &m, 12.5, 120_000);
        assert_eq!(l.burst_secs, 60.0);
        assert_eq!(l.cpu_secs, 240.0);
        assert!((l.cpu_average().unwrap() - (50.0 * 60.0 + 10.0 * 60.0 + 10.0 * 120.0) / 240.0).abs() < 1e-9);
    }
}
