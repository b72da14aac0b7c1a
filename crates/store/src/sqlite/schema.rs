//! Connection setup (pragmas) and versioned schema migrations tracked in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::types::{Config, Durability};

/// Migrations in order; `MIGRATIONS[i]` upgrades version `i` to `i + 1`. Append only: a shipped
/// migration is never edited, because databases in the field already ran it.
pub(crate) const MIGRATIONS: &[&str] = &[
    // v1: interned ids, raw samples, rollup chunks, rollup watermarks.
    "CREATE TABLE server (
         id   INTEGER PRIMARY KEY,
         name TEXT NOT NULL UNIQUE
     );
     CREATE TABLE metric (
         id    INTEGER PRIMARY KEY,
         name  TEXT NOT NULL UNIQUE,
         scale INTEGER NOT NULL  -- decimal exponent of the quantum, fixed at first sight
     );
     -- Row per sample: ingest stays one small insert, and the PK gives idempotence.
     -- WITHOUT ROWID: rows are ~30-150 bytes and the key is the access path.
     CREATE TABLE raw (
         server_id INTEGER NOT NULL REFERENCES server(id) ON DELETE CASCADE,
         ts        INTEGER NOT NULL,
         data      BLOB NOT NULL,
         PRIMARY KEY (server_id, ts)
     ) WITHOUT ROWID;
     -- Rowid table on purpose: chunk blobs reach 1-2.5 KiB, beyond what a WITHOUT ROWID
     -- (index b-tree) cell holds before spilling to overflow pages.
     CREATE TABLE chunk (
         server_id INTEGER NOT NULL REFERENCES server(id) ON DELETE CASCADE,
         tier      INTEGER NOT NULL,
         metric_id INTEGER NOT NULL REFERENCES metric(id),
         start_ms  INTEGER NOT NULL,
         data      BLOB NOT NULL,
         PRIMARY KEY (server_id, tier, metric_id, start_ms)
     );
     -- Everything before watermark_ms is rolled up into this tier (per server).
     CREATE TABLE rollup_state (
         server_id    INTEGER NOT NULL REFERENCES server(id) ON DELETE CASCADE,
         tier         INTEGER NOT NULL,
         watermark_ms INTEGER NOT NULL,
         PRIMARY KEY (server_id, tier)
     ) WITHOUT ROWID;",
    // v2: small persisted state of other components (alert rules, budget counters).
    "CREATE TABLE kv (
         key        TEXT PRIMARY KEY,
         value      TEXT NOT NULL,   -- JSON
         updated_ms INTEGER NOT NULL
     ) WITHOUT ROWID;",
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a connection waits for another's lock before `SQLITE_BUSY`.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn common_pragmas(conn: &Connection, cfg: &Config) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "cache_size", -cfg.cache_kib)?;
    Ok(())
}

/// The writer's connection: creates the file, sets WAL and durability, migrates.
pub(crate) fn open_writer(cfg: &Config) -> Result<Connection> {
    if let Some(dir) = cfg.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let conn = Connection::open(&cfg.path)?;
    // Before anything that locks: switching a new file to WAL takes the write lock, and a second
    // process opening the same new file at that moment must wait, not fail with "database is locked"
    // (seen with six stores opened together on a loaded machine).
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Only takes effect on a new, empty file; lets retention hand pages back to the filesystem.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::InvalidInput(format!("cannot enable WAL (journal_mode={mode})")));
    }
    let sync = match cfg.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    common_pragmas(&conn, cfg)?;
    // Bound the WAL: checkpoint after ~4 MiB instead of the default 1000 pages.
    conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
    conn.pragma_update(None, "journal_size_limit", 16 * 1024 * 1024)?;
    migrate(&conn, SCHEMA_VERSION)?;
    Ok(conn)
}

/// A query connection. Read-only at the OS-open level, so a bug cannot write behind the writer.
pub(crate) fn open_reader(path: &Path, cfg: &Config) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    common_pragmas(&conn, cfg)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

pub(crate) fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Apply migrations up to `target`, each in its own transaction together with its version bump,
/// so a crash mid-migration leaves the previous version intact.
pub(crate) fn migrate(conn: &Connection, target: i64) -> Result<()> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    for version in found..target.min(SCHEMA_VERSION) {
        let sql = MIGRATIONS.get(version as usize).ok_or(Error::SchemaTooNew { found, supported: SCHEMA_VERSION })?;
        // IMMEDIATE takes the write lock first (waiting up to the busy timeout), then the version
        // is read again: another process opening the same file at the same moment may have run
        // this step already, and it must run once.
        let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        if user_version(&tx)? > version {
            tx.commit()?;
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        tracing::info!(from = version, to = version + 1, "store schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_in_order_and_are_idempotent() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, 1).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        migrate(&conn, SCHEMA_VERSION).unwrap();
        migrate(&conn, SCHEMA_VERSION).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[tokio::test]
    async fn store_migrates_a_previous_version_database_keeping_its_data() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("old.db");
        {
            // A database as the previous release (schema v1, no kv table) left it.
            let conn = Connection::open(&path).unwrap();
            migrate(&conn, SCHEMA_VERSION - 1).unwrap();
            conn.execute("INSERT INTO server(id, name) VALUES (1, 'old-01')", []).unwrap();
            conn.execute("INSERT INTO metric(id, name, scale) VALUES (1, 'cpu', 2)", []).unwrap();
            let blob = crate::encoding::encode_raw(&[(1, 2, 42.5)]);
            conn.execute("INSERT INTO raw(server_id, ts, data) VALUES (1, 1000, ?1)", [blob]).unwrap();
            assert!(conn.execute("SELECT 1 FROM kv", []).is_err());
        }
        let store = crate::Store::open(Config::new(&path)).unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        let latest = store.latest("old-01").await.unwrap().unwrap();
        assert_eq!((latest.timestamp_ms, latest.values["cpu"]), (1000, 42.5));
        store.put_kv("k", &serde_json::json!(1)).await.unwrap();
        assert_eq!(store.get_kv("k").await.unwrap(), Some(serde_json::json!(1)));
        store.close().await.unwrap();
        // Reopening an up-to-date database applies nothing.
        let store = crate::Store::open(Config::new(&path)).unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn newer_schema_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        assert!(matches!(migrate(&conn, SCHEMA_VERSION), Err(Error::SchemaTooNew { .. })));
    }
}
