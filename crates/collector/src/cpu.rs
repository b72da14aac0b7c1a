//! CPU percentages from two `/proc/stat` readings.

use crate::delta::counter_delta;
use crate::raw::{CoreTimes, CpuTimes};
use crate::snapshot::{CoreUsage, CpuUsage};

/// The split of CPU time between two readings, or `None` when no tick elapsed
/// (two reads within the same 10 ms jiffy): there is nothing to divide by, and a
/// guessed "0% busy" would be made up.
pub fn cpu_usage(prev: &CpuTimes, cur: &CpuTimes) -> Option<CpuUsage> {
    // Per-field deltas, because iowait is known to go backwards on some kernels;
    // a backwards field contributes zero instead of poisoning the total.
    let d = |p: u64, c: u64| counter_delta(p, c) as f64;
    let user = d(prev.user, cur.user) + d(prev.nice, cur.nice);
    let system = d(prev.system, cur.system) + d(prev.irq, cur.irq) + d(prev.softirq, cur.softirq);
    let iowait = d(prev.iowait, cur.iowait);
    let steal = d(prev.steal, cur.steal);
    let idle = d(prev.idle, cur.idle);
    let total = user + system + iowait + steal + idle;
    if total <= 0.0 {
        return None;
    }
    let pct = |v: f64| (v * 100.0 / total).clamp(0.0, 100.0);
    Some(CpuUsage {
        user: pct(user),
        system: pct(system),
        iowait: pct(iowait),
        steal: pct(steal),
        idle: pct(idle),
        busy: pct(user + system + steal),
    })
}

/// Per-core usage, matching cores by number so a core going offline between
/// readings drops out instead of shifting its neighbours.
pub fn core_usage(prev: &[CoreTimes], cur: &[CoreTimes], out: &mut Vec<CoreUsage>) {
    out.clear();
    for (i, c) in cur.iter().enumerate() {
        // Cores are listed in order, so the same position is almost always the match.
        let p = match prev.get(i) {
            Some(p) if p.core == c.core => Some(p),
            _ => prev.iter().find(|p| p.core == c.core),
        };
        if let Some(usage) = p.and_then(|p| cpu_usage(&p.times, &c.times)) {
            out.push(CoreUsage { core: c.core, usage });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: u64, system: u64, idle: u64, iowait: u64, steal: u64) -> CpuTimes {
        CpuTimes { user, system, idle, iowait, steal, ..CpuTimes::default() }
    }

    #[test]
    fn known_split() {
        let prev = t(100, 50, 1000, 10, 0);
        let cur = t(150, 70, 1020, 15, 5); // deltas 50 + 20 + 20 + 5 + 5 = 100
        let u = cpu_usage(&prev, &cur).unwrap();
        assert_eq!((u.user, u.system, u.idle, u.iowait, u.steal), (50.0, 20.0, 20.0, 5.0, 5.0));
        assert_eq!(u.busy, 75.0);
    }

    #[test]
    fn no_ticks_is_none_and_backwards_is_zero() {
        let a = t(1, 2, 3, 4, 5);
        assert_eq!(cpu_usage(&a, &a), None);
        let u = cpu_usage(&t(10, 10, 10, 50, 0), &t(20, 10, 20, 40, 0)).unwrap();
        assert_eq!((u.user, u.idle, u.iowait), (50.0, 50.0, 0.0));
        // A full reset (all counters smaller) has no ticks to divide by.
        assert_eq!(cpu_usage(&t(100, 100, 100, 100, 100), &t(1, 1, 1, 1, 1)), None);
    }

    #[test]
    fn cores_match_by_number() {
        let prev = [CoreTimes { core: 0, times: t(0, 0, 0, 0, 0) }, CoreTimes { core: 1, times: t(0, 0, 0, 0, 0) }];
        let cur = [CoreTimes { core: 1, times: t(10, 0, 30, 0, 0) }, CoreTimes { core: 2, times: t(5, 0, 5, 0, 0) }];
        let mut out = Vec::new();
        core_usage(&prev, &cur, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].core, 1);
        assert_eq!(out[0].usage.user, 25.0);
    }
}
