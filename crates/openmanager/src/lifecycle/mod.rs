//! Process lifecycle: the task supervisor, shutdown signals and systemd notifications.

pub mod shutdown;
pub mod supervisor;
pub mod systemd;
