//! Several handles on one database (several hubs, or a hand-over): concurrent writers, rollups and
//! retention that run once, and the health probe.

use std::collections::BTreeSet;

use crate::common::*;
use store::{ErrorKind, Sample, Tier};

conformance!(
    concurrent_writers_on_two_handles_count_every_sample_once,
    rollup_and_retention_run_once_across_handles,
    health_is_ok_until_closed,
);

/// Two "hubs" and 8 agents each: every agent writes its own server twice (a retry), and a shared
/// server gets the same timestamps from every agent. Inserted totals equal distinct keys; the rest
/// are duplicates; nothing is lost.
async fn concurrent_writers_on_two_handles_count_every_sample_once(db: &TestDb) {
    let hubs = [db.open().await, db.open().await];
    let mut tasks = tokio::task::JoinSet::new();
    for agent in 0..16usize {
        let store = hubs[agent % 2].clone();
        tasks.spawn(async move {
            let (mut inserted, mut duplicates) = (0, 0);
            for round in 0..2 {
                for batch in 0..10i64 {
                    let mut samples: Vec<Sample> = (0..20i64)
                        .map(|i| sample(&format!("agent-{agent:02}"), T0 + (batch * 20 + i) * 5_000, i as f64))
                        .collect();
                    samples.push(sample("shared", T0 + (batch + round * 10) * 5_000, agent as f64));
                    let out = store.write(samples).await.unwrap();
                    assert_eq!(out.late, 0);
                    inserted += out.inserted;
                    duplicates += out.duplicates;
                }
            }
            (inserted, duplicates)
        });
    }
    let (mut inserted, mut duplicates) = (0, 0);
    for (i, d) in tasks.join_all().await {
        inserted += i;
        duplicates += d;
    }
    // Per agent 200 own samples (sent twice) + 20 shared timestamps in all.
    assert_eq!(inserted, 16 * 200 + 20);
    assert_eq!(inserted + duplicates, 16 * 2 * 10 * 21);
    let ids = hubs[1].server_ids().await.unwrap();
    assert_eq!(ids.len(), 17);
    for id in &ids {
        let points = all_points(&hubs[0], Tier::Raw, id, &["cpu"], T0, T0 + HOUR).await;
        let unique: BTreeSet<i64> = points.iter().map(|p| p.timestamp_ms).collect();
        assert_eq!(points.len(), if id == "shared" { 20 } else { 200 }, "{id}");
        assert_eq!(unique.len(), points.len());
    }
}

/// Rollups and retention started on two handles at once: the work is done once (the sums of what
/// each call reports equal a single run's), whichever handle did it; on PostgreSQL the other one
/// reports the round skipped or finds nothing left.
async fn rollup_and_retention_run_once_across_handles(db: &TestDb) {
    let hubs = [db.open().await, db.open().await];
    for s in 0..20 {
        write_all(&hubs[0], series(&format!("s{s:02}"), T0, 5_000, 12 * 60)).await;
    }
    let now = T0 + 2 * HOUR;
    let (a, b) = tokio::join!(hubs[0].rollup(now), hubs[1].rollup(now));
    let (a, b) = (a.unwrap(), b.unwrap());
    let points: Vec<u64> = (0..3).map(|i| a.points[i] + b.points[i]).collect();
    // Each server: 60 minutes x 2 metrics; 6 x 10 minutes; 1 hour.
    assert_eq!(points, vec![20 * 60 * 2, 20 * 6 * 2, 20 * 2], "{a:?} {b:?}");
    let again = hubs[1].rollup(now).await.unwrap();
    assert_eq!(again.points, [0, 0, 0]);
    let later = T0 + 3 * HOUR;
    let (a, b) = tokio::join!(hubs[0].apply_retention(later), hubs[1].apply_retention(later));
    let (a, b) = (a.unwrap(), b.unwrap());
    // Raw is past its 1 h horizon and rolled up: all but each server's newest sample goes, once.
    assert_eq!(a.raw_deleted + b.raw_deleted, 20 * (12 * 60 - 1), "{a:?} {b:?}");
    for s in 0..20 {
        let m1 = all_points(&hubs[1], Tier::M1, &format!("s{s:02}"), &["cpu"], T0, T0 + HOUR).await;
        assert_eq!(m1.len(), 60);
    }
}

async fn health_is_ok_until_closed(db: &TestDb) {
    let store = db.open().await;
    store.health().await.unwrap();
    store.write(series("h", T0, 5_000, 3)).await.unwrap();
    store.health().await.unwrap();
    store.close().await.unwrap();
    let err = store.write(series("h", T0 + HOUR, 5_000, 1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert!(store.health().await.is_err());
}
