//! The [`MetricsSource`] trait and [`ProcSource`], its implementation over a real
//! (or fixture) `/proc`, `/sys` and `/etc`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rustix::fs::{Mode, OFlags, RawDir};

use crate::disk::{parse_diskstats, parse_mounts};
use crate::error::{CollectorError, Result};
use crate::net::parse_net_dev;
use crate::parse::{parse_cpu_model, parse_loadavg, parse_meminfo, parse_os_release, parse_stat, parse_uptime};
use crate::process::parse_pid_stat;
use crate::raw::{FsStats, MountEntry, ProcessSample, RawSample, set_string, slot};
use crate::snapshot::SystemInfo;

/// Where raw host counters come from. [`crate::Collector`] turns them into
/// snapshots; implementations only read and never compute rates.
///
/// Methods fill caller-owned buffers so a source can avoid allocating on the
/// 1 s path.
pub trait MetricsSource {
    /// Reads the fast-cadence counters (CPU, memory, load, uptime, network, disks,
    /// process count) and stamps them with the source's clocks.
    fn read_sample(&mut self, out: &mut RawSample) -> Result<()>;
    /// Reads the mount table (slow cadence).
    fn read_mounts(&mut self, out: &mut Vec<MountEntry>) -> Result<()>;
    /// statvfs of one mount point.
    fn fs_stats(&mut self, mount_point: &str) -> Result<FsStats>;
    /// Reads every process's CPU ticks and memory (slow cadence; the costly call).
    /// A process vanishing mid-scan is skipped, not an error.
    fn read_processes(&mut self, out: &mut Vec<ProcessSample>) -> Result<()>;
    /// Reads the static host facts.
    fn system_info(&mut self) -> Result<SystemInfo>;
}

/// Reads a Linux host through procfs, sysfs and statvfs.
///
/// The root is a filesystem root: `ProcSource::new()` uses `/`, and tests point
/// [`ProcSource::with_root`] at a fixture directory holding `proc/`, optionally
/// `sys/block/`, and `etc/os-release`.
#[derive(Debug)]
pub struct ProcSource {
    root: PathBuf,
    proc_dir: PathBuf,
    stat: PathBuf,
    meminfo: PathBuf,
    loadavg: PathBuf,
    uptime: PathBuf,
    net_dev: PathBuf,
    diskstats: PathBuf,
    mounts: PathBuf,
    sys_block: PathBuf,
    /// `/sys/block` names, refreshed with the mount table; `None` falls back to
    /// guessing partitions from names.
    whole_disks: Option<Vec<String>>,
    page_size: u64,
    started: Instant,
    /// Reused read buffer: one allocation for every /proc file read.
    buf: Vec<u8>,
    /// Reused getdents buffer for listing `/proc`.
    dir_buf: Vec<u8>,
    /// Reused `"<pid>/stat"` path.
    pid_path: String,
}

impl Default for ProcSource {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcSource {
    /// A source reading the running host (root `/`).
    pub fn new() -> Self {
        Self::with_root("/")
    }

    /// A source reading `<root>/proc`, `<root>/sys/block` and `<root>/etc/os-release`.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let proc_dir = root.join("proc");
        let p = |name: &str| proc_dir.join(name);
        let mut s = Self {
            stat: p("stat"),
            meminfo: p("meminfo"),
            loadavg: p("loadavg"),
            uptime: p("uptime"),
            net_dev: p("net/dev"),
            diskstats: p("diskstats"),
            mounts: p("mounts"),
            sys_block: root.join("sys/block"),
            proc_dir,
            root,
            whole_disks: None,
            page_size: rustix::param::page_size() as u64,
            started: Instant::now(),
            buf: Vec::with_capacity(16 * 1024),
            dir_buf: Vec::with_capacity(32 * 1024),
            pid_path: String::with_capacity(32),
        };
        s.refresh_whole_disks();
        s
    }

