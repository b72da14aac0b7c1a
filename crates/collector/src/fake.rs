//! [`FakeSource`]: a [`MetricsSource`] that replays scripted raw counters, for
//! deterministic tests here and in the crates that use the collector.

use std::collections::{HashMap, VecDeque};
use std::io;

use crate::error::{CollectorError, Result};
use crate::raw::{FsStats, MountEntry, ProcessSample, RawSample};
use crate::snapshot::SystemInfo;
use crate::source::MetricsSource;

/// Replays scripted samples in order; its clock is whatever the samples say.
#[derive(Debug, Clone, Default)]
pub struct FakeSource {
    samples: VecDeque<RawSample>,
    mounts: Vec<MountEntry>,
    fs: HashMap<String, FsStats>,
    process_scans: VecDeque<Vec<ProcessSample>>,
    last_scan: Vec<ProcessSample>,
    system: SystemInfo,
    mount_reads: usize,
    process_reads: usize,
}

impl FakeSource {
    /// An empty script; [`MetricsSource::read_sample`] fails with
    /// [`CollectorError::Exhausted`] until samples are pushed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues the next fast-cadence sample.
    pub fn push_sample(&mut self, sample: RawSample) -> &mut Self {
        self.samples.push_back(sample);
        self
    }

    /// Queues the next process-table scan; once the queue is empty the last scan repeats.
    pub fn push_processes(&mut self, scan: Vec<ProcessSample>) -> &mut Self {
        self.process_scans.push_back(scan);
        self
    }

    /// Sets the mount table.
    pub fn set_mounts(&mut self, mounts: Vec<MountEntry>) -> &mut Self {
        self.mounts = mounts;
        self
    }

    /// Sets the statvfs answer for a mount point; others fail as not found.
    pub fn set_fs_stats(&mut self, mount_point: &str, stats: FsStats) -> &mut Self {
        self.fs.insert(mount_point.to_owned(), stats);
        self
    }

    /// Sets what [`MetricsSource::system_info`] returns.
    pub fn set_system_info(&mut self, info: SystemInfo) -> &mut Self {
        self.system = info;
        self
    }

    /// Scripted samples not yet read.
    pub fn remaining_samples(&self) -> usize {
        self.samples.len()
    }

    /// How many times the mount table was read.
    pub fn mount_reads(&self) -> usize {
        self.mount_reads
    }

    /// How many times the process table was scanned.
    pub fn process_reads(&self) -> usize {
        self.process_reads
    }
}

impl MetricsSource for FakeSource {
    fn read_sample(&mut self, out: &mut RawSample) -> Result<()> {
        *out = self.samples.pop_front().ok_or(CollectorError::Exhausted)?;
        Ok(())
    }

    fn read_mounts(&mut self, out: &mut Vec<MountEntry>) -> Result<()> {
        self.mount_reads += 1;
        out.clone_from(&self.mounts);
        Ok(())
    }

    fn fs_stats(&mut self, mount_point: &str) -> Result<FsStats> {
        self.fs.get(mount_point).copied().ok_or_else(|| CollectorError::Statvfs {
            mount_point: mount_point.to_owned(),
            source: io::ErrorKind::NotFound.into(),
        })
    }

    fn read_processes(&mut self, out: &mut Vec<ProcessSample>) -> Result<()> {
        self.process_reads += 1;
        if let Some(scan) = self.process_scans.pop_front() {
            self.last_scan = scan;
        }
        out.clone_from(&self.last_scan);
        Ok(())
    }

    fn system_info(&mut self) -> Result<SystemInfo> {
        Ok(self.system.clone())
    }
}
