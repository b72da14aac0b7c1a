//! Schema version, integrity check on a corrupted file, online backup.

use std::io::{Seek, SeekFrom, Write};

use crate::common::*;
use store::{SCHEMA_VERSION, Store};
use tempfile::TempDir;

conformance!(
    fresh_store_is_at_the_current_schema_and_passes_integrity_check,
    migrations_run_once_when_several_stores_open_together
);

async fn fresh_store_is_at_the_current_schema_and_passes_integrity_check(db: &TestDb) {
    let store = db.open().await;
    let version = store.schema_version().await.unwrap();
    // Each backend numbers its own migrations; SQLite's is the exported constant.
    if !db.is_postgres() {
        assert_eq!(version, SCHEMA_VERSION);
    }
    assert!(version >= 1);
    let report = store.integrity_check().await.unwrap();
    assert!(report.ok, "{report:?}");
    write_all(&store, series("s", T0, 5_000, 100)).await;
    assert!(store.integrity_check().await.unwrap().ok);
    store.close().await.unwrap();
    // Reopening an up-to-date database applies nothing and keeps the data.
    let store = db.open().await;
    assert_eq!(store.schema_version().await.unwrap(), version);
    assert_eq!(store.latest("s").await.unwrap().unwrap().timestamp_ms, T0 + 99 * 5_000);
}

/// Several hubs starting together on one new database: every open succeeds and the schema is
/// created once (on PostgreSQL each version has exactly one row in `schema_migrations`; without
/// the advisory lock, the losers' CREATE TABLE would fail).
async fn migrations_run_once_when_several_stores_open_together(db: &TestDb) {
    let mut opens = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (url, cfg) = (db.url(), db.config());
        opens.spawn(async move { Store::open_url(Some(&url), cfg).await.unwrap() });
    }
    let stores = opens.join_all().await;
    let version = stores[0].schema_version().await.unwrap();
    for s in &stores {
        assert_eq!(s.schema_version().await.unwrap(), version);
    }
    if db.is_postgres() {
        let rows =
            db.pg_client().await.query("SELECT version FROM schema_migrations ORDER BY version", &[]).await.unwrap();
        let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(versions, (1..=version as i32).collect::<Vec<_>>());
    }
    for s in &stores {
        s.close().await.unwrap();
    }
}

#[tokio::test]
async fn corrupted_file_fails_cleanly() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    write_all(&store, series("s", T0, 5_000, 5_000)).await;
    store.rollup(T0 + DAY).await.unwrap();
    store.close().await.unwrap();
    drop(store);
    let path = dir.path().join("metrics.db");
    // Scribble over pages after the schema page: b-tree pages of data and indexes.
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 16 * 4096);
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    for page in [3u64, 5, 8, 13] {
        f.seek(SeekFrom::Start(page * 4096 + 100)).unwrap();
        f.write_all(&[0xA5; 2000]).unwrap();
    }
    drop(f);
    // Either opening or the check reports it; nothing panics.
    match Store::open(config(&dir)) {
        Err(e) => eprintln!("open failed cleanly: {e}"),
        Ok(store) => match store.integrity_check().await {
            Ok(report) => assert!(!report.ok, "corruption not detected: {report:?}"),
            Err(e) => eprintln!("integrity check failed cleanly: {e}"),
        },
    }

    // Not a database at all.
    let junk = TempDir::new().unwrap();
    std::fs::write(junk.path().join("metrics.db"), vec![0x42u8; 8192]).unwrap();
    assert!(Store::open(config(&junk)).is_err());
}

#[tokio::test]
async fn backup_is_a_consistent_openable_copy() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    write_all(&store, series("s", T0, 5_000, 100)).await;
    store.put_kv("k", &serde_json::json!("v")).await.unwrap();
    let target = dir.path().join("backup.db");
    store.backup_to(&target).await.unwrap();
    assert!(matches!(store.backup_to(&target).await, Err(store::Error::BackupTargetExists(_))));
    // Writes keep working after a backup.
    assert_eq!(store.write(series("s", T0 + HOUR, 5_000, 1)).await.unwrap().inserted, 1);
    let copy = Store::open(store::Config::new(&target)).unwrap();
    assert_eq!(copy.history("s", &["cpu"], T0, T0 + HOUR, 1000, None).await.unwrap().points.len(), 100);
    assert_eq!(copy.get_kv("k").await.unwrap(), Some(serde_json::json!("v")));
    assert!(copy.integrity_check().await.unwrap().ok);
}
