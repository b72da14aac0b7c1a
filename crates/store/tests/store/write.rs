//! Writes: read-back, idempotence, durability of acknowledged writes, flush on close, kv.

use crate::common::*;
use store::{Error, Sample, Tier};
use tempfile::TempDir;

conformance!(
    write_then_read_back,
    values_are_quantized_and_non_finite_skipped,
    duplicates_are_dropped_and_counted,
    samples_behind_the_rollup_watermark_are_late_or_duplicate,
    close_flushes_pending_writes,
    invalid_input_is_rejected_before_queueing,
    delete_server_removes_all_its_history,
    kv_put_get_overwrite_delete
);

async fn write_then_read_back(db: &TestDb) {
    let store = db.open().await;
    let out = store.write(series("web-01", T0, 5_000, 10)).await.unwrap();
    assert_eq!((out.inserted, out.duplicates, out.late), (10, 0, 0));
    let latest = store.latest("web-01").await.unwrap().unwrap();
    assert_eq!(latest.timestamp_ms, T0 + 45_000);
    assert_eq!(latest.values["cpu"], 9.0);
    assert_eq!(latest.values["net_rx"], 9000.0);
    let h = store.history("web-01", &["cpu"], T0, T0 + 60_000, 100, None).await.unwrap();
    assert_eq!(h.tier, Tier::Raw);
    assert_eq!(h.resolution_seconds, 5);
    assert_eq!(h.points.len(), 10);
    assert!(h.points.iter().all(|p| p.values.len() == 1));
    assert_eq!(h.points[3].values["cpu"].avg, 3.0);
    assert_eq!(store.server_ids().await.unwrap(), vec!["web-01".to_owned()]);
    assert!(store.latest("nope").await.unwrap().is_none());
    store.close().await.unwrap();
}

async fn values_are_quantized_and_non_finite_skipped(db: &TestDb) {
    let store = db.open().await;
    let s =
        Sample::new("a", T0).with("cpu", 12.3456).with("net_tx", 1234.6).with("temp", f64::NAN).with("ratio", 0.123456);
    store.write(vec![s]).await.unwrap();
    let l = store.latest("a").await.unwrap().unwrap();
    assert!((l.values["cpu"] - 12.35).abs() < 1e-9);
    assert_eq!(l.values["net_tx"], 1235.0);
    assert!((l.values["ratio"] - 0.123).abs() < 1e-9);
    assert!(!l.values.contains_key("temp"));
}

async fn duplicates_are_dropped_and_counted(db: &TestDb) {
    let store = db.open().await;
    let batch = series("web-01", T0, 5_000, 20);
    assert_eq!(store.write(batch.clone()).await.unwrap().inserted, 20);
    // A retried agent batch: every sample is a duplicate, the stored value is unchanged.
    let mut retry = batch.clone();
    retry[0].values.insert("cpu".into(), 99.0);
    let out = store.write(retry).await.unwrap();
    assert_eq!((out.inserted, out.duplicates), (0, 20));
    // Duplicates inside one write, and a mix of old and new.
    let mixed =
        vec![sample("web-01", T0, 1.0), sample("web-01", T0 + 100_000, 1.0), sample("web-01", T0 + 100_000, 2.0)];
    let out = store.write(mixed).await.unwrap();
    assert_eq!((out.inserted, out.duplicates), (1, 2));
    let h = store.history("web-01", &["cpu"], T0, T0, 10, None).await.unwrap();
    assert_eq!(h.points[0].values["cpu"].avg, 0.0);
    // Same timestamp on another server is not a duplicate.
    assert_eq!(store.write(vec![sample("web-02", T0, 1.0)]).await.unwrap().inserted, 1);
}

async fn samples_behind_the_rollup_watermark_are_late_or_duplicate(db: &TestDb) {
    let store = db.open().await;
    store.write(series("s", T0, 5_000, 12 * 10)).await.unwrap();
    store.rollup(T0 + 10 * MIN + 2 * MIN).await.unwrap();
    let out = store.write(vec![sample("s", T0 + 5_000, 0.0), sample("s", T0 + 2_500, 0.0)]).await.unwrap();
    assert_eq!((out.inserted, out.duplicates, out.late), (0, 1, 1));
    // At or after the watermark is accepted.
    assert_eq!(store.write(vec![sample("s", T0 + 10 * MIN, 0.0)]).await.unwrap().inserted, 1);
}

fn copy_db_files(from: &TempDir, to: &TempDir) {
    for suffix in ["", "-wal"] {
        let src = from.path().join(format!("metrics.db{suffix}"));
        if src.exists() {
            std::fs::copy(&src, to.path().join(format!("metrics.db{suffix}"))).unwrap();
        }
    }
}

