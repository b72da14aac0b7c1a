//! Tests for [`ProcSource`] against the checked-in fixture and the real host.

use super::*;
use crate::collector::{Collector, CollectorConfig};

fn fixture() -> ProcSource {
    ProcSource::with_root(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vm2"))
}

#[test]
fn pid_names() {
    assert_eq!(parse_pid(b"1234"), Some(1234));
    assert_eq!(parse_pid(b"self"), None);
    assert_eq!(parse_pid(b""), None);
    assert_eq!(parse_pid(b"99999999999"), None);
}

#[test]
fn fixture_sample() {
    let mut src = fixture();
    let mut raw = RawSample::default();
    src.read_sample(&mut raw).unwrap();
    assert_eq!(raw.stat.cores.len(), 2);
    assert_eq!(raw.mem.total, 1004300 * 1024);
    assert_eq!(raw.load.one, 0.08);
    assert_eq!(raw.uptime_secs, 350735.47);
    assert_eq!(raw.net.len(), 2);
    assert_eq!(raw.process_count, 3);
    // /sys/block lists sda and loop0; only sda counts.
    let counted: Vec<_> = raw.disks.iter().filter(|d| d.counted).map(|d| d.name.as_str()).collect();
    assert_eq!(counted, ["sda"]);
}

#[test]
fn fixture_mounts_processes_and_info() {
    let mut src = fixture();
    let mut mounts = Vec::new();
    src.read_mounts(&mut mounts).unwrap();
    assert_eq!(mounts.len(), 6);

    let mut procs = Vec::new();
    src.read_processes(&mut procs).unwrap();
    procs.sort_by_key(|p| p.pid);
    let names: Vec<_> = procs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["systemd", "openmanager", "node exporter"]);
    assert_eq!(procs[1].cpu_ticks, 1820);
    assert_eq!(procs[1].rss_bytes, 4321 * src.page_size);

    let info = src.system_info().unwrap();
    assert_eq!(info.hostname, "openmanager-hub");
    assert_eq!(info.os, "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(info.kernel, "6.1.0-21-cloud-amd64");
    assert_eq!(info.cpu_model, "AMD EPYC 7B12");
    assert_eq!(info.cores, 2);
    assert_eq!(info.boot_time_ms, 1_718_000_000_000);
}

#[test]
fn fixture_collector_end_to_end() {
    let mut c = Collector::new(fixture(), CollectorConfig::default());
    let first = c.sample().unwrap().clone();
    assert!(first.cpu.is_none());
    // `/` maps to the fixture root, which exists; `/boot/efi` does not and is skipped.
    let points: Vec<_> = first.filesystems.iter().map(|f| f.mount_point.as_str()).collect();
    assert_eq!(points, ["/"]);
    assert_eq!(first.top_processes.by_memory[0].name, "openmanager");
    let second = c.sample().unwrap();
    // Same files twice: no ticks passed, so no CPU figure, and zero traffic.
    assert!(second.cpu.is_none());
    assert!(second.network.rx_bytes_per_sec.is_none_or(|r| r == 0.0));
    serde_json::to_string(second).unwrap();
}

#[test]
fn missing_root_is_an_error_not_a_panic() {
    let mut src = ProcSource::with_root("/nonexistent-collector-root");
    let mut raw = RawSample::default();
    assert!(matches!(src.read_sample(&mut raw), Err(CollectorError::Io { .. })));
    assert!(src.system_info().is_err());
    let mut procs = Vec::new();
    assert!(src.read_processes(&mut procs).is_err());
}

#[test]
fn real_host_sanity() {
    let mut c = Collector::new(ProcSource::new(), CollectorConfig::default());
    let info = c.system_info().unwrap();
    assert!(info.cores >= 1);
    assert!(info.memory_total_bytes > 0);
    assert!(!info.kernel.is_empty());

    let first = c.sample().unwrap().clone();
    assert!(first.cpu.is_none());
    assert!(first.memory.total_bytes > 0);
    assert!((0.0..=100.0).contains(&first.memory.percent));
    assert!(first.process_count >= 1);
    assert!(!first.top_processes.by_memory.is_empty());
    for fs in &first.filesystems {
        assert!((0.0..=100.0).contains(&fs.percent), "{fs:?}");
    }

    // Busy-loop on counters (not time) for a little CPU to show up; fine if none does.
    let mut x = 0u64;
    for i in 0..2_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
    }
    std::hint::black_box(x);

    let second = c.sample().unwrap();
    if let Some(cpu) = second.cpu {
        for v in [cpu.user, cpu.system, cpu.iowait, cpu.steal, cpu.idle, cpu.busy] {
            assert!((0.0..=100.0).contains(&v), "{cpu:?}");
        }
    }
    for core in &second.cores {
        assert!((0.0..=100.0).contains(&core.usage.busy));
    }
    for p in &second.top_processes.by_cpu {
        assert!(p.cpu_percent.is_some_and(|v| (0.0..=100.0).contains(&v)));
    }
    assert!(second.network.rx_bytes_per_sec.is_none_or(|r| r >= 0.0));
    assert!(second.disk_io.read_bytes_per_sec.is_none_or(|r| r >= 0.0));
    assert_eq!(c.ring().len(), 2);
}
