//! The memory guard (`memory.max_mb`, `OPENMANAGER_MAX_MEMORY_MB`), PM2's `max_memory_restart` done
//! the systemd way: a supervised job reads resident memory every `memory.check_interval_ms`; when it
//! stays above the limit for `memory.checks` checks in a row, it logs why at error level and asks the
//! server to stop. The server drains as on SIGTERM and exits 1, and systemd (`Restart=always`) starts
//! a fresh process, with the socket unit holding new connections meanwhile.
//!
//! Several checks in a row, because a burst (a large backup, a big AI answer) may pass the limit for
//! a moment and give the memory back; a leak does not.

use std::time::Duration;

use super::shutdown::{StopRequest, Stopper};
use crate::services::Services;
use crate::telemetry::process::MemoryBreakdown;

/// Counts consecutive checks above the limit. Pure, so the rule is tested without a process.
#[derive(Debug, Clone)]
pub struct Streak {
    limit_bytes: u64,
    needed: u32,
    over: u32,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Under,
    /// Above the limit `count` times in a row, fewer than needed.
    Over {
        count: u32,
    },
    /// Above the limit for as many checks as needed: time to restart.
    Exceeded {
        count: u32,
    },
}

impl Streak {
    pub fn new(limit_bytes: u64, needed: u32) -> Self {
        Self { limit_bytes, needed: needed.max(1), over: 0 }
    }

    pub fn observe(&mut self, rss_bytes: u64) -> Verdict {
        if rss_bytes <= self.limit_bytes {
            self.over = 0;
            return Verdict::Under;
        }
        self.over = self.over.saturating_add(1);
        if self.over >= self.needed {
            Verdict::Exceeded { count: self.over }
        } else {
            Verdict::Over { count: self.over }
        }
    }
}

/// The counts of what grows with load, for the report (connections and WebSocket clients are the
/// HTTP layer's, so the composition root says how to read them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    pub open_connections: usize,
    pub websocket_clients: usize,
}

/// Starts the guard unless `memory.max_mb` is 0.
pub fn start(services: &Services, stopper: Stopper, load: impl Fn() -> Load + Send + Sync + 'static) {
    let cfg = services.config.memory.clone();
    if cfg.max_mb == 0 {
        tracing::info!("memory guard off (memory.max_mb = 0)");
        return;
    }
    let limit = cfg.max_mb.saturating_mul(1024 * 1024);
    let period = Duration::from_millis(cfg.check_interval_ms);
    let s = services.clone();
    let load = std::sync::Arc::new(load);
    services.supervisor.spawn("memory-guard", move |ctx| {
        let (s, stopper, load) = (s.clone(), stopper.clone(), load.clone());
        async move {
            let mut streak = Streak::new(limit, cfg.checks);
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = ctx.cancel.cancelled() => return Ok(()),
                }
                ctx.heartbeat.beat();
                let Some(memory) = MemoryBreakdown::read() else { continue };
                match streak.observe(memory.rss) {
                    Verdict::Under => {}
                    Verdict::Over { count } => {
                        if count == 1 {
                            tracing::warn!(
                                rss_mb = mib(memory.rss),
                                limit_mb = cfg.max_mb,
                                checks = cfg.checks,
                                "resident memory above the limit; restarting if it stays there"
                            );
                        }
                    }
                    Verdict::Exceeded { count } => {
                        report(&s, load(), &memory, cfg.max_mb, count);
                        stopper.request(StopRequest::MemoryLimit);
                        // The server cancels every job as it stops; nothing more to do here.
                        ctx.cancel.cancelled().await;
                        return Ok(());
                    }
                }
            }
        }
    });
}

/// The error line: how much, over what, and where it goes (the cheap figures only: the memory
/// kinds from the same /proc read, and the counts of the things that grow with load).
fn report(services: &Services, load: Load, memory: &MemoryBreakdown, limit_mb: u64, checks: u32) {
    tracing::error!(
        rss_mb = mib(memory.rss),
        limit_mb,
        checks,
        anon_mb = mib(memory.anon),
        file_mb = mib(memory.file),
        shmem_mb = mib(memory.shmem),
        peak_rss_mb = mib(memory.peak_rss),
        threads = memory.threads,
        open_connections = load.open_connections,
        websocket_clients = load.websocket_clients,
        registered_servers = services.fleet.registry().registered(),
        "memory limit exceeded: resident memory stayed above memory.max_mb; stopping gracefully so the supervisor restarts the server"
    );
}

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_consecutive_checks_above_the_limit() {
        let mut s = Streak::new(100, 3);
        assert_eq!(s.observe(150), Verdict::Over { count: 1 });
        assert_eq!(s.observe(150), Verdict::Over { count: 2 });
        // One check at or under the limit starts the count again.
        assert_eq!(s.observe(100), Verdict::Under);
        assert_eq!(s.observe(101), Verdict::Over { count: 1 });
        assert_eq!(s.observe(101), Verdict::Over { count: 2 });
        assert_eq!(s.observe(101), Verdict::Exceeded { count: 3 });
        // Still exceeded if nobody acted on it.
        assert_eq!(s.observe(101), Verdict::Exceeded { count: 4 });
    }

    #[test]
    fn one_check_is_enough_when_asked() {
        let mut s = Streak::new(100, 1);
        assert_eq!(s.observe(50), Verdict::Under);
        assert_eq!(s.observe(200), Verdict::Exceeded { count: 1 });
        // Zero is treated as one: the guard cannot be made to never fire by mistake.
        assert_eq!(Streak::new(100, 0).observe(200), Verdict::Exceeded { count: 1 });
    }
}
