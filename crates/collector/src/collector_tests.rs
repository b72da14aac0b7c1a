//! Tests for [`Collector`] driven by scripted [`crate::FakeSource`] samples.

use super::*;
use crate::fake::FakeSource;
use crate::raw::{CoreTimes, CpuTimes, DiskCounters, FsStats, MemInfo, NetCounters, StatSample};

const GIB: u64 = 1 << 30;

fn cpu(user: u64, system: u64, idle: u64, iowait: u64, steal: u64) -> CpuTimes {
    CpuTimes { user, system, idle, iowait, steal, ..CpuTimes::default() }
}

/// A 2-core host at `secs` seconds with the given aggregate CPU counters and
/// cumulative eth0 / sda byte counters.
fn sample(secs: u64, total: CpuTimes, net_bytes: u64, disk_bytes: u64) -> RawSample {
    let half = CpuTimes {
        user: total.user / 2,
        system: total.system / 2,
        idle: total.idle / 2,
        iowait: total.iowait / 2,
        steal: total.steal / 2,
        ..CpuTimes::default()
    };
    RawSample {
        monotonic: Duration::from_secs(secs),
        timestamp_ms: 1_700_000_000_000 + secs as i64 * 1000,
        stat: StatSample {
            total,
            cores: vec![CoreTimes { core: 0, times: half }, CoreTimes { core: 1, times: half }],
            ..StatSample::default()
        },
        mem: MemInfo {
            total: 4 * GIB,
            free: GIB / 2,
            available: GIB,
            buffers: 0,
            cached: GIB / 4,
            swap_total: 0,
            swap_free: 0,
        },
        net: vec![
            NetCounters { name: "lo".into(), rx_bytes: net_bytes * 10, tx_bytes: net_bytes * 10, ..Default::default() },
            NetCounters { name: "eth0".into(), rx_bytes: net_bytes, tx_bytes: net_bytes / 2, ..Default::default() },
        ],
        disks: vec![
            DiskCounters {
                name: "sda".into(),
                counted: true,
                read_bytes: disk_bytes,
                written_bytes: disk_bytes * 2,
                ..Default::default()
            },
            DiskCounters {
                name: "sda1".into(),
                counted: false,
                read_bytes: disk_bytes,
                written_bytes: disk_bytes * 2,
                ..Default::default()
            },
        ],
        process_count: 42,
        ..RawSample::default()
    }
}

fn root_mount() -> MountEntry {
    MountEntry { device: "/dev/sda1".into(), mount_point: "/".into(), fs_type: "ext4".into() }
}

fn fake() -> FakeSource {
    let mut f = FakeSource::new();
    f.set_mounts(vec![
        root_mount(),
        MountEntry { device: "proc".into(), mount_point: "/proc".into(), fs_type: "proc".into() },
        MountEntry { device: "tmpfs".into(), mount_point: "/run".into(), fs_type: "tmpfs".into() },
        MountEntry { device: "/dev/sda1".into(), mount_point: "/var/lib/docker".into(), fs_type: "ext4".into() },
        MountEntry { device: "/dev/sdb".into(), mount_point: "/data".into(), fs_type: "xfs".into() },
        MountEntry { device: "odd".into(), mount_point: "/odd".into(), fs_type: "weirdfs".into() },
    ]);
    f.set_fs_stats(
        "/",
        FsStats { total_bytes: 100, free_bytes: 40, available_bytes: 30, inodes_total: 10, inodes_free: 5 },
    );
    f.set_fs_stats("/run", FsStats { total_bytes: 100, ..FsStats::default() });
    f.set_fs_stats("/odd", FsStats::default()); // zero blocks
    // "/data" has no statvfs answer: skipped, not fatal.
    f
}

fn proc(pid: u32, ticks: u64, rss: u64) -> ProcessSample {
    ProcessSample { pid, start_ticks: 1, name: format!("p{pid}"), cpu_ticks: ticks, rss_bytes: rss }
}

