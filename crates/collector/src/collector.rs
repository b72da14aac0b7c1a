//! [`Collector`]: drives a [`MetricsSource`] on the sampling cadence, turns raw
//! counters into a [`HostSnapshot`] and keeps the recent ones in a [`Ring`].

use std::sync::Arc;
use std::time::Duration;

use crate::cpu::{core_usage, cpu_usage};
use crate::disk::{disk_io, filesystem_usage, select_mounts};
use crate::error::Result;
use crate::memory::{memory_usage, swap_usage};
use crate::net::network_usage;
use crate::process::ProcessTracker;
use crate::raw::{MountEntry, ProcessSample, RawSample};
use crate::ring::Ring;
use crate::snapshot::{FilesystemUsage, HostSnapshot, LoadAverage, SystemInfo, TopProcesses};
use crate::source::MetricsSource;

/// Process scans allowed back to back at start-up while waiting for a CPU ranking.
const MAX_EAGER_SCANS: u64 = 5;

/// Tuning for a [`Collector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Snapshots kept in the ring (900 = 15 minutes at 1 s).
    pub ring_capacity: usize,
    /// How often the process table is scanned for the top lists.
    pub process_interval: Duration,
    /// How often the mount table (and `/sys/block`) is re-read.
    pub mount_interval: Duration,
    /// Length of each top-process list.
    pub top_n: usize,
    /// Whether to statvfs network filesystems (NFS, CIFS, ...), which can block
    /// for minutes when the server is unreachable.
    pub include_network_fs: bool,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            ring_capacity: 900,
            process_interval: Duration::from_secs(30),
            mount_interval: Duration::from_secs(30),
            top_n: 5,
            include_network_fs: false,
        }
    }
}

/// Owns a source, the previous raw counters and the snapshot ring.
///
/// Call [`Collector::sample`] once per interval (the hub does so from a blocking
/// task). Every call that reads successfully emits a snapshot, including the
/// first: gauges (memory, filesystems, load) are real from the start, while CPU
/// and rates are `None` until a previous reading exists.
#[derive(Debug)]
pub struct Collector<S> {
    source: S,
    config: CollectorConfig,
    cur: RawSample,
    prev: RawSample,
    have_prev: bool,
    all_mounts: Vec<MountEntry>,
    mounts: Vec<MountEntry>,
    mounts_read_at: Option<Duration>,
    processes: Vec<ProcessSample>,
    tracker: ProcessTracker,
    process_scans: u64,
    cpu_ranked: bool,
    processes_read_at: Option<Duration>,
    top: Arc<TopProcesses>,
    ring: Ring<HostSnapshot>,
}

impl<S: MetricsSource> Collector<S> {
    /// A collector over `source`; nothing is read until the first [`Collector::sample`].
    pub fn new(source: S, config: CollectorConfig) -> Self {
        Self {
            source,
            ring: Ring::new(config.ring_capacity),
            config,
            cur: RawSample::default(),
            prev: RawSample::default(),
            have_prev: false,
            all_mounts: Vec::new(),
            mounts: Vec::new(),
            mounts_read_at: None,
            processes: Vec::new(),
            tracker: ProcessTracker::default(),
            process_scans: 0,
            cpu_ranked: false,
            processes_read_at: None,
            top: Arc::new(TopProcesses::default()),
        }
    }

    /// Reads the source once, appends a snapshot to the ring and returns it.
    ///
    /// Fails only when the fast-cadence read fails (then nothing is appended and
    /// the previous counters are kept, so the next success still has a baseline).
    /// Mount, statvfs and process-scan failures are logged and leave the previous
    /// figures in place.
    pub fn sample(&mut self) -> Result<&HostSnapshot> {
        self.source.read_sample(&mut self.cur)?;
        let now = self.cur.monotonic;

        if due(self.mounts_read_at, now, self.config.mount_interval) {
            self.refresh_mounts();
            self.mounts_read_at = Some(now);
        }
        let filesystems = self.filesystems();

        // Scan again on the next sample until a CPU ranking exists, so it appears
        // after one interval instead of after the slow cadence. Capped, in case CPU
        // counters never move (a stalled or scripted source).
        let want_cpu_ranking = !self.cpu_ranked && self.process_scans < MAX_EAGER_SCANS;
        if want_cpu_ranking || due(self.processes_read_at, now, self.config.process_interval) {
            self.scan_processes();
            self.processes_read_at = Some(now);
        }

        let snapshot = self.build(filesystems);
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.have_prev = true;
        Ok(self.ring.push(snapshot))
    }

