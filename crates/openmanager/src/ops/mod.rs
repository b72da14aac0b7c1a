//! Operations commands beside `serve`: `install` (systemd units, environment file, VM advice) and
//! `backup` (create, list, verify, restore, scheduled), plus the data-directory lock that keeps a
//! restore from replacing the database under a running server.

pub mod backup;
pub mod install;
pub mod lock;
