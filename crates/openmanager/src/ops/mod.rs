//! Operations commands beside `serve`: `install` (systemd units, environment file, VM advice),
//! `backup` (create, list, verify, restore, scheduled), `token` (issued API tokens), `tls status` and
//! `migrate` (one database into another), plus how the store is opened and the data-directory lock
//! that keeps a restore from replacing the database under a running server.

pub mod backup;
pub mod database;
pub mod install;
pub mod lock;
pub mod migrate;
pub mod tls;
pub mod tokens;
