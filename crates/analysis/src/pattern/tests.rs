//! Patterns on synthetic series: a daily sine and an hourly job are found at the right clock times;
//! noise and drifts are not mistaken for either.

use std::f64::consts::TAU;

use super::*;
use crate::testutil::*;
use crate::{AnalysisType, Options, run};

/// CPU around 40% with a daily swing of ±20 peaking at 14:30 UTC, every 5 minutes for `days`.
fn daily_sine(seed: u64, days: usize) -> Vec<Point> {
    let mut rng = Rng::new(seed);
    series(days * 288, 5 * MINUTE, |_, ts| {
        let hour = (ts - T0) as f64 / HOUR as f64;
        40.0 + 20.0 * (TAU * (hour - 8.5) / 24.0).sin() + 3.0 * rng.gauss()
    })
}

#[test]
fn daily_sine_is_detected_with_its_peak_hour() {
    let p = periodicity(&daily_sine(1, 4), Metric::Cpu, Cadence::Daily, 0).unwrap();
    assert!(p.detected && p.strength > 0.8 && p.half_period_acf < -0.5, "{p:?}");
    assert_eq!((p.peak_offset_secs, p.trough_offset_secs), (14 * HOUR, 2 * HOUR));
    assert!((p.amplitude - 40.0).abs() < 4.0, "{p:?}");
    assert_eq!(p.cycles, 4.0);
    // In KST the same peak is at 23:00.
    let kst = periodicity(&daily_sine(1, 4), Metric::Cpu, Cadence::Daily, 9 * 3_600).unwrap();
    assert_eq!(kst.peak_offset_secs, 23 * HOUR);
    // It is not an hourly cycle.
    assert!(periodicity(&daily_sine(1, 4), Metric::Cpu, Cadence::Hourly, 0).is_none_or(|p| !p.detected));

    let report = run(
        AnalysisType::Pattern,
        &input(vec![server("web-01", specs4(), vec![(Metric::Cpu, daily_sine(2, 4))])]),
        Lang::En,
        &Options::default(),
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!((f.kind, f.metric), (FindingKind::DailyCycle, Some(Metric::Cpu)));
    assert!(f.description.contains("highest around 14:00") && f.description.contains("UTC"), "{}", f.description);
}

#[test]
fn noise_and_drift_are_not_cycles() {
    for seed in 1..=10 {
        let flat = noise(seed, 4 * 288, 5 * MINUTE, 40.0, 5.0);
        let fine = noise(seed + 20, 12 * 60, MINUTE, 40.0, 5.0);
        for (points, cadence) in [(&flat, Cadence::Daily), (&fine, Cadence::Hourly)] {
            let p = periodicity(points, Metric::Cpu, cadence, 0).unwrap();
            assert!(!p.detected, "seed {seed} {cadence:?}: {p:?}");
            assert!(recurring_spikes(points, Metric::Cpu, 0).is_empty(), "seed {seed}");
        }
        // A random walk is smooth, so it correlates with itself a day later, but not against the half day.
        let mut rng = Rng::new(seed + 50);
        let mut x = 50.0;
        let walk = series(4 * 288, 5 * MINUTE, |_, _| {
            x += rng.gauss();
            x
        });
        assert!(!periodicity(&walk, Metric::Memory, Cadence::Daily, 0).unwrap().detected, "seed {seed}");
    }
    let report = run(
        AnalysisType::Pattern,
        &input(vec![server("web-01", specs4(), vec![(Metric::Cpu, noise(3, 4 * 288, 5 * MINUTE, 40.0, 5.0))])]),
        Lang::En,
        &Options::default(),
    );
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

#[test]
fn hourly_cycle_is_detected() {
    let mut rng = Rng::new(4);
    // Every minute for 12 hours: a ramp that peaks 20 minutes past each hour.
    let cpu = series(12 * 60, MINUTE, |i, _| 30.0 + 10.0 * (TAU * (i % 60) as f64 / 60.0 - 0.4).sin() + rng.gauss());
    let p = periodicity(&cpu, Metric::Cpu, Cadence::Hourly, 0).unwrap();
    assert!(p.detected, "{p:?}");
    assert!((p.peak_offset_secs - 20 * MINUTE).abs() <= 5 * MINUTE, "{p:?}");
}

#[test]
fn daily_spike_at_three_is_recurring() {
    let mut cpu = noise(5, 5 * 288, 5 * MINUTE, 30.0, 3.0);
    for day in 0..5 {
        for k in 0..3 {
            cpu[day * 288 + 36 + k].value = 85.0; // 03:00-03:10 every day
        }
    }
    let spikes = recurring_spikes(&cpu, Metric::Cpu, 0);
    assert_eq!(spikes.len(), 1, "{spikes:?}");
    let s = &spikes[0];
    assert_eq!((s.cadence, s.slots.as_slice(), s.occurrences, s.periods), (Cadence::Daily, &[3u32][..], 5, 5));
    assert_eq!(s.typical_value, 85.0);
    assert_eq!(s.last_at, T0 + 4 * DAY + 3 * HOUR + 10 * MINUTE);
    let report = run(
        AnalysisType::Pattern,
        &input(vec![server("batch-01", specs4(), vec![(Metric::Cpu, cpu)])]),
        Lang::Ko,
        &Options { utc_offset_secs: 9 * 3_600, ..Options::default() },
    );
    let f = report.findings.iter().find(|f| f.kind == FindingKind::RecurringSpike).unwrap();
    assert!(f.title.contains("매일 12:00(UTC+09:00)"), "{}", f.title);
}

#[test]
fn hourly_job_at_half_past_is_recurring() {
    let mut memory = noise(6, 24 * 60, MINUTE, 50.0, 1.0);
    for h in 0..24 {
        memory[h * 60 + 30].value = 75.0;
    }
    let spikes = recurring_spikes(&memory, Metric::Memory, 0);
    assert_eq!(spikes.len(), 1, "{spikes:?}");
    assert_eq!((spikes[0].cadence, spikes[0].slots.as_slice()), (Cadence::Hourly, &[30u32][..]));
    assert_eq!(spikes[0].hit_rate, 1.0);
}

#[test]
fn bad_input_gives_nothing() {
    assert_eq!(periodicity(&[], Metric::Cpu, Cadence::Daily, 0), None);
    // Two days is fewer than three cycles.
    assert_eq!(periodicity(&daily_sine(1, 2), Metric::Cpu, Cadence::Daily, 0), None);
    // Hourly readings are too coarse to see an hourly cycle.
    let coarse = noise(1, 200, HOUR, 10.0, 1.0);
    assert_eq!(periodicity(&coarse, Metric::Cpu, Cadence::Hourly, 0), None);
    let constant = series(4 * 288, 5 * MINUTE, |_, _| 10.0);
    assert_eq!(periodicity(&constant, Metric::Cpu, Cadence::Daily, 0), None);
    assert!(recurring_spikes(&constant, Metric::Cpu, 0).is_empty());
    let nan = series(4 * 288, 5 * MINUTE, |_, _| f64::NAN);
    assert_eq!(periodicity(&nan, Metric::Cpu, Cadence::Daily, 0), None);
    assert!(recurring_spikes(&[Point::new(T0, 1.0)], Metric::Cpu, 0).is_empty());
}
