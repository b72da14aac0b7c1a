//! Per-process figures: `/proc/[pid]/stat` parsing and the top-N lists by CPU and memory.

use std::collections::HashMap;

use crate::delta::counter_delta;
use crate::raw::ProcessSample;
use crate::snapshot::{ProcessInfo, TopProcesses};

/// The fields of `/proc/[pid]/stat` the collector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidStat<'a> {
    /// `comm`, still as raw bytes (it can be any bytes but NUL).
    pub name: &'a [u8],
    /// `utime + stime` in ticks.
    pub cpu_ticks: u64,
    /// `starttime` in ticks since boot.
    pub start_ticks: u64,
    /// `rss` in pages.
    pub rss_pages: u64,
}

/// Parses one `/proc/[pid]/stat`. The name sits in parentheses and may itself
/// contain spaces and `)`, so the fields are found after the last `)`.
pub fn parse_pid_stat(bytes: &[u8]) -> Option<PidStat<'_>> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let name = bytes.get(open + 1..close)?;
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    // Index 0 is field 3 (state) of proc(5).
    let mut f = rest.split_ascii_whitespace();
    let mut nth = |n: usize| f.nth(n).and_then(|v| v.parse::<u64>().ok());
    let utime = nth(11)?;
    let stime = nth(0)?;
    let start_ticks = nth(6)?;
    let rss = f.nth(1).and_then(|v| v.parse::<i64>().ok())?;
    Some(PidStat {
        name,
        cpu_ticks: utime.saturating_add(stime),
        start_ticks,
        rss_pages: u64::try_from(rss).unwrap_or(0),
    })
}

/// Turns successive process-table scans into top lists. CPU share needs the
/// previous scan, so it keeps each process's ticks (keyed by pid and start time,
/// so a recycled pid is not mistaken for the old process).
#[derive(Debug, Default)]
pub struct ProcessTracker {
    prev: HashMap<u32, (u64, u64)>,
    scratch: HashMap<u32, (u64, u64)>,
    prev_cpu_total: Option<u64>,
}

