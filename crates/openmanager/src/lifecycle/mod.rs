//! Process lifecycle: the task supervisor, signals and stop requests, systemd notifications, the
//! inherited listening socket, the zero-downtime hand-over and the memory guard.

pub mod handover;
pub mod inherited_socket;
pub mod memory_guard;
pub mod shutdown;
pub mod supervisor;
pub mod systemd;
