//! Retention: deletes exactly what is past each tier's horizon, never unrolled data.

use std::time::Duration;

use crate::common::*;
use store::{Point, Store, Tier};

conformance!(retention_deletes_exactly_what_is_past_each_horizon, retention_never_deletes_data_not_yet_rolled_up);

async fn snapshot(store: &Store, tier: Tier, end: i64) -> Vec<Point> {
    all_points(store, tier, "s", &[], T0 - DAY, end).await
}

async fn retention_deletes_exactly_what_is_past_each_horizon(db: &TestDb) {
    let mut cfg = db.config();
    // Short horizons keep the test small; the logic is the same as with the defaults.
    cfg.raw_retention = Duration::from_secs(3600);
    cfg.m1_retention = Duration::from_secs(86_400);
    cfg.m10_retention = Duration::from_secs(3 * 86_400);
    cfg.h1_retention = Duration::from_secs(5 * 86_400);
    let store = db.open_with(cfg).await;
    // One sample a minute for 8 days, rolled up as we go.
    let days = 8;
    for d in 0..days {
        write_all(&store, series("s", T0 + d * DAY, MIN, 1440)).await;
        store.rollup(T0 + (d + 1) * DAY).await.unwrap();
    }
    store.rollup(T0 + days * DAY + 10 * MIN).await.unwrap();
    // Not aligned to any bucket or chunk, so some chunks straddle a horizon and get trimmed.
    let now = T0 + days * DAY - 25 * MIN;
    let end = now + DAY;
    let before: Vec<Vec<Point>> = {
        let mut v = Vec::new();
        for t in [Tier::Raw, Tier::M1, Tier::M10, Tier::H1] {
            v.push(snapshot(&store, t, end).await);
        }
        v
    };
    assert_eq!(before[0].len(), 8 * 1440);
    let report = store.apply_retention(now).await.unwrap();
    assert!(report.raw_deleted > 0 && report.chunks_deleted > 0 && report.chunks_trimmed > 0, "{report:?}");
    let horizons = [now - HOUR, now - DAY, now - 3 * DAY, now - 5 * DAY];
    for (i, t) in [Tier::Raw, Tier::M1, Tier::M10, Tier::H1].into_iter().enumerate() {
        let after = snapshot(&store, t, end).await;
        let expected: Vec<Point> = before[i].iter().filter(|p| p.timestamp_ms >= horizons[i]).cloned().collect();
        assert!(!expected.is_empty() && expected.len() < before[i].len(), "{t:?}");
        assert_eq!(after, expected, "{t:?}");
    }
    // Idempotent.
    assert_eq!(store.apply_retention(now).await.unwrap(), store::RetentionReport::default());
}

async fn retention_never_deletes_data_not_yet_rolled_up(db: &TestDb) {
    let store = db.open().await;
    write_all(&store, series("s", T0, 5_000, 12 * 60)).await;
    // Retention long after the data, but before any rollup: nothing may go.
    assert_eq!(store.apply_retention(T0 + 30 * DAY).await.unwrap().raw_deleted, 0);
    assert_eq!(snapshot(&store, Tier::Raw, T0 + HOUR).await.len(), 720);
    // Once rolled up, raw goes (except the newest sample, kept for `latest`).
    store.rollup(T0 + 30 * DAY).await.unwrap();
    let r = store.apply_retention(T0 + 30 * DAY).await.unwrap();
    assert_eq!(r.raw_deleted, 719);
    assert_eq!(store.latest("s").await.unwrap().unwrap().timestamp_ms, T0 + 719 * 5_000);
    // 1-minute points past 7 days go (10-minute and 1-hour hold them); coarser tiers stay.
    assert_eq!(snapshot(&store, Tier::M1, T0 + HOUR).await.len(), 0);
    assert_eq!(snapshot(&store, Tier::M10, T0 + HOUR).await.len(), 6);
    assert_eq!(snapshot(&store, Tier::H1, T0 + HOUR).await.len(), 1);
}
