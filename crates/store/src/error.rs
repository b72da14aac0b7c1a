//! The crate's single error type, and the coarse [`ErrorKind`] callers map to answers.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL error that is not an outage (a constraint, a bug, a bad migration). The text is
    /// the server's message; it never contains the connection URL.
    #[error("postgres: {0}")]
    Postgres(String),
    /// The database cannot be reached or is not serving: connection refused, reset or timed out,
    /// the server shutting down or restarting, the pool unable to open a connection. Transient:
    /// the store reconnects by itself; nothing in the failed request was acknowledged.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database's file system (SQLite) or the server's disk (PostgreSQL) is full. Nothing in
    /// the failed request was acknowledged, the database stays intact, and writes succeed again by
    /// themselves once space is freed.
    #[error("database disk full: {0}")]
    DiskFull(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored block or raw row could not be decoded (corruption or a bug).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The caller passed something the store refuses (bad id, oversized batch, bad URL, ...).
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
    /// An operation only one backend has (e.g. a SQLite file backup on PostgreSQL).
    #[error("not supported by the {backend} backend: {what}")]
    Unsupported { backend: &'static str, what: &'static str },
    #[error("blocking task failed: {0}")]
    Join(String),
}

/// How a caller should treat an [`Error`]. The hub maps: `Busy`, `Unavailable` and `DiskFull` to
/// 503 with `Retry-After` (agents keep their spool; `/api/health` reports the latter two as
/// degraded with the message), `InvalidInput` to 400, everything else to 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Back-pressure: queue or pool full. Retry shortly.
    Busy,
    /// The database is unreachable or not serving. Retry; the store reconnects by itself.
    Unavailable,
    /// No space left for the database. Retry once space is freed.
    DiskFull,
    /// The request itself is wrong (bad id, cursor, oversized batch, bad URL).
    InvalidInput,
    /// The store was closed.
    Closed,
    /// Anything else: a bug, corruption, a newer schema. Not worth retrying blindly.
    Internal,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Busy => ErrorKind::Busy,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::DiskFull(_) => ErrorKind::DiskFull,
            Error::InvalidInput(_) | Error::InvalidCursor => ErrorKind::InvalidInput,
            Error::Closed => ErrorKind::Closed,
            Error::Sqlite(e) if sqlite_disk_full(e) => ErrorKind::DiskFull,
            Error::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => ErrorKind::DiskFull,
            _ => ErrorKind::Internal,
        }
    }

    /// Whether retrying later may succeed (the hub answers 503 with `Retry-After`).
    pub fn is_transient(&self) -> bool {
        self.retry_after().is_some()
    }

    /// A suggested `Retry-After` for a transient error: a full queue drains in moments, a
    /// reconnect takes a few seconds, freeing disk space takes a person.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self.kind() {
            ErrorKind::Busy => Some(std::time::Duration::from_secs(1)),
            ErrorKind::Unavailable => Some(std::time::Duration::from_secs(5)),
            ErrorKind::DiskFull => Some(std::time::Duration::from_secs(30)),
            _ => None,
        }
    }

    /// A copy for every request of a failed batch: keeps the kind, flattens the rest to text.
    pub(crate) fn for_batch(&self) -> Error {
        match self.kind() {
            ErrorKind::DiskFull => Error::DiskFull(self.to_string()),
            ErrorKind::Unavailable => Error::Unavailable(self.to_string()),
            ErrorKind::Busy => Error::Busy,
            ErrorKind::Closed => Error::Closed,
            _ => Error::WriteFailed(self.to_string()),
        }
    }
}

/// SQLITE_FULL: SQLite's unix VFS reports ENOSPC (and short writes) on the database, WAL and
/// shared-memory files this way.
fn sqlite_disk_full(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
