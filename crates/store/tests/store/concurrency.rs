//! Several handles on one database (several hubs, or a hand-over): concurrent writers, rollups and
//! retention that run once, and the health probe.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::common::*;
use store::{ErrorKind, Sample, Tier};

conformance!(
    concurrent_writers_on_two_handles_count_every_sample_once,
    rollup_and_retention_run_once_across_handles,
    health_is_ok_until_closed,
    rollups_racing_ingest_lose_no_inserted_sample,
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

/// Writers on one handle and rollups on another, racing at the watermark: a rollup may close the
/// minute a sample is being written to. Every sample reported `inserted` must be in its minute's
/// rollup (a sample slipping under the watermark after the rollup read raw would be lost from
/// every coarser tier); every other one is reported `late`. New metrics keep appearing meanwhile.
async fn rollups_racing_ingest_lose_no_inserted_sample(db: &TestDb) {
    let (ingest, maintenance) = (db.open().await, db.open().await);
    let next = Arc::new(AtomicI64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    // Writers go on until both 1200 samples are written and 20 rollup rounds ran meanwhile, so the
    // two really overlap whatever the machine's speed.
    let rounds = Arc::new(AtomicI64::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (store, next, rounds) = (ingest.clone(), Arc::clone(&next), Arc::clone(&rounds));
        writers.spawn(async move {
            let mut inserted = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= 1_200 && rounds.load(Ordering::Relaxed) >= 20 {
                    return inserted;
                }
                // 4 s apart on average but up to 3 minutes behind (agents replaying late, clocks
                // skewed), so many samples land right at the moving watermark. Value = k, so every
                // sample shifts its minute's avg.
                let ts = T0 + 180_000 + k * 4_000 - (k * 7_919) % 180 * 1_000;
                // A new metric every 100 samples: metrics appear while rollups run.
                let sample = store::Sample::new("r", ts).with("cpu", k as f64).with(format!("extra{}", k / 100), 1.0);
                let out = store.write(vec![sample]).await.unwrap();
                assert_eq!(out.inserted + out.late + out.duplicates, 1, "{out:?}");
                if out.inserted == 1 {
                    inserted.push((ts, k as f64));
                }
            }
        });
    }
    let roller = {
        let (store, done, rounds, next) =
            (maintenance.clone(), Arc::clone(&done), Arc::clone(&rounds), Arc::clone(&next));
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                // "Now" follows the writers: with the 2-minute grace the watermark trails them
                // inside the spread of their timestamps.
                let now = T0 + 180_000 + next.load(Ordering::Relaxed) * 4_000;
                store.rollup(now).await.unwrap();
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let inserted: Vec<(i64, f64)> = writers.join_all().await.into_iter().flatten().collect();
    done.store(true, Ordering::Relaxed);
    roller.await.unwrap();
    maintenance.rollup(T0 + 30 * DAY).await.unwrap();
    assert!(!inserted.is_empty());
    let mut expected: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (ts, v) in &inserted {
        expected.entry(ts - ts.rem_euclid(MIN)).or_default().push(*v);
    }
    let m1 = all_points(&ingest, Tier::M1, "r", &["cpu"], T0, T0 + DAY).await;
    let got: BTreeMap<i64, (f64, f64, f64)> =
        m1.iter().map(|p| (p.timestamp_ms, (p.values["cpu"].min, p.values["cpu"].max, p.values["cpu"].avg))).collect();
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (minute, values) in &expected {
        let (min, max, avg) = got[minute];
        let want_avg = values.iter().sum::<f64>() / values.len() as f64;
        let want_min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let want_max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((min, max), (want_min, want_max), "minute {minute}");
        assert!((avg - want_avg).abs() < 0.006, "minute {minute}: {avg} vs {want_avg} of {values:?}");
    }
    let (written, rounds) = (next.load(Ordering::Relaxed), rounds.load(Ordering::Relaxed));
    eprintln!("{} of {written} samples inserted, {rounds} rollup rounds", inserted.len());
}
