//! Rollups: exact avg/min/max over known series, idempotence, catch-up after a gap.

use crate::common::*;
use store::{Sample, Tier};

conformance!(
    one_minute_ten_minute_and_hour_aggregates_are_exact,
    averages_are_weighted_by_sample_count,
    rollup_is_idempotent_and_respects_grace,
    rollup_catches_up_after_a_gap,
    a_silent_server_is_not_rolled_past_its_newest_sample_so_replays_still_count
);

/// cpu = index of the sample within its minute (0..11) plus minute number; exact aggregates.
fn known_series(server: &str, start: i64, minutes: i64) -> Vec<Sample> {
    (0..minutes * 12)
        .map(|i| {
            let minute = i / 12;
            let within = (i % 12) as f64;
            Sample::new(server, start + i * 5_000).with("cpu", minute as f64 + within).with("load1", 1.0)
        })
        .collect()
}

async fn one_minute_ten_minute_and_hour_aggregates_are_exact(db: &TestDb) {
    let store = db.open().await;
    write_all(&store, known_series("s", T0, 180)).await;
    let report = store.rollup(T0 + 3 * HOUR + 2 * MIN).await.unwrap();
    assert_eq!(report.points, [180 * 2, 18 * 2, 3 * 2]);

    let m1 = all_points(&store, Tier::M1, "s", &["cpu"], T0, T0 + 3 * HOUR).await;
    assert_eq!(m1.len(), 180);
    for (m, p) in m1.iter().enumerate() {
        let s = p.values["cpu"];
        assert_eq!(p.timestamp_ms, T0 + m as i64 * MIN);
        // Values m..m+11: avg m+5.5.
        assert_eq!((s.avg, s.min, s.max), (m as f64 + 5.5, m as f64, m as f64 + 11.0));
    }
    let m10 = all_points(&store, Tier::M10, "s", &["cpu"], T0, T0 + 3 * HOUR).await;
    assert_eq!(m10.len(), 18);
    for (k, p) in m10.iter().enumerate() {
        let first = (k * 10) as f64;
        let s = p.values["cpu"];
        // Mean of the minute means first+5.5 ..= first+14.5.
        assert!((s.avg - (first + 10.0)).abs() < 0.006, "{k}: {s:?}");
        assert_eq!((s.min, s.max), (first, first + 9.0 + 11.0));
    }
    let h1 = all_points(&store, Tier::H1, "s", &["cpu", "load1"], T0, T0 + 3 * HOUR).await;
    assert_eq!(h1.len(), 3);
    for (h, p) in h1.iter().enumerate() {
        let first = (h * 60) as f64;
        assert!((p.values["cpu"].avg - (first + 35.0)).abs() < 0.006);
        assert_eq!((p.values["cpu"].min, p.values["cpu"].max), (first, first + 59.0 + 11.0));
        assert_eq!(p.values["load1"].avg, 1.0);
    }
}

async fn averages_are_weighted_by_sample_count(db: &TestDb) {
    let store = db.open().await;
    // Minute 0: twelve samples of 0. Minute 1: one sample of 12. Unweighted mean of means = 6.
    let mut s: Vec<Sample> = (0..12).map(|i| Sample::new("w", T0 + i * 5_000).with("cpu", 0.0)).collect();
    s.push(Sample::new("w", T0 + MIN).with("cpu", 12.0));
    store.write(s).await.unwrap();
    // The server then goes quiet: its last minutes are summarised once the silence horizon passed.
    store.rollup(T0 + 7 * HOUR).await.unwrap();
    let m10 = all_points(&store, Tier::M10, "w", &["cpu"], T0, T0 + HOUR).await;
    assert!((m10[0].values["cpu"].avg - 12.0 / 13.0).abs() < 0.006);
}

async fn rollup_is_idempotent_and_respects_grace(db: &TestDb) {
    let store = db.open().await;
    write_all(&store, known_series("s", T0, 30)).await;
    // Grace is 2 minutes: at T0+30m only minutes ending by T0+28m are due.
    let first = store.rollup(T0 + 30 * MIN).await.unwrap();
    assert_eq!(first.points[0], 28 * 2);
    let again = store.rollup(T0 + 30 * MIN).await.unwrap();
    assert_eq!(again.points, [0, 0, 0]);
    let before = all_points(&store, Tier::M1, "s", &[], T0, T0 + HOUR).await;
    store.rollup(T0 + 40 * MIN).await.unwrap();
    let after = all_points(&store, Tier::M1, "s", &[], T0, T0 + HOUR).await;
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after.len(), 30);
}

async fn rollup_catches_up_after_a_gap(db: &TestDb) {
    let store = db.open().await;
    write_all(&store, known_series("s", T0, 60)).await;
    store.rollup(T0 + 61 * MIN).await.unwrap();
    // Hub down for 5 hours: no data, no rollups. Then 2 more hours of data and one late rollup.
    let resume = T0 + 6 * HOUR;
    write_all(&store, known_series("s", resume, 120)).await;
    store.rollup(resume + 3 * HOUR).await.unwrap();
    let m1 = all_points(&store, Tier::M1, "s", &["cpu"], T0, resume + 3 * HOUR).await;
    assert_eq!(m1.len(), 180);
    assert!(m1.iter().all(|p| p.timestamp_ms < T0 + HOUR || p.timestamp_ms >= resume));
    let h1 = all_points(&store, Tier::H1, "s", &["cpu"], T0, resume + 3 * HOUR).await;
    assert_eq!(h1.iter().map(|p| p.timestamp_ms).collect::<Vec<_>>(), vec![T0, resume, resume + HOUR]);
    let m10 = all_points(&store, Tier::M10, "s", &["cpu"], T0, resume + 3 * HOUR).await;
    assert_eq!(m10.len(), 18);
}

async fn a_silent_server_is_not_rolled_past_its_newest_sample_so_replays_still_count(db: &TestDb) {
    let store = db.open().await;
    write_all(&store, known_series("a", T0, 10)).await;
    // The agent is cut off for 30 minutes; rollups keep running meanwhile.
    store.rollup(T0 + 40 * MIN).await.unwrap();
    // Then it replays its spool: those samples are new, not late.
    let replay: Vec<Sample> =
        (0..12 * 30).map(|i| Sample::new("a", T0 + 10 * MIN + i * 5_000).with("cpu", 1.0)).collect();
    let out = store.write(replay).await.unwrap();
    assert_eq!((out.inserted, out.late, out.duplicates), (360, 0, 0));
}
