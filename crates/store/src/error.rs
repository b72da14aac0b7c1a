//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored block or raw row could not be decoded (corruption or a bug).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The caller passed something the store refuses (bad id, oversized batch, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("invalid cursor")]
    InvalidCursor,
    /// The database was written by a newer build; refusing to touch it.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    /// The write queue is full (back-pressure: the caller should retry later or shed load).
    #[error("write queue full")]
    Busy,
    /// The store has been closed, or its writer thread died.
    #[error("store closed")]
    Closed,
    /// The writer's transaction failed; shared by every request in the failed batch.
    #[error("write failed: {0}")]
    WriteFailed(String),
    #[error("backup target already exists: {}", .0.display())]
    BackupTargetExists(PathBuf),
    #[error("blocking task failed: {0}")]
    Join(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
