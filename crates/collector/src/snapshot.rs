//! The serializable output types: [`HostSnapshot`] (one per sample) and [`SystemInfo`] (static).
//!
//! Fields serialize in camelCase. Percentages are 0-100 `f64`, sizes are bytes as
//! `u64`, rates are bytes per second as `f64`. A rate or CPU figure is `None` when
//! it cannot be known yet (the first sample) rather than a made-up zero.

use std::sync::Arc;

use serde::Serialize;

/// Facts about the host that do not change while it runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    /// Kernel hostname.
    pub hostname: String,
    /// `PRETTY_NAME` from os-release, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub os: String,
    /// Kernel release, e.g. `6.1.0-21-cloud-amd64`.
    pub kernel: String,
    /// CPU architecture this binary was built for, e.g. `x86_64`.
    pub arch: String,
    /// CPU model name.
    pub cpu_model: String,
    /// Online logical CPUs.
    pub cores: u32,
    /// Physical memory in bytes.
    pub memory_total_bytes: u64,
    /// Boot time, milliseconds since the Unix epoch.
    pub boot_time_ms: i64,
}

/// Everything measured at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostSnapshot {
    /// When the sample was read, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Seconds since boot.
    pub uptime_secs: f64,
    /// Whole-machine CPU use since the previous sample; `None` on the first sample.
    pub cpu: Option<CpuUsage>,
    /// Per-core CPU use since the previous sample; empty on the first sample.
    pub cores: Vec<CoreUsage>,
    /// Load averages.
    pub load: LoadAverage,
    /// Physical memory.
    pub memory: MemoryUsage,
    /// Swap.
    pub swap: SwapUsage,
    /// Real mounted filesystems, one per device.
    pub filesystems: Vec<FilesystemUsage>,
    /// Block I/O summed over whole physical disks.
    pub disk_io: DiskIo,
    /// Per-interface traffic and totals.
    pub network: NetworkUsage,
    /// Number of processes.
    pub process_count: u64,
    /// Runnable tasks at the time of the sample.
    pub procs_running: u64,
    /// Tasks blocked on I/O at the time of the sample.
    pub procs_blocked: u64,
    /// Top processes, refreshed on a slower cadence and shared between snapshots.
    pub top_processes: Arc<TopProcesses>,
}

/// CPU time split, as percentages of the interval (they add up to about 100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuUsage {
    /// User plus nice time.
    pub user: f64,
    /// Kernel, irq and softirq time.
    pub system: f64,
    /// Idle with I/O outstanding.
    pub iowait: f64,
    /// Stolen by the hypervisor (the number that matters on a shared-core VM).
    pub steal: f64,
    /// Idle.
    pub idle: f64,
    /// Everything but idle and iowait.
    pub busy: f64,
}

/// CPU use of one core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoreUsage {
    /// The kernel's CPU number.
    pub core: u32,
    /// Its use since the previous sample.
    pub usage: CpuUsage,
}

/// Load averages from `/proc/loadavg`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadAverage {
    /// 1 minute.
    pub one: f64,
    /// 5 minutes.
    pub five: f64,
    /// 15 minutes.
    pub fifteen: f64,
}

/// Physical memory. `used` is `total - available`, as modern `free` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryUsage {
    /// Total usable RAM.
    pub total_bytes: u64,
    /// Memory not available for new allocations.
    pub used_bytes: u64,
    /// Memory available for new allocations without swapping.
    pub available_bytes: u64,
    /// Completely unused memory.
    pub free_bytes: u64,
    /// Page cache plus reclaimable slab.
    pub cached_bytes: u64,
    /// Block device buffers.
    pub buffers_bytes: u64,
    /// `used / total`, 0-100.
    pub percent: f64,
}

/// Swap space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SwapUsage {
    /// Total swap.
    pub total_bytes: u64,
    /// Swap in use.
    pub used_bytes: u64,
    /// Swap free.
    pub free_bytes: u64,
    /// `used / total`, 0-100; 0 when there is no swap.
    pub percent: f64,
}

/// One mounted filesystem.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemUsage {
    /// Source device, e.g. `/dev/sda1`.
    pub device: String,
    /// Mount point.
    pub mount_point: String,
    /// Filesystem type.
    pub fs_type: String,
    /// Size.
    pub total_bytes: u64,
    /// Used (size minus free, including the root reserve).
    pub used_bytes: u64,
    /// Available to unprivileged users.
    pub available_bytes: u64,
    /// `used / (used + available)`, 0-100, as `df` computes it.
    pub percent: f64,
    /// Total inodes (0 where the filesystem has no fixed inode count).
    pub inodes_total: u64,
    /// Inodes in use.
    pub inodes_used: u64,
}

/// Block device I/O, summed over whole physical disks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskIo {
    /// Bytes read since boot.
    pub read_bytes: u64,
    /// Bytes written since boot.
    pub written_bytes: u64,
    /// Read rate; `None` on the first sample.
    pub read_bytes_per_sec: Option<f64>,
    /// Write rate; `None` on the first sample.
    pub write_bytes_per_sec: Option<f64>,
}

/// Network traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkUsage {
    /// Every interface, loopback included.
    pub interfaces: Vec<InterfaceUsage>,
    /// Receive rate over all interfaces except loopback; `None` on the first sample.
    pub rx_bytes_per_sec: Option<f64>,
    /// Transmit rate over all interfaces except loopback; `None` on the first sample.
    pub tx_bytes_per_sec: Option<f64>,
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceUsage {
    /// Interface name.
    pub name: String,
    /// Bytes received since the counters started.
    pub rx_bytes: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets transmitted.
    pub tx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Transmitted packets dropped.
    pub tx_dropped: u64,
    /// Receive rate; `None` until the interface has been seen twice.
    pub rx_bytes_per_sec: Option<f64>,
    /// Transmit rate; `None` until the interface has been seen twice.
    pub tx_bytes_per_sec: Option<f64>,
}

/// The heaviest processes, by CPU and by memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopProcesses {
    /// When the process table was scanned; `None` before the first scan.
    pub sampled_at_ms: Option<i64>,
    /// Highest CPU first; empty until two scans exist (CPU needs a delta).
    pub by_cpu: Vec<ProcessInfo>,
    /// Highest resident memory first.
    pub by_memory: Vec<ProcessInfo>,
}

/// One process in a top list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Kernel process name (`comm`, at most 15 bytes).
    pub name: String,
    /// Share of the whole machine's CPU capacity between the last two scans, 0-100
    /// (a process saturating one core of two shows 50); `None` on the first scan.
    pub cpu_percent: Option<f64>,
    /// Resident set size.
    pub memory_bytes: u64,
}