#[test]
fn known_answers_from_two_samples() {
    let mut f = fake();
    f.push_sample(sample(10, cpu(100, 100, 1000, 0, 0), 1000, 512));
    // +400 ticks: user 100, system 60, idle 200, iowait 20, steal 20; 2 s later.
    f.push_sample(sample(12, cpu(200, 160, 1200, 20, 20), 5000, 4608));
    let mut c = Collector::new(f, CollectorConfig::default());

    let first = c.sample().unwrap().clone();
    assert_eq!(first.cpu, None);
    assert!(first.cores.is_empty());
    assert_eq!(first.network.rx_bytes_per_sec, None);
    assert!(first.network.interfaces.iter().all(|i| i.rx_bytes_per_sec.is_none()));
    assert_eq!(first.disk_io.read_bytes_per_sec, None);
    assert_eq!(first.memory.used_bytes, 3 * GIB);
    assert_eq!(first.memory.percent, 75.0);
    assert_eq!(first.process_count, 42);

    let s = c.sample().unwrap();
    let u = s.cpu.unwrap();
    assert_eq!((u.user, u.system, u.idle, u.iowait, u.steal, u.busy), (25.0, 15.0, 50.0, 5.0, 5.0, 45.0));
    assert_eq!(s.cores.len(), 2);
    assert_eq!(s.cores[1].usage, u);
    // eth0 rx: (5000 - 1000) / 2 s; lo moves ten times as much but is not in totals.
    assert_eq!(s.network.rx_bytes_per_sec, Some(2000.0));
    assert_eq!(s.network.tx_bytes_per_sec, Some(1000.0));
    assert_eq!(s.network.interfaces[0].rx_bytes_per_sec, Some(20000.0));
    // sda only (sda1 is a partition): (4608 - 512) / 2.
    assert_eq!(s.disk_io.read_bytes_per_sec, Some(2048.0));
    assert_eq!(s.disk_io.write_bytes_per_sec, Some(4096.0));
    assert_eq!(s.timestamp_ms, 1_700_000_012_000);
}

#[test]
fn pseudo_filesystems_are_filtered() {
    let mut f = fake();
    f.push_sample(sample(1, cpu(1, 1, 1, 0, 0), 0, 0));
    let mut c = Collector::new(f, CollectorConfig::default());
    let s = c.sample().unwrap();
    assert_eq!(s.filesystems.len(), 1);
    let root = &s.filesystems[0];
    assert_eq!((root.mount_point.as_str(), root.used_bytes, root.available_bytes), ("/", 60, 30));
    assert_eq!(root.percent, 6000.0 / 90.0);
    assert_eq!(root.inodes_used, 5);
}

#[test]
fn counter_reset_reads_as_zero() {
    let mut f = fake();
    f.push_sample(sample(1, cpu(100, 100, 100, 0, 0), 1_000_000, 1_000_000));
    // Counters restart (e.g. interface re-created); CPU counters all drop too.
    f.push_sample(sample(2, cpu(10, 10, 10, 0, 0), 10, 10));
    f.push_sample(sample(3, cpu(20, 20, 30, 0, 0), 1010, 522));
    let mut c = Collector::new(f, CollectorConfig::default());
    c.sample().unwrap();
    let s = c.sample().unwrap();
    assert_eq!(s.cpu, None);
    assert_eq!(s.network.rx_bytes_per_sec, Some(0.0));
    assert_eq!(s.disk_io.read_bytes_per_sec, Some(0.0));
    let s = c.sample().unwrap();
    assert_eq!(s.network.rx_bytes_per_sec, Some(1000.0));
    assert_eq!(s.disk_io.read_bytes_per_sec, Some(512.0));
    assert_eq!(s.cpu.map(|u| u.idle), Some(50.0));
}

#[test]
fn clock_not_advancing_gives_no_rates() {
    let mut f = fake();
    f.push_sample(sample(5, cpu(0, 0, 0, 0, 0), 0, 0));
    f.push_sample(sample(5, cpu(10, 0, 10, 0, 0), 100, 100));
    let mut c = Collector::new(f, CollectorConfig::default());
    c.sample().unwrap();
    let s = c.sample().unwrap();
    assert_eq!(s.network.rx_bytes_per_sec, None);
    assert_eq!(s.disk_io.read_bytes_per_sec, None);
    assert_eq!(s.cpu.map(|u| u.user), Some(50.0)); // CPU shares need ticks, not time
}

#[test]
fn ring_never_exceeds_capacity() {
    let mut f = fake();
    for i in 0..25 {
        f.push_sample(sample(i, cpu(i, i, i, 0, 0), i, i));
    }
    let config = CollectorConfig { ring_capacity: 10, ..CollectorConfig::default() };
    let mut c = Collector::new(f, config);
    for _ in 0..25 {
        c.sample().unwrap();
        assert!(c.ring().len() <= 10);
    }
    assert_eq!(c.ring().len(), 10);
    let stamps: Vec<_> = c.ring().iter().map(|s| s.timestamp_ms).collect();
    assert_eq!(stamps.first(), Some(&1_700_000_015_000));
    assert_eq!(c.latest().map(|s| s.timestamp_ms), Some(1_700_000_024_000));
    assert!(matches!(c.sample(), Err(crate::CollectorError::Exhausted)));
    assert_eq!(c.ring().len(), 10);
}