#[tokio::test]
async fn acknowledged_write_survives_a_crash() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    store.write(series("web-01", T0, 5_000, 50)).await.unwrap();
    store.put_kv("budget", &serde_json::json!({"spent": 3})).await.unwrap();
    // Snapshot the files as a crash would leave them: writer still running, no close, no
    // checkpoint. The acknowledged transaction must already be in the WAL.
    let crashed = TempDir::new().unwrap();
    copy_db_files(&dir, &crashed);
    let reopened = open(&crashed);
    assert_eq!(reopened.history("web-01", &[], T0, T0 + HOUR, 1000, None).await.unwrap().points.len(), 50);
    assert_eq!(reopened.get_kv("budget").await.unwrap(), Some(serde_json::json!({"spent": 3})));
    assert!(reopened.integrity_check().await.unwrap().ok);
    reopened.close().await.unwrap();

    // Dropping every handle without `close` also keeps acknowledged data.
    drop(store);
    let again = open(&dir);
    assert_eq!(again.latest("web-01").await.unwrap().unwrap().timestamp_ms, T0 + 49 * 5_000);
}

async fn close_flushes_pending_writes(db: &TestDb) {
    let store = db.open().await;
    let pending: Vec<_> =
        (0..20).map(|i| store.submit(series(&format!("srv-{i:02}"), T0, 5_000, 30)).unwrap()).collect();
    store.close().await.unwrap();
    for p in pending {
        assert_eq!(p.wait().await.unwrap().inserted, 30);
    }
    assert!(matches!(store.write(series("late", T0, 1, 1)).await, Err(Error::Closed)));
    let reopened = db.open().await;
    let ids = reopened.server_ids().await.unwrap();
    assert_eq!(ids.len(), 20);
    for id in ids {
        assert_eq!(reopened.history(&id, &["cpu"], T0, T0 + HOUR, 1000, None).await.unwrap().points.len(), 30);
    }
}

async fn invalid_input_is_rejected_before_queueing(db: &TestDb) {
    let store = db.open().await;
    assert!(matches!(store.write(vec![sample("", T0, 1.0)]).await, Err(Error::InvalidInput(_))));
    assert!(matches!(store.write(vec![Sample::new("a", T0).with("", 1.0)]).await, Err(Error::InvalidInput(_))));
    let too_many = series("a", T0, 1, store.config().max_write_samples + 1);
    assert!(matches!(store.write(too_many).await, Err(Error::InvalidInput(_))));
    assert!(store.server_ids().await.unwrap().is_empty());
}

async fn delete_server_removes_all_its_history(db: &TestDb) {
    let store = db.open().await;
    store.write(series("a", T0, 5_000, 200)).await.unwrap();
    store.write(series("b", T0, 5_000, 200)).await.unwrap();
    store.rollup(T0 + HOUR).await.unwrap();
    assert!(store.delete_server("a").await.unwrap());
    assert!(!store.delete_server("a").await.unwrap());
    assert_eq!(store.server_ids().await.unwrap(), vec!["b".to_owned()]);
    assert!(store.latest("a").await.unwrap().is_none());
    assert!(store.history_at(Tier::M1, "a", &[], T0, T0 + HOUR, 100, None).await.unwrap().points.is_empty());
    assert!(!store.history_at(Tier::M1, "b", &[], T0, T0 + HOUR, 100, None).await.unwrap().points.is_empty());
    // The server can report again from scratch.
    assert_eq!(store.write(series("a", T0, 5_000, 3)).await.unwrap().inserted, 3);
}

async fn kv_put_get_overwrite_delete(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.get_kv("alert_rule/1").await.unwrap(), None);
    store.put_kv("alert_rule/1", &serde_json::json!({"cpu": 90})).await.unwrap();
    store.put_kv("alert_rule/1", &serde_json::json!({"cpu": 95})).await.unwrap();
    store.put_kv("alert_rule/2", &serde_json::json!([1, 2])).await.unwrap();
    store.put_kv("budget", &serde_json::json!(1.5)).await.unwrap();
    assert_eq!(store.get_kv("alert_rule/1").await.unwrap(), Some(serde_json::json!({"cpu": 95})));
    assert_eq!(store.kv_keys("alert_rule/").await.unwrap(), vec!["alert_rule/1", "alert_rule/2"]);
    assert!(store.delete_kv("alert_rule/2").await.unwrap());
    assert!(!store.delete_kv("alert_rule/2").await.unwrap());
    assert!(matches!(store.put_kv("", &serde_json::json!(1)).await, Err(Error::InvalidInput(_))));
    store.close().await.unwrap();
    let store = db.open().await;
    assert_eq!(store.get_kv("budget").await.unwrap(), Some(serde_json::json!(1.5)));
}