impl ProcessTracker {
    /// Ranks `samples`, taken when the machine-wide `/proc/stat` total was
    /// `cpu_total_ticks`, and remembers them for the next call.
    pub fn update(
        &mut self,
        samples: &[ProcessSample],
        cpu_total_ticks: u64,
        top_n: usize,
        sampled_at_ms: i64,
    ) -> TopProcesses {
        let window = self.prev_cpu_total.map(|p| counter_delta(p, cpu_total_ticks)).filter(|d| *d > 0);
        let mut ranked: Vec<(usize, Option<f64>)> = Vec::with_capacity(samples.len());
        self.scratch.clear();
        for (i, s) in samples.iter().enumerate() {
            self.scratch.insert(s.pid, (s.start_ticks, s.cpu_ticks));
            let cpu = window.map(|w| {
                // A process missing from the previous scan started after it, so all
                // of its ticks fall inside the window.
                let before = match self.prev.get(&s.pid) {
                    Some(&(start, ticks)) if start == s.start_ticks => ticks,
                    _ => 0,
                };
                // Whole-machine share; reads of /proc/stat and /proc/[pid]/stat are
                // not atomic, hence the clamp.
                (counter_delta(before, s.cpu_ticks) as f64 * 100.0 / w as f64).clamp(0.0, 100.0)
            });
            ranked.push((i, cpu));
        }
        std::mem::swap(&mut self.prev, &mut self.scratch);
        self.prev_cpu_total = Some(cpu_total_ticks);

        let info = |&(i, cpu): &(usize, Option<f64>)| {
            let s = &samples[i];
            ProcessInfo { pid: s.pid, name: s.name.clone(), cpu_percent: cpu, memory_bytes: s.rss_bytes }
        };
        let mem = |i: usize| samples[i].rss_bytes;
        let pid = |i: usize| samples[i].pid;

        ranked.sort_unstable_by(|a, b| mem(b.0).cmp(&mem(a.0)).then(pid(a.0).cmp(&pid(b.0))));
        let by_memory = ranked.iter().take(top_n).map(info).collect();

        let by_cpu = if window.is_some() {
            ranked.sort_unstable_by(|a, b| {
                let (ca, cb) = (a.1.unwrap_or(0.0), b.1.unwrap_or(0.0));
                cb.total_cmp(&ca).then(mem(b.0).cmp(&mem(a.0))).then(pid(a.0).cmp(&pid(b.0)))
            });
            ranked.iter().take(top_n).map(info).collect()
        } else {
            Vec::new()
        };
        TopProcesses { sampled_at_ms: Some(sampled_at_ms), by_cpu, by_memory }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_realistic() {
        let line = b"1234 (openmanager) S 1 1234 1234 0 -1 4194560 52341 0 12 0 1500 320 0 0 20 0 9 0 5012 \
                     123456789 4321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let p = parse_pid_stat(line).unwrap();
        assert_eq!(p.name, b"openmanager");
        assert_eq!(p.cpu_ticks, 1820);
        assert_eq!(p.start_ticks, 5012);
        assert_eq!(p.rss_pages, 4321);
    }

    #[test]
    fn parse_odd_names_and_malformed() {
        let line = b"77 (we(ird) na)me) R 1 77 77 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 99 1000 -3 0\n";
        let p = parse_pid_stat(line).unwrap();
        assert_eq!(p.name, b"we(ird) na)me");
        assert_eq!((p.cpu_ticks, p.start_ticks, p.rss_pages), (15, 99, 0));
        assert_eq!(parse_pid_stat(b""), None);
        assert_eq!(parse_pid_stat(b"1 (x) S 1 2 3"), None);
        assert_eq!(parse_pid_stat(b"1 )x( S 1 1 1 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 99 1000 3"), None);
        let non_utf8 = b"5 (\xff\xfe) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9 1000 2 0";
        assert_eq!(parse_pid_stat(non_utf8).map(|p| p.rss_pages), Some(2));
    }

    fn proc(pid: u32, start: u64, ticks: u64, rss: u64) -> ProcessSample {
        ProcessSample { pid, start_ticks: start, name: format!("p{pid}"), cpu_ticks: ticks, rss_bytes: rss }
    }

    #[test]
    fn first_scan_has_memory_only() {
        let mut t = ProcessTracker::default();
        let top = t.update(&[proc(1, 0, 10, 300), proc(2, 0, 10, 100), proc(3, 0, 10, 300)], 1000, 2, 7);
        assert!(top.by_cpu.is_empty());
        let pids: Vec<_> = top.by_memory.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [1, 3]);
        assert!(top.by_memory.iter().all(|p| p.cpu_percent.is_none()));
        assert_eq!(top.sampled_at_ms, Some(7));
    }

    #[test]
    fn cpu_ranking_with_new_and_recycled_pids() {
        let mut t = ProcessTracker::default();
        t.update(&[proc(1, 0, 100, 10), proc(2, 0, 100, 20), proc(3, 50, 100, 30), proc(4, 0, 0, 1)], 1000, 5, 0);
        // 400 machine ticks pass.
        let cur = [
            proc(1, 0, 120, 10),  // +20 -> 5%
            proc(2, 0, 180, 20),  // +80 -> 20%
            proc(3, 60, 40, 30),  // recycled pid: all 40 ticks are new -> 10%
            proc(4, 0, 0, 1),     // idle
            proc(5, 900, 200, 5), // started after the last scan -> 50%
            proc(6, 0, 0, 2),
        ];
        let top = t.update(&cur, 1400, 5, 1);
        let order: Vec<_> = top.by_cpu.iter().map(|p| (p.pid, p.cpu_percent)).collect();
        assert_eq!(order, [(5, Some(50.0)), (2, Some(20.0)), (3, Some(10.0)), (1, Some(5.0)), (6, Some(0.0))]);
        let mem: Vec<_> = top.by_memory.iter().map(|p| p.pid).collect();
        assert_eq!(mem, [3, 2, 1, 5, 6]);
        // A counter going backwards or the machine total not moving gives no nonsense.
        let top = t.update(&[proc(2, 0, 10, 20)], 1400, 5, 2);
        assert!(top.by_cpu.is_empty());
        let top = t.update(&[proc(2, 0, 5, 20)], 1500, 5, 3);
        assert_eq!(top.by_cpu[0].cpu_percent, Some(0.0));
    }
}
