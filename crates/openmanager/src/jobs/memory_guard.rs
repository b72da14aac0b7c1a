//! The memory guard's job: reads this process's memory every `memory.check_interval_ms` and, when
//! the rule in `lifecycle::memory_guard` says so, logs why at error level and asks the server to stop.

use std::time::Duration;

use crate::lifecycle::memory_guard::{Streak, Verdict};
use crate::lifecycle::shutdown::{StopRequest, Stopper};
use crate::services::Services;
use crate::telemetry::process::MemoryBreakdown;

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
