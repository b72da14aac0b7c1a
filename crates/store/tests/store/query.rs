//! Queries: tier selection by range, cursor pagination, bad cursors.

use std::collections::BTreeSet;

use crate::common::*;
use store::{Error, Sample, Tier};

conformance!(
    tier_is_chosen_from_the_range,
    pagination_returns_every_point_exactly_once,
    cursor_keeps_the_first_pages_tier_and_bad_cursors_are_errors
);

async fn tier_is_chosen_from_the_range(db: &TestDb) {
    let store = db.open().await;
    write_all(&store, series("s", T0, 5_000, 12 * 90)).await;
    store.rollup(T0 + 2 * HOUR).await.unwrap();
    let end = T0 + 90 * MIN;
    let cases = [
        (30 * MIN, Tier::Raw, 5),
        (HOUR, Tier::Raw, 5),
        (6 * HOUR, Tier::M1, 60),
        (24 * HOUR, Tier::M1, 60),
        (7 * DAY, Tier::M10, 600),
        (60 * DAY, Tier::H1, 3600),
    ];
    for (span, tier, res) in cases {
        let h = store.history("s", &["cpu"], end - span, end, 10, None).await.unwrap();
        assert_eq!((h.tier, h.resolution_seconds), (tier, res), "span {span}");
    }
    // A short range that starts before raw retention's horizon (relative to the newest sample)
    // is served from the 1-minute tier, which still has it.
    let old = T0 + 90 * MIN - 2 * HOUR;
    let h = store.history("s", &["cpu"], old, old + 30 * MIN, 100, None).await.unwrap();
    assert_eq!(h.tier, Tier::M1);
    assert_eq!(h.points.len(), 1, "only T0+0 falls inside");
    // Unknown server: empty answer, no error.
    assert!(store.history("ghost", &["cpu"], T0, end, 10, None).await.unwrap().points.is_empty());
}

async fn pagination_returns_every_point_exactly_once(db: &TestDb) {
    let store = db.open().await;
    // Raw: 700 samples; the metric "gpu" exists only on every third one.
    let samples: Vec<Sample> = (0..700)
        .map(|i| {
            let s = sample("p", T0 + i * 5_000, i as f64);
            if i % 3 == 0 { s.with("gpu", 1.0) } else { s }
        })
        .collect();
    store.write(samples).await.unwrap();
    for (metrics, expected) in [(vec!["cpu"], 700usize), (vec!["gpu"], 234), (vec!["cpu", "gpu"], 700), (vec![], 700)] {
        for limit in [1usize, 7, 100, 699, 700, 5_000] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let h = store.history("p", &metrics, T0, T0 + HOUR, limit, cursor.as_deref()).await.unwrap();
                assert!(h.points.len() <= limit);
                seen.extend(h.points.iter().map(|p| p.timestamp_ms));
                pages += 1;
                match h.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
                assert!(pages <= expected + 1, "cursor loop");
            }
            let unique: BTreeSet<_> = seen.iter().collect();
            assert_eq!(seen.len(), expected, "{metrics:?} limit {limit}");
            assert_eq!(unique.len(), expected);
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
        }
    }
    // Rollup tier with several metrics, pages of 7.
    store.rollup(T0 + 2 * HOUR).await.unwrap();
    let pts = all_points(&store, Tier::M1, "p", &["cpu", "gpu"], T0, T0 + HOUR).await;
    let mut cursor = None;
    let mut paged = Vec::new();
    loop {
        let h = store.history_at(Tier::M1, "p", &["cpu", "gpu"], T0, T0 + HOUR, 7, cursor.as_deref()).await.unwrap();
        paged.extend(h.points);
        match h.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(paged, pts);
    assert_eq!(paged.len(), 59, "700 samples span 58m20s");
    assert!(paged.iter().all(|p| p.values.len() == 2));
}

async fn cursor_keeps_the_first_pages_tier_and_bad_cursors_are_errors(db: &TestDb) {
    let store = db.open().await;
    write_all(&store, series("s", T0, 5_000, 12 * 60)).await;
    store.rollup(T0 + 2 * HOUR).await.unwrap();
    let first = store.history("s", &["cpu"], T0, T0 + 2 * HOUR, 10, None).await.unwrap();
    assert_eq!(first.tier, Tier::M1);
    let second = store.history("s", &["cpu"], T0, T0 + 2 * HOUR, 10, first.next_cursor.as_deref()).await.unwrap();
    assert_eq!(second.tier, Tier::M1);
    assert_eq!(second.points[0].timestamp_ms, T0 + 10 * MIN);
    for bad in ["xyz", "00", "deadbeef"] {
        assert!(matches!(store.history("s", &["cpu"], T0, T0 + HOUR, 10, Some(bad)).await, Err(Error::InvalidCursor)));
    }
}
