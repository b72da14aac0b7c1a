//! The background jobs, each started once through the supervisor by the composition root: the
//! self-monitor, alert evaluation, the event log, the budget ledger, housekeeping (memory figure, AI health, store
//! rollups and retention, backups, log pruning, writability probes), the systemd watchdog, the
//! memory guard, the TLS certificate manager and the remote-write sender. Jobs take the services they
//! drive; no service knows about them.

pub mod alerts;
pub mod budget;
pub mod checks;
pub mod events;
pub mod housekeeping;
pub mod memory_guard;
pub mod remote_write;
pub mod self_monitor;
pub mod status_page;
pub mod tls;
pub mod watchdog;
