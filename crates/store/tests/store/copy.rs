//! `copy_store` between backends: everything arrives (raw, every rollup tier, watermarks, kv),
//! counts are checked, and a second run resumes instead of starting over.

use crate::common::*;
use store::{Sample, Store, Tier};

async fn fill(store: &Store) {
    for s in 0..3 {
        // Two days a minute apart, plus an extra metric on one server; rolled up, so the source
        // holds raw rows (more than one copy batch), chunks of every tier, and watermarks.
        let samples: Vec<Sample> = (0..2 * 1440)
            .map(|i| {
                let x = sample(&format!("srv-{s}"), T0 + i * MIN, (i % 97) as f64 + 0.25);
                if s == 1 { x.with("gpu", (i % 13) as f64) } else { x }
            })
            .collect();
        write_all(store, samples).await;
    }
    store.rollup(T0 + 2 * DAY + 10 * MIN).await.unwrap();
    store.put_kv("alert_rule/1", &serde_json::json!({"cpu": 90})).await.unwrap();
    store.put_kv("budget", &serde_json::json!(2.5)).await.unwrap();
}

/// Every tier of every server, as a reader sees it.
async fn dump(store: &Store) -> Vec<(String, Tier, Vec<store::Point>)> {
    let mut out = Vec::new();
    for id in store.server_ids().await.unwrap() {
        for tier in [Tier::Raw, Tier::M1, Tier::M10, Tier::H1] {
            out.push((id.clone(), tier, all_points(store, tier, &id, &[], T0 - DAY, T0 + 4 * DAY).await));
        }
    }
    out
}

async fn copy_case(src_db: &TestDb, dst_db: &TestDb) {
    let src = src_db.open().await;
    fill(&src).await;
    let dst = dst_db.open().await;
    let mut events = 0;
    let report = store::copy_store(&src, &dst, |_| events += 1).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert!(report.to_string().ends_with("counts match"), "{report}");
    assert!(events > 0);
    assert_eq!((report.servers, report.servers_already_done, report.kv_entries), (3, 0, 2));
    assert!(report.raw_rows > 0 && report.chunk_rows > 0, "{report:?}");
    let expected = dump(&src).await;
    assert!(expected.iter().all(|(_, _, points)| !points.is_empty()));
    assert_eq!(dump(&dst).await, expected);
    assert_eq!(dst.get_kv("alert_rule/1").await.unwrap(), Some(serde_json::json!({"cpu": 90})));
    // Idempotent: a second run finds every server done and changes nothing.
    let report = store::copy_store(&src, &dst, |_| {}).await.unwrap();
    assert_eq!((report.servers_already_done, report.raw_rows, report.chunk_rows), (3, 0, 0));
    assert!(report.ok(), "{report:?}");
    // Watermarks came along: a sample the source already summarised is late on the target too.
    let out = dst.write(vec![sample("srv-0", T0 + 5 * MIN + 1, 1.0)]).await.unwrap();
    assert_eq!(out.late, 1);
    // The target keeps working as a store: new data, rollups.
    dst.write(vec![sample("srv-0", T0 + 3 * DAY, 1.0)]).await.unwrap();
    dst.rollup(T0 + 3 * DAY + 10 * MIN).await.unwrap();
}

/// A copy stopped mid-way (its future dropped, as when the process is killed) continues where it
/// was on the next run, and ends with matching counts.
async fn resume_case(src_db: &TestDb, dst_db: &TestDb) {
    let src = src_db.open().await;
    fill(&src).await;
    let dst = dst_db.open().await;
    let stop = tokio::sync::Notify::new();
    let interrupted = tokio::select! {
        r = store::copy_store(&src, &dst, |p| {
            if p.server == "srv-1" && p.phase == "raw" {
                stop.notify_one();
            }
        }) => { r.unwrap(); false }
        () = stop.notified() => true,
    };
    assert!(interrupted, "the copy finished before it could be interrupted");
    let report = store::copy_store(&src, &dst, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.servers_already_done, 1, "{report:?}");
    // srv-1 continued after its first batch instead of starting over.
    assert!(report.raw_rows < 2 * 2 * 1440, "{report:?}");
    assert_eq!(dump(&dst).await, dump(&src).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres() {
    let Some(dst) = TestDb::postgres("copy::sqlite_to_postgres").await else { return };
    copy_case(&TestDb::sqlite(), &dst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite() {
    let Some(src) = TestDb::postgres("copy::postgres_to_sqlite").await else { return };
    copy_case(&src, &TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite() {
    copy_case(&TestDb::sqlite(), &TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_sqlite_to_postgres_resumes() {
    let Some(dst) = TestDb::postgres("copy::interrupted_sqlite_to_postgres_resumes").await else { return };
    resume_case(&TestDb::sqlite(), &dst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_sqlite_to_sqlite_resumes() {
    resume_case(&TestDb::sqlite(), &TestDb::sqlite()).await;
}
