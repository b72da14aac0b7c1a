//! Hand-written parsers for the small system-wide /proc files: `stat`, `meminfo`,
//! `loadavg`, `uptime`, `cpuinfo`, and `/etc/os-release`.
//!
//! Each parser fills a caller-owned value so the 1 s path does not allocate, skips
//! lines it does not understand, and only fails when the one thing the file is
//! read for is missing.

use crate::error::{CollectorError, Result};
use crate::raw::{CoreTimes, CpuTimes, LoadAvg, MemInfo, StatSample, slot};

/// Parses `/proc/stat` into `out`, reusing its per-core vector.
pub fn parse_stat(text: &str, out: &mut StatSample) -> Result<()> {
    let mut seen_total = false;
    let mut cores = 0;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        if let Some(suffix) = key.strip_prefix("cpu") {
            let Some(times) = parse_cpu_fields(fields) else { continue };
            if suffix.is_empty() {
                out.total = times;
                seen_total = true;
            } else if let Ok(core) = suffix.parse::<u32>() {
                *slot(&mut out.cores, cores) = CoreTimes { core, times };
                cores += 1;
            }
            continue;
        }
        let value = fields.next().and_then(|v| v.parse::<u64>().ok());
        match (key, value) {
            ("btime", Some(v)) => out.boot_time_secs = v,
            ("procs_running", Some(v)) => out.procs_running = v,
            ("procs_blocked", Some(v)) => out.procs_blocked = v,
            _ => {}
        }
    }
    out.cores.truncate(cores);
    if seen_total { Ok(()) } else { Err(CollectorError::Parse { file: "stat", reason: "no aggregate cpu line" }) }
}

/// Parses the numbers after `cpu`/`cpuN`. Old kernels print fewer columns; the
/// missing ones count as zero, but at least user/nice/system/idle must be there.
fn parse_cpu_fields<'a>(fields: impl Iterator<Item = &'a str>) -> Option<CpuTimes> {
    let mut v = [0u64; 8];
    let mut n = 0;
    for (slot, field) in v.iter_mut().zip(fields) {
        *slot = field.parse().ok()?;
        n += 1;
    }
    if n < 4 {
        return None;
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal] = v;
    Some(CpuTimes { user, nice, system, idle, iowait, irq, softirq, steal })
}

/// Parses `/proc/meminfo`. `MemTotal` is required; anything else missing is zero.
pub fn parse_meminfo(text: &str) -> Result<MemInfo> {
    let mut m = MemInfo::default();
    let (mut total, mut available, mut reclaimable) = (None, None, 0);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else { continue };
        let mut parts = rest.split_ascii_whitespace();
        let Some(Ok(num)) = parts.next().map(str::parse::<u64>) else { continue };
        // Values are in KiB when a unit is printed (all of the ones read here).
        let bytes = if parts.next() == Some("kB") { num.saturating_mul(1024) } else { num };
        match key {
            "MemTotal" => total = Some(bytes),
            "MemFree" => m.free = bytes,
            "MemAvailable" => available = Some(bytes),
            "Buffers" => m.buffers = bytes,
            "Cached" => m.cached = bytes,
            "SReclaimable" => reclaimable = bytes,
            "SwapTotal" => m.swap_total = bytes,
            "SwapFree" => m.swap_free = bytes,
            _ => {}
        }
    }
    m.total = total.ok_or(CollectorError::Parse { file: "meminfo", reason: "no MemTotal" })?;
    // Pre-3.14 kernels lack MemAvailable; free + buffers + cache is the classic estimate.
    m.available = available
        .unwrap_or_else(|| m.free.saturating_add(m.buffers).saturating_add(m.cached).saturating_add(reclaimable))
        .min(m.total);
    m.cached = m.cached.saturating_add(reclaimable);
    Ok(m)
}

/// Parses `/proc/loadavg` (`0.52 0.58 0.59 1/467 12345`).
pub fn parse_loadavg(text: &str) -> Result<LoadAvg> {
    let mut f = text.split_ascii_whitespace().map(str::parse::<f64>);
    match (f.next(), f.next(), f.next()) {
        (Some(Ok(one)), Some(Ok(five)), Some(Ok(fifteen))) => Ok(LoadAvg { one, five, fifteen }),
        _ => Err(CollectorError::Parse { file: "loadavg", reason: "expected three load averages" }),
    }
}

/// Parses `/proc/uptime` (`350735.47 234388.90`), returning seconds since boot.
pub fn parse_uptime(text: &str) -> Result<f64> {
    text.split_ascii_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or(CollectorError::Parse { file: "uptime", reason: "expected seconds since boot" })
}

/// The CPU model from `/proc/cpuinfo`: `model name` on x86, with the keys other
/// architectures use as fallbacks.
pub fn parse_cpu_model(text: &str) -> Option<String> {
    let mut fallback = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let (key, value) = (key.trim(), value.trim());
        if value.is_empty() {
            continue;
        }
        match key {
            "model name" => return Some(value.to_owned()),
            "Hardware" | "cpu model" | "cpu" | "uarch" | "Model" if fallback.is_none() => {
                fallback = Some(value.to_owned());
            }
            _ => {}
        }
    }
    fallback
}

