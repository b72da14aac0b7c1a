//! Maps the collector's [`HostSnapshot`] to the wire's [`Sample`] (the metric names of
//! `protocol::metric`) and [`SystemInfo`] plus the latest snapshot to an [`Inventory`].
//!
//! Choices worth knowing:
//! - A metric whose value is unknown is left out, never sent as a made-up zero: `cpu` and the byte
//!   rates on the first sample (they need two readings), `disk` on a host with no real filesystem,
//!   `memory` when the total is unknown, and anything non-finite.
//! - `disk` is the root filesystem's percent used; without a `/` mount (some containers) it is the
//!   fullest filesystem's, the one most likely to need attention.
//! - `net_rx`/`net_tx` exclude loopback (the collector's totals already do).
//! - Values are rounded to what a chart can show (percent and load to 0.01, rates to whole bytes
//!   per second, uptime to whole seconds), which keeps each spooled line short.

use std::collections::BTreeMap;

use collector::{HostSnapshot, ProcessInfo, SystemInfo};
use protocol::{Disk, Interface, Inventory, Process, Sample, metric};

/// The sample to report for `snap`.
pub fn to_sample(snap: &HostSnapshot) -> Sample {
    let mut values = BTreeMap::new();
    let mut put = |name: &str, value: Option<f64>| {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            values.insert(name.to_owned(), v);
        }
    };
    put(metric::CPU, snap.cpu.map(|c| round2(c.busy)));
    put(metric::MEMORY, (snap.memory.total_bytes > 0).then(|| round2(snap.memory.percent)));
    put(metric::DISK, disk_percent(snap).map(round2));
    // 0 on a host without swap is a true figure (nothing swapped), not an unknown.
    put(metric::SWAP, Some(round2(snap.swap.percent)));
    put(metric::NET_RX, snap.network.rx_bytes_per_sec.map(f64::round));
    put(metric::NET_TX, snap.network.tx_bytes_per_sec.map(f64::round));
    put(metric::DISK_READ, snap.disk_io.read_bytes_per_sec.map(f64::round));
    put(metric::DISK_WRITE, snap.disk_io.write_bytes_per_sec.map(f64::round));
    put(metric::LOAD1, Some(round2(snap.load.one)));
    put(metric::LOAD5, Some(round2(snap.load.five)));
    put(metric::LOAD15, Some(round2(snap.load.fifteen)));
    // Every Linux host runs at least one process; zero means the count could not be read.
    put(metric::PROCESSES, (snap.process_count > 0).then_some(snap.process_count as f64));
    put(metric::UPTIME, (snap.uptime_secs > 0.0).then(|| snap.uptime_secs.round()));
    Sample { timestamp_ms: snap.timestamp_ms, values }
}