#[test]
fn top_processes_order_and_cadence() {
    let mut f = fake();
    // Machine ticks: 0 -> 1000 -> 2000 ... (1000 per second across both cores).
    for i in 0..=35u64 {
        f.push_sample(sample(i, cpu(i * 500, 0, i * 500, 0, 0), 0, 0));
    }
    let base = (1..=7).map(|pid| proc(pid, 0, u64::from(pid) * 100)).collect::<Vec<_>>();
    f.push_processes(base);
    // One second later: pid 3 used 500 ticks, pid 6 300, pid 1 100, pid 7 exited.
    f.push_processes(vec![
        proc(1, 100, 100),
        proc(2, 0, 200),
        proc(3, 500, 300),
        proc(4, 0, 400),
        proc(5, 0, 500),
        proc(6, 300, 600),
        proc(8, 50, 50),
    ]);
    let mut c = Collector::new(f, CollectorConfig::default());

    let first = c.sample().unwrap();
    assert!(first.top_processes.by_cpu.is_empty());
    let mem: Vec<_> = first.top_processes.by_memory.iter().map(|p| p.pid).collect();
    assert_eq!(mem, [7, 6, 5, 4, 3]);

    let second = c.sample().unwrap();
    let by_cpu: Vec<_> = second.top_processes.by_cpu.iter().map(|p| (p.pid, p.cpu_percent)).collect();
    // pid 8 is new: all its 50 ticks count. Ties at 0% order by memory.
    assert_eq!(by_cpu, [(3, Some(50.0)), (6, Some(30.0)), (1, Some(10.0)), (8, Some(5.0)), (5, Some(0.0))]);
    assert_eq!(second.top_processes.by_cpu.len(), 5);
    assert_eq!(second.top_processes.sampled_at_ms, Some(1_700_000_001_000));
    assert_eq!(c.source().process_reads(), 2);

    // Not rescanned until 30 s after the last scan; snapshots share the lists.
    for _ in 2..31 {
        c.sample().unwrap();
    }
    assert_eq!(c.source().process_reads(), 2);
    let a = c.latest().map(|s| Arc::clone(&s.top_processes)).unwrap();
    c.sample().unwrap(); // t = 31
    assert_eq!(c.source().process_reads(), 3);
    assert!(!Arc::ptr_eq(&a, &c.latest().unwrap().top_processes));
    assert_eq!(c.source().mount_reads(), 2); // t = 0 and t = 30
}

#[test]
fn snapshot_serializes_camel_case() {
    let mut f = fake();
    f.push_sample(sample(1, cpu(1, 1, 1, 0, 0), 0, 0));
    f.push_sample(sample(2, cpu(2, 2, 2, 0, 0), 0, 0));
    let mut c = Collector::new(f, CollectorConfig::default());
    c.sample().unwrap();
    let json = serde_json::to_value(c.sample().unwrap()).unwrap();
    for key in ["timestampMs", "uptimeSecs", "cpu", "cores", "memory", "swap", "diskIo", "topProcesses"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert!(json["memory"].get("availableBytes").is_some());
    assert!(json["network"].get("rxBytesPerSec").is_some());
    assert!(json["topProcesses"].get("byMemory").is_some());
}

#[test]
fn process_rescan_until_cpu_ranking_exists() {
    let mut f = fake();
    // CPU counters do not move for the first three samples.
    for i in 0..3 {
        f.push_sample(sample(i, cpu(0, 0, 100, 0, 0), 0, 0));
    }
    for i in 3..12 {
        f.push_sample(sample(i, cpu(i * 100, 0, 100, 0, 0), 0, 0));
    }
    f.push_processes(vec![proc(1, 0, 10)]);
    let mut c = Collector::new(f, CollectorConfig::default());
    for _ in 0..3 {
        assert!(c.sample().unwrap().top_processes.by_cpu.is_empty());
    }
    assert!(!c.sample().unwrap().top_processes.by_cpu.is_empty());
    assert_eq!(c.source().process_reads(), 4);
    for _ in 4..12 {
        c.sample().unwrap();
    }
    assert_eq!(c.source().process_reads(), 4);
}

#[test]
fn collector_can_move_to_a_blocking_task() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Collector<crate::ProcSource>>();
    assert_send::<Collector<FakeSource>>();
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<HostSnapshot>();
}
