//! Raw counters as read from the kernel, before any rate or percentage is computed.
//!
//! These are what a [`crate::MetricsSource`] produces. They are plain data so a
//! [`crate::FakeSource`] can script them, and they are filled in place so the
//! real source does not allocate on the steady-state 1 s path.

use std::time::Duration;

/// One `cpu`/`cpuN` line of `/proc/stat`, in clock ticks since boot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time spent in user mode (includes guest time, as the kernel accounts it).
    pub user: u64,
    /// Time spent in user mode at low priority.
    pub nice: u64,
    /// Time spent in kernel mode.
    pub system: u64,
    /// Idle time.
    pub idle: u64,
    /// Idle time with I/O outstanding.
    pub iowait: u64,
    /// Servicing hardware interrupts.
    pub irq: u64,
    /// Servicing softirqs.
    pub softirq: u64,
    /// Time stolen by the hypervisor.
    pub steal: u64,
}

impl CpuTimes {
    /// All ticks. Guest time is left out because the kernel already counts it in `user`.
    pub fn total(&self) -> u64 {
        self.user
            .saturating_add(self.nice)
            .saturating_add(self.system)
            .saturating_add(self.idle)
            .saturating_add(self.iowait)
            .saturating_add(self.irq)
            .saturating_add(self.softirq)
            .saturating_add(self.steal)
    }
}

/// A per-core line of `/proc/stat` (`cpuN`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreTimes {
    /// The `N` of `cpuN`; cores may be missing when offline, so this is not an index.
    pub core: u32,
    /// The counters.
    pub times: CpuTimes,
}

/// The parts of `/proc/stat` the collector uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatSample {
    /// The aggregate `cpu` line.
    pub total: CpuTimes,
    /// One entry per online core.
    pub cores: Vec<CoreTimes>,
    /// Boot time, seconds since the Unix epoch (`btime`).
    pub boot_time_secs: u64,
    /// Runnable tasks right now (`procs_running`).
    pub procs_running: u64,
    /// Tasks blocked on I/O right now (`procs_blocked`).
    pub procs_blocked: u64,
}

/// The parts of `/proc/meminfo` the collector uses, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    /// `MemTotal`.
    pub total: u64,
    /// `MemFree`.
    pub free: u64,
    /// `MemAvailable`, or an estimate on kernels older than 3.14 that lack it.
    pub available: u64,
    /// `Buffers`.
    pub buffers: u64,
    /// `Cached` plus `SReclaimable`, the page cache the kernel can drop.
    pub cached: u64,
    /// `SwapTotal`.
    pub swap_total: u64,
    /// `SwapFree`.
    pub swap_free: u64,
}

/// `/proc/loadavg`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadAvg {
    /// 1-minute load average.
    pub one: f64,
    /// 5-minute load average.
    pub five: f64,
    /// 15-minute load average.
    pub fifteen: f64,
}

/// One interface line of `/proc/net/dev`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Interface name, e.g. `eth0`.
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Packets transmitted.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Transmitted packets dropped.
    pub tx_dropped: u64,
}

/// One device line of `/proc/diskstats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskCounters {
    /// Device name, e.g. `sda` or `nvme0n1p1`.
    pub name: String,
    /// Whether this is a whole physical disk whose I/O counts toward the totals
    /// (not a partition, loop, ram, zram, device-mapper or md device).
    pub counted: bool,
    /// Bytes read (sectors x 512, the unit diskstats always uses).
    pub read_bytes: u64,
    /// Bytes written.
    pub written_bytes: u64,
    /// Read requests completed.
    pub reads: u64,
    /// Write requests completed.
    pub writes: u64,
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountEntry {
    /// The mounted device or source, e.g. `/dev/sda1`.
    pub device: String,
    /// Where it is mounted, with `\040`-style escapes decoded.
    pub mount_point: String,
    /// Filesystem type, e.g. `ext4`.
    pub fs_type: String,
}

/// The statvfs figures for one mount point, in bytes and inodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FsStats {
    /// Size of the filesystem.
    pub total_bytes: u64,
    /// Free bytes, including those reserved for root.
    pub free_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
    /// Total inodes (0 on filesystems without a fixed inode table).
    pub inodes_total: u64,
    /// Free inodes.
    pub inodes_free: u64,
}

/// One process from `/proc/[pid]/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSample {
    /// Process id.
    pub pid: u32,
    /// Start time in ticks since boot; tells a reused pid from the old process.
    pub start_ticks: u64,
    /// `comm`, the kernel's (up to 15-byte) process name.
    pub name: String,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

/// Everything read on the 1 s cadence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawSample {
    /// Monotonic time of the read (arbitrary origin); rates divide by its deltas.
    pub monotonic: Duration,
    /// Wall-clock time of the read, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// `/proc/stat`.
    pub stat: StatSample,
    /// `/proc/meminfo`.
    pub mem: MemInfo,
    /// `/proc/loadavg`.
    pub load: LoadAvg,
    /// Seconds since boot (`/proc/uptime`).
    pub uptime_secs: f64,
    /// `/proc/net/dev`.
    pub net: Vec<NetCounters>,
    /// `/proc/diskstats`.
    pub disks: Vec<DiskCounters>,
    /// Number of processes (numeric entries of `/proc`).
    pub process_count: u64,
}

/// Returns the element at `index`, appending a default one if the vector is that short.
///
/// Parsers overwrite entries in place through this and then truncate, so the
/// `String` names inside keep their allocations from one sample to the next.
pub(crate) fn slot<T: Default>(vec: &mut Vec<T>, index: usize) -> &mut T {
    if index >= vec.len() {
        vec.push(T::default());
    }
    let last = vec.len() - 1;
    &mut vec[index.min(last)]
}

/// Overwrites `dst` with `src`, keeping `dst`'s allocation.
pub(crate) fn set_string(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}