/// `PRETTY_NAME` from an os-release file, unquoted; `NAME` if there is no pretty name.
pub fn parse_os_release(text: &str) -> Option<String> {
    let mut name = None;
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else { continue };
        let value = unquote(value.trim());
        if value.is_empty() {
            continue;
        }
        match key {
            "PRETTY_NAME" => return Some(value),
            "NAME" => name = Some(value),
            _ => {}
        }
    }
    name
}

fn unquote(v: &str) -> String {
    let inner = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    // /proc/stat of a 2-vCPU GCP VM (trimmed intr/softirq lines).
    const STAT_2CORE: &str = "\
cpu  158339 1287 52938 7466122 10543 0 2093 3120 0 0
cpu0 79120 640 26582 3732511 5220 0 1400 1570 0 0
cpu1 79219 647 26356 3733611 5323 0 693 1550 0 0
intr 22461736 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 41739382
btime 1718000000
processes 183456
procs_running 2
procs_blocked 1
softirq 9342118 0 2763019 3 538261 0 0 1 3287418 0 2753416
";

    #[test]
    fn stat_realistic() {
        let mut s = StatSample::default();
        parse_stat(STAT_2CORE, &mut s).unwrap();
        assert_eq!(s.total.user, 158339);
        assert_eq!(s.total.steal, 3120);
        assert_eq!(s.cores.len(), 2);
        assert_eq!(s.cores[1].core, 1);
        assert_eq!(s.cores[1].times.idle, 3733611);
        assert_eq!(s.boot_time_secs, 1718000000);
        assert_eq!((s.procs_running, s.procs_blocked), (2, 1));
        assert_eq!(s.total.total(), 158339 + 1287 + 52938 + 7466122 + 10543 + 2093 + 3120);
    }

    #[test]
    fn stat_reuses_and_shrinks_cores() {
        let mut s = StatSample::default();
        parse_stat(STAT_2CORE, &mut s).unwrap();
        parse_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n", &mut s).unwrap();
        assert_eq!(s.cores.len(), 1);
        assert_eq!(s.total, CpuTimes { user: 1, nice: 2, system: 3, idle: 4, ..CpuTimes::default() });
    }

    #[test]
    fn stat_malformed() {
        let mut s = StatSample::default();
        let text = "cpu  10 20 30 40 50\ncpu0 x y z\ncpuX 1 2 3 4\ncpu1 1 2\ncpu2 5 5 5 5 5 5 5 5 5 5 5 5\nbtime\n\n";
        parse_stat(text, &mut s).unwrap();
        assert_eq!(s.total.iowait, 50);
        assert_eq!(s.cores.len(), 1);
        assert_eq!(s.cores[0].core, 2);
        assert_eq!(s.boot_time_secs, 0);
        assert!(parse_stat("cpu0 1 2 3 4\n", &mut s).is_err());
        assert!(parse_stat("", &mut s).is_err());
    }

    const MEMINFO: &str = "\
MemTotal:        1004300 kB
MemFree:           81232 kB
MemAvailable:     512004 kB
Buffers:           30120 kB
Cached:           380412 kB
SwapCached:            0 kB
Active:           402332 kB
Shmem:              1204 kB
SReclaimable:      40100 kB
SUnreclaim:        25000 kB
SwapTotal:        524284 kB
SwapFree:         500000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
";

    #[test]
    fn meminfo_realistic() {
        let m = parse_meminfo(MEMINFO).unwrap();
        assert_eq!(m.total, 1004300 * 1024);
        assert_eq!(m.available, 512004 * 1024);
        assert_eq!(m.cached, (380412 + 40100) * 1024);
        assert_eq!(m.buffers, 30120 * 1024);
        assert_eq!(m.swap_total - m.swap_free, 24284 * 1024);
    }

    #[test]
    fn meminfo_old_kernel_and_malformed() {
        let m =
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: nope\nJunk\n: 5 kB\n").unwrap();
        assert_eq!(m.available, 150 * 1024);
        assert_eq!(m.cached, 0);
        assert!(parse_meminfo("MemFree: 100 kB\n").is_err());
    }

    #[test]
    fn loadavg_and_uptime() {
        let l = parse_loadavg("0.52 0.58 0.59 1/467 12345\n").unwrap();
        assert_eq!((l.one, l.five, l.fifteen), (0.52, 0.58, 0.59));
        assert!(parse_loadavg("0.52 0.58\n").is_err());
        assert!(parse_loadavg("a b c").is_err());
        assert_eq!(parse_uptime("350735.47 234388.90\n").unwrap(), 350735.47);
        assert!(parse_uptime("").is_err());
        assert!(parse_uptime("-1 2").is_err());
    }

    #[test]
    fn cpu_model_and_os_release() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B12\n\nprocessor\t: 1\n";
        assert_eq!(parse_cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B12"));
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4\n";
        assert_eq!(parse_cpu_model(arm).as_deref(), Some("BCM2835"));
        assert_eq!(parse_cpu_model("garbage"), None);

        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n";
        assert_eq!(parse_os_release(os).as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(parse_os_release("NAME=Alpine\n").as_deref(), Some("Alpine"));
        assert_eq!(parse_os_release("PRETTY_NAME=''\n"), None);
    }
}