/// The root filesystem's percent used, else the fullest filesystem's.
fn disk_percent(snap: &HostSnapshot) -> Option<f64> {
    let fs = &snap.filesystems;
    fs.iter()
        .find(|f| f.mount_point == "/")
        .map(|f| f.percent)
        .or_else(|| fs.iter().map(|f| f.percent).filter(|p| p.is_finite()).reduce(f64::max))
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The host's description and latest detail; `ip` is the address the agent reaches the hub from.
pub fn to_inventory(info: &SystemInfo, snap: Option<&HostSnapshot>, ip: &str) -> Inventory {
    let mut inv = Inventory {
        os: info.os.clone(),
        kernel: info.kernel.clone(),
        arch: info.arch.clone(),
        cpu_model: info.cpu_model.clone(),
        cpu_cores: info.cores,
        memory_total_bytes: info.memory_total_bytes,
        ip: ip.to_owned(),
        boot_time_ms: info.boot_time_ms,
        ..Inventory::default()
    };
    let Some(snap) = snap else { return inv };
    // The collector lists one filesystem per device, so the sum does not count a disk twice.
    inv.disk_total_bytes = snap.filesystems.iter().map(|f| f.total_bytes).sum();
    inv.interfaces = snap
        .network
        .interfaces
        .iter()
        .filter(|i| i.name != "lo")
        .map(|i| Interface {
            name: i.name.clone(),
            rx_bytes: i.rx_bytes,
            tx_bytes: i.tx_bytes,
            rx_errors: i.rx_errors,
            tx_errors: i.tx_errors,
        })
        .collect();
    inv.disks = snap
        .filesystems
        .iter()
        .map(|f| Disk {
            mount: f.mount_point.clone(),
            used_bytes: f.used_bytes,
            total_bytes: f.total_bytes,
            percent: round2(f.percent),
        })
        .collect();
    inv.top_processes = top_processes(&snap.top_processes.by_cpu, &snap.top_processes.by_memory);
    inv.cpu_cores_percent = snap.cores.iter().map(|c| round2(c.usage.busy)).collect();
    inv
}

/// The CPU leaders, then the memory leaders not already listed: one list serves both views.
fn top_processes(by_cpu: &[ProcessInfo], by_memory: &[ProcessInfo]) -> Vec<Process> {
    let mut out: Vec<Process> = Vec::with_capacity(by_cpu.len() + by_memory.len());
    for p in by_cpu.iter().chain(by_memory) {
        if out.iter().any(|o| o.pid == p.pid) {
            continue;
        }
        out.push(Process {
            pid: p.pid,
            name: p.name.clone(),
            // Unknown before the second process scan; the list is then ranked by memory anyway.
            cpu: p.cpu_percent.map_or(0.0, round2),
            memory_bytes: p.memory_bytes,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use collector::{
        Collector, CollectorConfig, CoreTimes, CpuTimes, DiskCounters, FakeSource, FsStats, MemInfo, MountEntry,
        NetCounters, ProcessSample, RawSample, StatSample,
    };

    use super::*;

    const GIB: u64 = 1 << 30;

    fn raw(secs: u64, busy: u64, idle: u64, bytes: u64) -> RawSample {
        let times = CpuTimes { user: busy, idle, ..CpuTimes::default() };
        RawSample {
            monotonic: Duration::from_secs(secs),
            timestamp_ms: 1_700_000_000_000 + secs as i64 * 1000,
            stat: StatSample { total: times, cores: vec![CoreTimes { core: 0, times }], ..StatSample::default() },
            mem: MemInfo { total: 4 * GIB, available: GIB, swap_total: GIB, swap_free: GIB / 2, ..MemInfo::default() },
            load: collector::LoadAvg { one: 0.123, five: 0.5, fifteen: 1.0 },
            uptime_secs: 1000.4 + secs as f64,
            net: vec![
                NetCounters { name: "lo".into(), rx_bytes: bytes * 100, tx_bytes: bytes * 100, ..Default::default() },
                NetCounters { name: "eth0".into(), rx_bytes: bytes, tx_bytes: bytes / 2, ..Default::default() },
            ],
            disks: vec![DiskCounters {
                name: "sda".into(),
                counted: true,
                read_bytes: bytes,
                written_bytes: bytes * 2,
                ..Default::default()
            }],
            process_count: 42,
        }
    }

    fn collector(root_mounted: bool) -> Collector<FakeSource> {
        let mut f = FakeSource::new();
        let mut mounts =
            vec![MountEntry { device: "/dev/sdb".into(), mount_point: "/data".into(), fs_type: "xfs".into() }];
        let fs = |total: u64, free: u64| FsStats {
            total_bytes: total,
            free_bytes: free,
            available_bytes: free,
            inodes_total: 0,
            inodes_free: 0,
        };
        f.set_fs_stats("/data", fs(100 * GIB, 10 * GIB));
        if root_mounted {
            mounts
                .insert(0, MountEntry { device: "/dev/sda1".into(), mount_point: "/".into(), fs_type: "ext4".into() });
            f.set_fs_stats("/", fs(10 * GIB, 7 * GIB));
        }
        f.set_mounts(mounts);
        f.set_system_info(SystemInfo {
            hostname: "web-1".into(),
            os: "Debian".into(),
            cores: 1,
            memory_total_bytes: 4 * GIB,
            ..SystemInfo::default()
        });
        let pr = |pid: u32, ticks: u64, rss: u64| ProcessSample {
            pid,
            start_ticks: 1,
            name: format!("p{pid}"),
            cpu_ticks: ticks,
            rss_bytes: rss,
        };
        f.push_processes(vec![pr(1, 0, GIB), pr(2, 0, 1)]);
        f.push_processes(vec![pr(1, 0, GIB), pr(2, 50, 1)]);
        f.push_sample(raw(0, 100, 100, 0));
        f.push_sample(raw(2, 200, 200, 4000));
        Collector::new(f, CollectorConfig { ring_capacity: 1, ..CollectorConfig::default() })
    }

    #[test]
    fn first_sample_leaves_out_what_is_unknown() {
        let mut c = collector(true);
        let s = to_sample(c.sample().unwrap());
        assert_eq!(s.timestamp_ms, 1_700_000_000_000);
        for unknown in [metric::CPU, metric::NET_RX, metric::NET_TX, metric::DISK_READ, metric::DISK_WRITE] {
            assert!(!s.values.contains_key(unknown), "{unknown} sent on the first sample: {s:?}");
        }
        assert_eq!(s.values[metric::MEMORY], 75.0);
        assert_eq!(s.values[metric::SWAP], 50.0);
        assert_eq!(s.values[metric::DISK], 30.0, "the root filesystem, not the fuller /data");
        assert_eq!(s.values[metric::LOAD1], 0.12);
        assert_eq!(s.values[metric::LOAD15], 1.0);
        assert_eq!(s.values[metric::PROCESSES], 42.0);
        assert_eq!(s.values[metric::UPTIME], 1000.0);
    }

    #[test]
    fn second_sample_has_cpu_and_rates_without_loopback() {
        let mut c = collector(true);
        c.sample().unwrap();
        let s = to_sample(c.sample().unwrap());
        assert_eq!(s.values[metric::CPU], 50.0);
        assert_eq!(s.values[metric::NET_RX], 2000.0, "eth0 only, per second over 2 s");
        assert_eq!(s.values[metric::NET_TX], 1000.0);
        assert_eq!(s.values[metric::DISK_READ], 2000.0);
        assert_eq!(s.values[metric::DISK_WRITE], 4000.0);
        assert!(s.values.len() <= protocol::MAX_METRICS_PER_SAMPLE);
    }

    #[test]
    fn disk_falls_back_to_the_fullest_filesystem() {
        let mut c = collector(false);
        let s = to_sample(c.sample().unwrap());
        assert_eq!(s.values[metric::DISK], 90.0);
        let mut empty = HostSnapshot::default();
        empty.memory.total_bytes = 0;
        let s = to_sample(&empty);
        assert!(!s.values.contains_key(metric::DISK) && !s.values.contains_key(metric::MEMORY));
        assert!(!s.values.contains_key(metric::PROCESSES) && !s.values.contains_key(metric::UPTIME));
    }

    #[test]
    fn inventory_from_system_info_and_the_latest_snapshot() {
        let mut c = collector(true);
        let info = c.system_info().unwrap();
        assert_eq!(to_inventory(&info, None, "").os, "Debian");
        c.sample().unwrap();
        let snap = c.sample().unwrap().clone();
        let inv = to_inventory(&info, Some(&snap), "10.0.0.5");
        assert_eq!(inv.ip, "10.0.0.5");
        assert_eq!(inv.cpu_cores, 1);
        assert_eq!(inv.memory_total_bytes, 4 * GIB);
        assert_eq!(inv.disk_total_bytes, 110 * GIB);
        assert_eq!(inv.disks.iter().map(|d| d.mount.as_str()).collect::<Vec<_>>(), ["/", "/data"]);
        assert_eq!(inv.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["eth0"]);
        assert_eq!(inv.cpu_cores_percent, vec![50.0]);
        // CPU leader first, then the memory leader, each once.
        let pids: Vec<u32> = inv.top_processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![2, 1], "{:?}", inv.top_processes);
        assert!(inv.top_processes[0].cpu > 0.0);
    }
}