    fn refresh_mounts(&mut self) {
        match self.source.read_mounts(&mut self.all_mounts) {
            Ok(()) => select_mounts(&self.all_mounts, self.config.include_network_fs, &mut self.mounts),
            Err(e) => tracing::warn!(error = %e, "reading the mount table failed; keeping the previous one"),
        }
    }

    fn filesystems(&mut self) -> Vec<FilesystemUsage> {
        let mut out = Vec::with_capacity(self.mounts.len());
        for m in &self.mounts {
            match self.source.fs_stats(&m.mount_point) {
                // Zero blocks: a pseudo filesystem the type list does not know.
                Ok(s) if s.total_bytes == 0 => {}
                Ok(s) => out.push(filesystem_usage(m, &s)),
                Err(e) => tracing::debug!(error = %e, "skipping filesystem"),
            }
        }
        out
    }

    fn scan_processes(&mut self) {
        match self.source.read_processes(&mut self.processes) {
            Ok(()) => {
                let top = self.tracker.update(
                    &self.processes,
                    self.cur.stat.total.total(),
                    self.config.top_n,
                    self.cur.timestamp_ms,
                );
                self.cpu_ranked |= !top.by_cpu.is_empty() || self.processes.is_empty();
                self.top = Arc::new(top);
                self.process_scans += 1;
            }
            Err(e) => tracing::warn!(error = %e, "scanning processes failed; keeping the previous top lists"),
        }
    }

    fn build(&self, filesystems: Vec<FilesystemUsage>) -> HostSnapshot {
        let cur = &self.cur;
        let prev = self.have_prev.then_some(&self.prev);
        let elapsed =
            prev.and_then(|p| cur.monotonic.checked_sub(p.monotonic)).map(|d| d.as_secs_f64()).filter(|s| *s > 0.0);
        let mut cores = Vec::new();
        if let Some(p) = prev {
            core_usage(&p.stat.cores, &cur.stat.cores, &mut cores);
        }
        HostSnapshot {
            timestamp_ms: cur.timestamp_ms,
            uptime_secs: cur.uptime_secs,
            cpu: prev.and_then(|p| cpu_usage(&p.stat.total, &cur.stat.total)),
            cores,
            load: LoadAverage { one: cur.load.one, five: cur.load.five, fifteen: cur.load.fifteen },
            memory: memory_usage(&cur.mem),
            swap: swap_usage(&cur.mem),
            filesystems,
            disk_io: disk_io(prev.map_or(&[], |p| &p.disks), &cur.disks, elapsed),
            network: network_usage(prev.map_or(&[], |p| &p.net), &cur.net, elapsed),
            process_count: cur.process_count,
            procs_running: cur.stat.procs_running,
            procs_blocked: cur.stat.procs_blocked,
            top_processes: Arc::clone(&self.top),
        }
    }

    /// The static host facts, read from the source.
    pub fn system_info(&mut self) -> Result<SystemInfo> {
        self.source.system_info()
    }

    /// The newest snapshot.
    pub fn latest(&self) -> Option<&HostSnapshot> {
        self.ring.latest()
    }

    /// The recent snapshots, oldest first.
    pub fn ring(&self) -> &Ring<HostSnapshot> {
        &self.ring
    }

    /// The configuration in use.
    pub fn config(&self) -> &CollectorConfig {
        &self.config
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The source, mutably (e.g. to script more samples into a [`crate::FakeSource`]).
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }
}

/// Whether a slow-cadence read is due. A clock that went backwards (a restarted
/// fake, a swapped source) makes it due rather than stalling it for good.
fn due(last: Option<Duration>, now: Duration, interval: Duration) -> bool {
    match last {
        None => true,
        Some(last) => now.checked_sub(last).is_none_or(|d| d >= interval),
    }
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;
