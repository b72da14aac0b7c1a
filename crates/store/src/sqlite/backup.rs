//! Online backup and integrity check (maintenance operations that run beside the writer), and the
//! checks a backup file must pass before it may replace the live database.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::types::{Config, IntegrityReport};

/// What [`verify_file`] found in a database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub integrity: IntegrityReport,
    /// `PRAGMA user_version`: 0 for a file this project never migrated.
    pub schema_version: i64,
}

/// `VACUUM INTO` a new file: a consistent, compacted snapshot taken inside one read transaction,
/// so the writer keeps committing meanwhile (WAL readers do not block the writer).
///
/// It needs its own connection opened read-write: SQLite attaches the target with the source
/// connection's flags, so a read-only pool connection cannot create it. The statement only reads
/// the source database; the single-writer rule for the database itself holds.
pub(crate) fn backup_to(source: &Path, cfg: &Config, target: &Path) -> Result<()> {
    copy_into(source, cfg.cache_kib, target)
}

/// [`crate::Store::backup_to`] for a process that does not own the store (the `backup` command,
/// possibly while a server is serving the same file). It opens one plain connection and no writer
/// thread: a second `Store::open` would run migrations and checkpoint on close beside the
/// server's writer, which WAL and the busy timeout would tolerate but which a read-only copy has
/// no need for. Fails if `source` does not exist (it is never created here).
pub fn backup_file(source: &Path, target: &Path) -> Result<()> {
    if !source.is_file() {
        return Err(Error::InvalidInput(format!("no database at {}", source.display())));
    }
    copy_into(source, 2048, target)
}

fn copy_into(source: &Path, cache_kib: i64, target: &Path) -> Result<()> {
    if target.exists() {
        return Err(Error::BackupTargetExists(target.to_path_buf()));
    }
    let target_str = target.to_str().ok_or_else(|| Error::InvalidInput("backup path is not UTF-8".into()))?;
    let conn =
        Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.execute("VACUUM INTO ?1", [target_str])?;
    drop(conn);
    // The copy inherits WAL mode; a backup is a single file that is checksummed and verified
    // read-only, so switch it to a rollback journal (no -wal/-shm files appear beside it, and
    // opening it read-only later cannot fail for want of a writable -shm).
    let copy =
        Connection::open_with_flags(target, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let _mode: String = copy.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
    Ok(())
}

pub(crate) fn integrity_check(conn: &Connection) -> Result<IntegrityReport> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(100)")?;
    let messages: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let ok = messages.len() == 1 && messages[0] == "ok";
    Ok(IntegrityReport { ok, messages })
}

/// Integrity and schema version of a database file that no store has open (a backup), read-only.
/// A file that is not SQLite at all is an `Err`; damage inside a valid file is reported in
/// [`FileReport::integrity`]. Judging the version (0, or newer than [`crate::SCHEMA_VERSION`])
/// is the caller's call.
pub fn verify_file(path: &Path) -> Result<FileReport> {
    if !path.is_file() {
        return Err(Error::InvalidInput(format!("no such file: {}", path.display())));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let schema_version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let integrity = integrity_check(&conn)?;
    Ok(FileReport { integrity, schema_version })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backup_file_copies_a_live_database_and_verify_file_accepts_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let store = crate::Store::open(Config::new(&db)).unwrap();
        store.write(vec![crate::Sample::new("web-01", 1_000).with("cpu", 12.5)]).await.unwrap();
        let copy = dir.path().join("copy.db");
        // While the store (and its writer) stays open, as with a running server.
        tokio::task::spawn_blocking({
            let (db, copy) = (db.clone(), copy.clone());
            move || backup_file(&db, &copy)
        })
        .await
        .unwrap()
        .unwrap();
        store.close().await.unwrap();
        let report = verify_file(&copy).unwrap();
        assert!(report.integrity.ok, "{report:?}");
        assert_eq!(report.schema_version, crate::SCHEMA_VERSION);
        assert!(!dir.path().join("copy.db-wal").exists());
        assert!(matches!(backup_file(&db, &copy), Err(Error::BackupTargetExists(_))));
    }

    #[test]
    fn verify_file_rejects_what_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
        assert!(verify_file(&junk).is_err());
        assert!(verify_file(&dir.path().join("missing.db")).is_err());
        assert!(backup_file(&dir.path().join("missing.db"), &dir.path().join("x.db")).is_err());
    }
}
