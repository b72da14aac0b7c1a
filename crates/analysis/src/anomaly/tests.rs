//! Anomaly detection on synthetic series: planted outliers are found where they were planted, noise
//! raises nothing.

use super::*;
use crate::testutil::*;
use crate::{AnalysisType, Lang, Options, run};

#[test]
fn planted_spike_is_found_at_its_time_and_metric() {
    let mut cpu = noise(1, 1_440, MINUTE, 40.0, 3.0);
    cpu[700].value = 95.0;
    let memory = noise(2, 1_440, MINUTE, 60.0, 2.0);
    let found = detect(&cpu, Metric::Cpu, 3.5);
    assert_eq!(found.len(), 1, "{found:?}");
    let a = &found[0];
    assert_eq!((a.at, a.value, a.points), (T0 + 700 * MINUTE, 95.0, 1));
    assert!(a.expected_lower < 40.0 && 40.0 < a.expected_upper && a.expected_upper < 95.0, "{a:?}");
    assert!(a.score > a.threshold && a.threshold >= 3.5);

    let report = run(
        AnalysisType::Anomaly,
        &input(vec![server("web-01", specs4(), vec![(Metric::Cpu, cpu), (Metric::Memory, memory)])]),
        Lang::En,
        &Options::default(),
    );
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!((f.metric, f.server_id.as_deref()), (Some(Metric::Cpu), Some("web-01")));
    assert_eq!(f.severity, Severity::Critical); // 95% is saturation
    assert!(f.description.contains("2024-01-01 11:40 UTC"), "{}", f.description);
    assert_eq!(report.analyzed_points, 2 * 1_440);
}

#[test]
fn planted_dip_is_found_below_the_band() {
    let mut memory = noise(3, 600, MINUTE, 60.0, 1.5);
    memory[300].value = 20.0;
    let found = detect(&memory, Metric::Memory, 3.5);
    assert_eq!(found.len(), 1);
    assert!(found[0].score < 0.0 && found[0].expected_lower > 20.0);
}

#[test]
fn gaussian_noise_raises_nothing() {
    for seed in 1..=12 {
        for (metric, mean, sd) in [(Metric::Cpu, 35.0, 4.0), (Metric::NetworkIn, 5e6, 4e5), (Metric::Load1, 1.5, 0.2)] {
            let points = noise(seed * 31 + metric as u64, 1_440, MINUTE, mean, sd);
            let found = detect(&points, metric, 3.5);
            assert!(found.is_empty(), "seed {seed} {metric}: {found:?}");
        }
    }
}

#[test]
fn spike_on_a_trend_is_caught_by_the_ewma_test() {
    let mut rng = Rng::new(5);
    let mut disk = series(1_440, MINUTE, |i, _| 20.0 + 60.0 * i as f64 / 1_440.0 + 0.2 * rng.gauss());
    disk[1_000].value += 6.0;
    let found = detect(&disk, Metric::Disk, 3.5);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].at, found[0].method), (T0 + 1_000 * MINUTE, Method::Ewma));
}

#[test]
fn level_shift_is_one_episode() {
    let mut rng = Rng::new(9);
    let memory = series(600, MINUTE, |i, _| if (400..420).contains(&i) { 85.0 } else { 50.0 } + rng.gauss());
    let found = detect(&memory, Metric::Memory, 3.5);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].start, found[0].end), (T0 + 400 * MINUTE, T0 + 419 * MINUTE));
    assert_eq!(found[0].points, 20);
}

#[test]
fn still_series_with_zero_mad() {
    let mut flat = series(200, MINUTE, |_, _| 42.0);
    assert!(detect(&flat, Metric::Disk, 3.5).is_empty());
    flat[120].value = 42.3; // below the noise floor: granularity, not an anomaly
    assert!(detect(&flat, Metric::Disk, 3.5).is_empty());
    flat[150].value = 60.0;
    let found = detect(&flat, Metric::Disk, 3.5);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].at, T0 + 150 * MINUTE);
}

#[test]
fn bad_input_gives_nothing() {
    assert!(detect(&[], Metric::Cpu, 3.5).is_empty());
    assert!(detect(&[Point::new(T0, 99.0)], Metric::Cpu, 3.5).is_empty());
    assert!(detect(&noise(1, MIN_POINTS - 1, MINUTE, 10.0, 1.0), Metric::Cpu, 3.5).is_empty());
    let nan = series(100, MINUTE, |_, _| f64::NAN);
    assert!(detect(&nan, Metric::Cpu, 3.5).is_empty());
    // Unsorted, with NaNs mixed in: same answer as the clean series.
    let mut cpu = noise(4, 300, MINUTE, 40.0, 3.0);
    cpu[150].value = 99.0;
    let clean = detect(&cpu, Metric::Cpu, 3.5);
    let mut messy = cpu.clone();
    messy.reverse();
    messy.push(Point::new(T0 + 5, f64::NAN));
    assert_eq!(detect(&messy, Metric::Cpu, 3.5), clean);
}

#[test]
fn threshold_grows_with_length() {
    assert!(threshold(30, 3.5) >= 3.5);
    assert!(threshold(1_440, 3.5) > threshold(100, 3.5));
    assert_eq!(threshold(10, 9.0), 9.0);
}
