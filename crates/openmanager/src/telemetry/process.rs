//! This process's resident memory, read from /proc on a timer so a health check never does file IO.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct ProcessMemory {
    rss: AtomicU64,
    peak: AtomicU64,
}

impl ProcessMemory {
    /// Reads `/proc/self/status` now. Called at start and then by a supervised job every second.
    pub fn refresh(&self) {
        if let Some((rss, peak)) = read_status() {
            self.rss.store(rss, Ordering::Relaxed);
            self.peak.store(peak, Ordering::Relaxed);
        }
    }

    pub fn rss_bytes(&self) -> u64 {
        self.rss.load(Ordering::Relaxed)
    }

    pub fn peak_rss_bytes(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

/// (VmRSS, VmHWM) in bytes.
fn read_status() -> Option<(u64, u64)> {
    let b = MemoryBreakdown::read()?;
    Some((b.rss, b.peak_rss))
}

/// Where resident memory goes, from one read of `/proc/self/status` (bytes; 0 if the kernel does
/// not report a field). Anonymous memory is the heap and stacks; file memory is the mapped binary
/// and libraries; shared memory is mostly SQLite's WAL index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryBreakdown {
    pub rss: u64,
    pub peak_rss: u64,
    pub anon: u64,
    pub file: u64,
    pub shmem: u64,
    pub threads: u64,
}

impl MemoryBreakdown {
    pub fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/self/status").ok()?)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let number = |name: &str| -> Option<u64> {
            let line = text.lines().find(|l| l.starts_with(name))?;
            line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()
        };
        let kib = |name: &str| number(name).map(|kb| kb * 1024);
        Some(Self {
            rss: kib("VmRSS:")?,
            peak_rss: kib("VmHWM:")?,
            anon: kib("RssAnon:").unwrap_or(0),
            file: kib("RssFile:").unwrap_or(0),
            shmem: kib("RssShmem:").unwrap_or(0),
            threads: number("Threads:").unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_the_status_fields() {
        let text = "Name:\topenmanager\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nRssAnon:\t    8192 kB\n\
                    RssFile:\t    2048 kB\nRssShmem:\t       0 kB\nThreads:\t7\n";
        let b = super::MemoryBreakdown::parse(text).unwrap();
        assert_eq!((b.rss, b.peak_rss, b.anon, b.file, b.threads), (10 << 20, 20 << 20, 8 << 20, 2 << 20, 7));
    }

    #[test]
    fn reads_own_rss() {
        let m = super::ProcessMemory::default();
        m.refresh();
        if cfg!(target_os = "linux") {
            assert!(m.rss_bytes() > 0 && m.peak_rss_bytes() >= m.rss_bytes());
        }
    }
}
