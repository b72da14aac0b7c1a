//! Online backup and integrity check (maintenance operations that run beside the writer).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::types::{Config, IntegrityReport};

/// `VACUUM INTO` a new file: a consistent, compacted snapshot taken inside one read transaction,
/// so the writer keeps committing meanwhile (WAL readers do not block the writer).
///
/// It needs its own connection opened read-write: SQLite attaches the target with the source
/// connection's flags, so a read-only pool connection cannot create it. The statement only reads
/// the source database; the single-writer rule for the database itself holds.
pub(crate) fn backup_to(source: &Path, cfg: &Config, target: &Path) -> Result<()> {
    if target.exists() {
        return Err(Error::BackupTargetExists(target.to_path_buf()));
    }
    let target = target.to_str().ok_or_else(|| Error::InvalidInput("backup path is not UTF-8".into()))?;
    let conn =
        Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "cache_size", -cfg.cache_kib)?;
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}

pub(crate) fn integrity_check(conn: &Connection) -> Result<IntegrityReport> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(100)")?;
    let messages: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let ok = messages.len() == 1 && messages[0] == "ok";
    Ok(IntegrityReport { ok, messages })
}