    /// The filesystem root this source reads under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn refresh_whole_disks(&mut self) {
        self.whole_disks = std::fs::read_dir(&self.sys_block)
            .ok()
            .map(|dir| dir.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect());
    }

    /// Counts the numeric entries of `/proc`, i.e. processes (threads are not listed there).
    fn count_processes(&mut self) -> Result<u64> {
        let fd = open_dir(&self.proc_dir)?;
        let mut dir = RawDir::new(&fd, self.dir_buf.spare_capacity_mut());
        let mut n = 0;
        while let Some(entry) = dir.next() {
            let entry = entry.map_err(|e| io_err(&self.proc_dir, e.into()))?;
            if parse_pid(entry.file_name().to_bytes()).is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    fn mount_path(&self, mount_point: &str) -> PathBuf {
        self.root.join(mount_point.trim_start_matches('/'))
    }
}

impl MetricsSource for ProcSource {
    fn read_sample(&mut self, out: &mut RawSample) -> Result<()> {
        out.monotonic = self.started.elapsed();
        out.timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));

        parse_stat(&read_text(&self.stat, &mut self.buf)?, &mut out.stat)?;
        out.mem = parse_meminfo(&read_text(&self.meminfo, &mut self.buf)?)?;
        out.load = parse_loadavg(&read_text(&self.loadavg, &mut self.buf)?)?;
        out.uptime_secs = parse_uptime(&read_text(&self.uptime, &mut self.buf)?)?;
        // Sandboxes (gVisor, some containers) lack these two; no network or disk
        // figures beat no figures at all.
        match read_optional(&self.net_dev, &mut self.buf)? {
            Some(text) => parse_net_dev(&text, &mut out.net),
            None => out.net.clear(),
        }
        match read_optional(&self.diskstats, &mut self.buf)? {
            Some(text) => parse_diskstats(&text, self.whole_disks.as_deref(), &mut out.disks),
            None => out.disks.clear(),
        }
        out.process_count = self.count_processes()?;
        Ok(())
    }

    fn read_mounts(&mut self, out: &mut Vec<MountEntry>) -> Result<()> {
        self.refresh_whole_disks();
        parse_mounts(&read_text(&self.mounts, &mut self.buf)?, out);
        Ok(())
    }

    fn fs_stats(&mut self, mount_point: &str) -> Result<FsStats> {
        let result = if self.root == Path::new("/") {
            rustix::fs::statvfs(mount_point)
        } else {
            rustix::fs::statvfs(self.mount_path(mount_point))
        };
        let s =
            result.map_err(|e| CollectorError::Statvfs { mount_point: mount_point.to_owned(), source: e.into() })?;
        let frag = if s.f_frsize > 0 { s.f_frsize } else { s.f_bsize };
        Ok(FsStats {
            total_bytes: s.f_blocks.saturating_mul(frag),
            free_bytes: s.f_bfree.saturating_mul(frag),
            available_bytes: s.f_bavail.saturating_mul(frag),
            inodes_total: s.f_files,
            inodes_free: s.f_ffree,
        })
    }

    fn read_processes(&mut self, out: &mut Vec<ProcessSample>) -> Result<()> {
        let fd = open_dir(&self.proc_dir)?;
        let mut dir = RawDir::new(&fd, self.dir_buf.spare_capacity_mut());
        let mut n = 0;
        while let Some(entry) = dir.next() {
            let entry = entry.map_err(|e| io_err(&self.proc_dir, e.into()))?;
            let Some(pid) = parse_pid(entry.file_name().to_bytes()) else { continue };
            self.pid_path.clear();
            let _ = write!(self.pid_path, "{pid}/stat");
            // The process may exit between the listing and the open or read; skip it.
            let Ok(file) =
                rustix::fs::openat(&fd, self.pid_path.as_str(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            else {
                continue;
            };
            let Ok(bytes) = read_all(&mut File::from(file), &mut self.buf) else { continue };
            let Some(st) = parse_pid_stat(bytes) else { continue };
            let e = slot(out, n);
            e.pid = pid;
            e.start_ticks = st.start_ticks;
            e.cpu_ticks = st.cpu_ticks;
            e.rss_bytes = st.rss_pages.saturating_mul(self.page_size);
            set_string(&mut e.name, &String::from_utf8_lossy(st.name));
            n += 1;
        }
        out.truncate(n);
        Ok(())
    }

    fn system_info(&mut self) -> Result<SystemInfo> {
        let mut stat = Default::default();
        parse_stat(&read_text(&self.stat, &mut self.buf)?, &mut stat)?;
        let mem = parse_meminfo(&read_text(&self.meminfo, &mut self.buf)?)?;
        let mut first_line = |path: PathBuf| {
            read_optional(&path, &mut self.buf).ok().flatten().map(|t| t.trim().to_owned()).unwrap_or_default()
        };
        let hostname = first_line(self.proc_dir.join("sys/kernel/hostname"));
        let kernel = first_line(self.proc_dir.join("sys/kernel/osrelease"));
        let os = ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .find_map(|p| {
                read_optional(&self.root.join(p), &mut self.buf).ok().flatten().and_then(|t| parse_os_release(&t))
            })
            .unwrap_or_default();
        let cpu_model = read_optional(&self.proc_dir.join("cpuinfo"), &mut self.buf)
            .ok()
            .flatten()
            .and_then(|t| parse_cpu_model(&t))
            .unwrap_or_default();
        Ok(SystemInfo {
            hostname,
            os,
            kernel,
            arch: std::env::consts::ARCH.to_owned(),
            cpu_model,
            cores: u32::try_from(stat.cores.len()).unwrap_or(u32::MAX).max(1),
            memory_total_bytes: mem.total,
            boot_time_ms: i64::try_from(stat.boot_time_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
        })
    }
}

/// A pid directory name: all ASCII digits, fitting a u32.
fn parse_pid(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    name.iter().try_fold(0u32, |acc, d| acc.checked_mul(10)?.checked_add(u32::from(d - b'0')))
}

fn io_err(path: &Path, source: io::Error) -> CollectorError {
    CollectorError::Io { path: path.to_owned(), source }
}

fn open_dir(path: &Path) -> Result<rustix::fd::OwnedFd> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| io_err(path, e.into()))
}

/// Reads a whole file into the reused buffer. procfs reports size 0 and fills at
/// most a page per read, so this loops instead of trusting metadata.
fn read_all<'b>(file: &mut File, buf: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
    if buf.len() < 4096 {
        buf.resize(4096, 0);
    }
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..len])
}

/// Reads a file as text; invalid UTF-8 (a mount path, a hostname) is replaced
/// rather than failing the sample, and valid text is borrowed, not copied.
fn read_text<'b>(path: &Path, buf: &'b mut Vec<u8>) -> Result<std::borrow::Cow<'b, str>> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let bytes = read_all(&mut file, buf).map_err(|e| io_err(path, e))?;
    Ok(String::from_utf8_lossy(bytes))
}

/// Like [`read_text`], but a missing file is `None`.
fn read_optional<'b>(path: &Path, buf: &'b mut Vec<u8>) -> Result<Option<std::borrow::Cow<'b, str>>> {
    match read_text(path, buf) {
        Ok(t) => Ok(Some(t)),
        Err(CollectorError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
