//! Trend fitting and ETAs on synthetic series with known slopes.

use super::*;
use crate::testutil::*;
use crate::{AnalysisType, Options, run};

const HORIZON: i64 = 30 * DAY;

/// Disk from 50% growing 2 points a day, sampled every 10 minutes for a week, with noise.
fn filling_disk(seed: u64) -> Vec<Point> {
    let mut rng = Rng::new(seed);
    series(7 * 144, 10 * MINUTE, |_, ts| 50.0 + 2.0 * (ts - T0) as f64 / DAY as f64 + 0.3 * rng.gauss())
}

#[test]
fn known_slope_and_disk_full_eta_are_recovered() {
    let disk = filling_disk(1);
    let now = T0 + 7 * DAY;
    let f = forecast(&disk, 100.0, now, HORIZON);
    let t = f.trend.unwrap();
    assert!((t.slope_per_day - 2.0).abs() < 0.05, "{t:?}");
    assert!((t.level_now - 64.0).abs() < 0.3, "{t:?}");
    assert!(t.r2 > 0.95);
    // (100 - 64) / 2 = 18 days from now.
    let Outlook::Reaches { eta, in_secs } = f.outlook else { panic!("{f:?}") };
    assert_eq!(eta - now, in_secs);
    assert!((in_secs - 18 * DAY).abs() < 12 * HOUR, "{}", in_secs as f64 / DAY as f64);
    assert_eq!(f.eta(), Some(eta));
}

#[test]
fn flat_and_decreasing_series_never_exhaust() {
    let now = T0 + 7 * DAY;
    let flat = noise(2, 7 * 144, 10 * MINUTE, 60.0, 0.5);
    let f = forecast(&flat, 100.0, now, HORIZON);
    assert_eq!(f.outlook, Outlook::NoExhaustion { reason: Steady::Flat }, "{f:?}");
    assert_eq!(f.eta(), None);

    let mut rng = Rng::new(3);
    let falling = series(7 * 144, 10 * MINUTE, |_, ts| 80.0 - 3.0 * (ts - T0) as f64 / DAY as f64 + 0.3 * rng.gauss());
    let f = forecast(&falling, 100.0, now, HORIZON);
    assert_eq!(f.outlook, Outlook::NoExhaustion { reason: Steady::Decreasing });

    let slow = series(7 * 144, 10 * MINUTE, |_, ts| 20.0 + 0.5 * (ts - T0) as f64 / DAY as f64);
    let f = forecast(&slow, 100.0, now, HORIZON);
    assert_eq!(f.outlook, Outlook::NoExhaustion { reason: Steady::BeyondHorizon });
}

#[test]
fn already_reached_and_insufficient_data() {
    let full = series(100, MINUTE, |i, _| 99.0 + i as f64 * 0.01);
    assert_eq!(forecast(&full, 100.0, T0 + 100 * MINUTE, HORIZON).outlook, Outlook::AlreadyReached);
    for bad in [vec![], vec![Point::new(T0, 50.0)], series(9, MINUTE, |i, _| i as f64), series(50, 10, |i, _| i as f64)]
    {
        let f = forecast(&bad, 100.0, T0, HORIZON);
        assert_eq!((f.outlook, f.trend), (Outlook::InsufficientData, None));
    }
    // NaNs and disorder do not change the answer.
    let mut messy = filling_disk(1);
    messy.reverse();
    messy.push(Point::new(T0 + 30, f64::NAN));
    assert_eq!(
        forecast(&messy, 100.0, T0 + 7 * DAY, HORIZON),
        forecast(&filling_disk(1), 100.0, T0 + 7 * DAY, HORIZON)
    );
}

#[test]
fn analysis_reports_the_next_limit_with_all_etas() {
    let servers = vec![
        server("db-01", specs4(), vec![(Metric::Disk, filling_disk(4))]),
        server("web-01", specs4(), vec![(Metric::Disk, noise(5, 7 * 144, 10 * MINUTE, 40.0, 0.5))]),
    ];
    let report = run(AnalysisType::Prediction, &input(servers), Lang::En, &Options::default());
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!((f.server_id.as_deref(), f.metric, f.severity), (Some("db-01"), Some(Metric::Disk), Severity::Info));
    let Evidence::Exhaustion(ev) = &f.evidence else { panic!() };
    assert_eq!(ev.threshold, 90.0); // 90% comes first (about 13 days), 100% later
    assert_eq!(ev.limits.len(), 2);
    assert!(ev.limits.iter().all(|l| l.eta().is_some()));
    assert!(f.description.contains("90% around") && f.description.contains("100% around"), "{}", f.description);
}

#[test]
fn noisy_rise_is_not_predicted() {
    let mut rng = Rng::new(6);
    // A slight rise buried in noise: the ETA would be a guess.
    let cpu = series(7 * 144, 10 * MINUTE, |_, ts| 50.0 + 1.5 * (ts - T0) as f64 / DAY as f64 + 15.0 * rng.gauss());
    let report = run(
        AnalysisType::Prediction,
        &input(vec![server("x", specs4(), vec![(Metric::Cpu, cpu)])]),
        Lang::En,
        &Options::default(),
    );
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.notes.len(), 1);
}
