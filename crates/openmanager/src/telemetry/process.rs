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
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_rss() {
        let m = super::ProcessMemory::default();
        m.refresh();
        if cfg!(target_os = "linux") {
            assert!(m.rss_bytes() > 0 && m.peak_rss_bytes() >= m.rss_bytes());
        }
    }
}
