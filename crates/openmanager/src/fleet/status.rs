//! Status from metrics, as API.md says: `critical` above the critical threshold on CPU or memory,
//! `warning` above the warning one, `offline` when a server has been silent too long, `unknown`
//! before any data, `maintenance` when set by hand.

use super::model::{Live, ServerMeta, Source, Status};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub warning: f64,
    pub critical: f64,
    /// Silence after which an agent or static server is `offline`.
    pub offline_after_ms: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { warning: 80.0, critical: 90.0, offline_after_ms: 15_000 }
    }
}

impl Thresholds {
    pub fn status(&self, meta: &ServerMeta, live: Option<&Live>, now_ms: i64) -> Status {
        if meta.maintenance {
            return Status::Maintenance;
        }
        let Some(live) = live else { return Status::Unknown };
        // Simulated values are computed for the moment asked, so they are never stale.
        if meta.source != Source::Simulated && now_ms - live.at_ms > self.offline_after_ms.saturating_add(live.quiet_ms)
        {
            return Status::Offline;
        }
        let worst = live.cpu.unwrap_or(0.0).max(live.memory.unwrap_or(0.0));
        if worst > self.critical {
            Status::Critical
        } else if worst > self.warning {
            Status::Warning
        } else {
            Status::Online
        }
    }
}
