//! Correlation on synthetic pairs: a lagged copy is found with its lag, unrelated series are not.

use super::*;
use crate::testutil::*;
use crate::{AnalysisType, Options, run};

/// An AR(1) series (φ = 0.6) around `mean`: realistic short-term memory without a trend.
fn ar1(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut x = 0.0;
    (0..n)
        .map(|_| {
            x = 0.6 * x + rng.gauss();
            mean + sd * x
        })
        .collect()
}

fn points(values: &[f64]) -> Vec<Point> {
    series(values.len(), MINUTE, |i, _| values[i])
}

/// B is A delayed by `k` steps plus a little noise.
fn lagged_pair(seed: u64, k: usize) -> (Vec<Point>, Vec<Point>) {
    let a = ar1(seed, 720 + k, 50.0, 8.0);
    let mut rng = Rng::new(seed + 1_000);
    let b: Vec<f64> = (0..720).map(|i| a[i] * 0.5 + 10.0 + rng.gauss()).collect();
    (points(&a[k..]), points(&b))
}

#[test]
fn lagged_copy_is_found_with_its_lag() {
    for (seed, k) in [(1, 5), (2, 3), (3, 8)] {
        let (a, b) = lagged_pair(seed, k);
        let c = correlate(&a, &b, 10).unwrap();
        assert_eq!(c.lag_steps, k as i64, "{c:?}");
        assert_eq!((c.lag_secs, c.step_secs), (k as i64 * MINUTE, MINUTE));
        assert!(c.pearson > 0.9 && c.spearman > 0.85 && c.significant, "{c:?}");
        assert!(c.is_strong(0.8));
        // Swapped, the lag changes sign.
        assert_eq!(correlate(&b, &a, 10).unwrap().lag_steps, -(k as i64));
    }
}

#[test]
fn lagged_pair_across_servers_is_reported() {
    let (a, b) = lagged_pair(4, 5);
    let servers = vec![
        server("web-01", specs4(), vec![(Metric::Cpu, a)]),
        server("db-01", specs4(), vec![(Metric::Cpu, b)]),
        server("cache-01", specs4(), vec![(Metric::Cpu, noise(9, 720, MINUTE, 30.0, 5.0))]),
    ];
    let report = run(AnalysisType::Correlation, &input(servers), Lang::En, &Options::default());
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    let Evidence::Correlation(ev) = &f.evidence else { panic!() };
    assert_eq!((ev.a.server_id.as_str(), ev.b.server_id.as_str(), ev.correlation.lag_steps), ("web-01", "db-01", 5));
    assert!(f.description.contains("db-01 CPU follows web-01 CPU by 5 minutes"), "{}", f.description);
    assert_eq!(report.analyzed_servers, 3);

    // Focused on the cache server, the pair is out of scope.
    let opts = Options { server_id: Some("cache-01".into()), ..Options::default() };
    let servers = vec![
        server("web-01", specs4(), vec![(Metric::Cpu, lagged_pair(4, 5).0)]),
        server("db-01", specs4(), vec![(Metric::Cpu, lagged_pair(4, 5).1)]),
        server("cache-01", specs4(), vec![(Metric::Cpu, noise(9, 720, MINUTE, 30.0, 5.0))]),
    ];
    assert!(run(AnalysisType::Correlation, &input(servers), Lang::En, &opts).findings.is_empty());
}

#[test]
fn related_metrics_within_a_server_and_negative_pairs() {
    let cpu = ar1(5, 720, 40.0, 10.0);
    let mut rng = Rng::new(6);
    let load: Vec<f64> = cpu.iter().map(|c| c / 25.0 + 0.05 * rng.gauss()).collect();
    let free: Vec<f64> = cpu.iter().map(|c| 100.0 - c + rng.gauss()).collect();
    let c = correlate(&points(&cpu), &points(&free), 10).unwrap();
    assert!(c.pearson < -0.9 && c.lag_steps == 0 && c.is_strong(0.8), "{c:?}");

    let srv = server("app-01", specs4(), vec![(Metric::Cpu, points(&cpu)), (Metric::Load1, points(&load))]);
    let report = run(AnalysisType::Correlation, &input(vec![srv]), Lang::Ko, &Options::default());
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].metric, Some(Metric::Cpu));
    assert!(report.findings[0].title.contains("CPU ↔ 1분 부하"), "{}", report.findings[0].title);
}

#[test]
fn independent_series_report_nothing() {
    for seed in 0..10 {
        let (a, b) = (noise(seed, 720, MINUTE, 50.0, 5.0), noise(seed + 100, 720, MINUTE, 50.0, 5.0));
        assert!(!correlate(&a, &b, 10).unwrap().is_strong(0.8), "seed {seed}");
        // Random walks drift and often look correlated; the effective sample size sees through it.
        let walk = |s: u64| {
            let mut rng = Rng::new(s);
            let mut x = 50.0;
            series(720, MINUTE, |_, _| {
                x += rng.gauss();
                x
            })
        };
        let c = correlate(&walk(seed + 200), &walk(seed + 300), 10).unwrap();
        assert!(!c.is_strong(0.8), "seed {seed}: {c:?}");
    }
    let servers = (0..4)
        .map(|i| server(&format!("s{i}"), specs4(), vec![(Metric::Cpu, noise(i, 720, MINUTE, 50.0, 5.0))]))
        .collect();
    assert!(run(AnalysisType::Correlation, &input(servers), Lang::En, &Options::default()).findings.is_empty());
}

#[test]
fn bad_input_gives_none() {
    let a = noise(1, 100, MINUTE, 50.0, 5.0);
    assert_eq!(correlate(&a, &[], 10), None);
    assert_eq!(correlate(&a, &series(100, MINUTE, |_, _| 7.0), 10), None); // does not vary
    assert_eq!(correlate(&a, &a[..20], 10), None); // too little overlap
    let later: Vec<Point> = a.iter().map(|p| Point::new(p.ts + 10 * DAY, p.value)).collect();
    assert_eq!(correlate(&a, &later, 10), None); // no overlap
    let nan = series(100, MINUTE, |_, _| f64::NAN);
    assert_eq!(correlate(&a, &nan, 10), None);
}
