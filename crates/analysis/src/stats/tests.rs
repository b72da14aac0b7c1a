//! Unit tests of the shared statistics against values worked out by hand or well known.

use super::*;
use crate::testutil::Rng;

#[test]
fn quantiles_interpolate() {
    let xs = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(median(&xs), Some(2.5));
    assert_eq!(quantile(&xs, 0.0), Some(1.0));
    assert_eq!(quantile(&xs, 1.0), Some(4.0));
    assert!((quantile(&xs, 0.95).unwrap() - 3.85).abs() < 1e-12);
    assert_eq!(quantile(&[], 0.5), None);
    assert_eq!(mean(&[]), None);
}

#[test]
fn robust_scale_matches_sigma_and_survives_zero_mad() {
    let mut rng = Rng::new(7);
    let xs: Vec<f64> = (0..20_000).map(|_| 10.0 + 2.0 * rng.gauss()).collect();
    let r = robust(&xs, 0.01).unwrap();
    assert!((r.center - 10.0).abs() < 0.05, "{r:?}");
    assert!((r.scale - 2.0).abs() < 0.1, "{r:?}");

    // Mostly constant: MAD is 0, the mean absolute deviation takes over.
    let mut flat = vec![5.0; 99];
    flat.push(55.0);
    let r = robust(&flat, 0.01).unwrap();
    assert_eq!(r.center, 5.0);
    assert!((r.scale - 0.5 * MEAN_AD_SCALE).abs() < 1e-9);
    // Entirely constant: the floor.
    assert_eq!(robust(&[3.0; 10], 0.5).unwrap().scale, 0.5);
}

#[test]
fn pearson_spearman_and_ranks() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap() - 1.0).abs() < 1e-12);
    assert!((pearson(&x, &[5.0, 4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
    assert_eq!(pearson(&x, &[3.0; 5]), None);
    assert_eq!(pearson(&x[..2], &x[..2]), None);
    assert_eq!(ranks(&[10.0, 30.0, 20.0, 20.0]), vec![1.0, 4.0, 2.5, 2.5]);
    // Monotonic but not linear: Spearman (Pearson on ranks) is exactly 1.
    let cubes: Vec<f64> = x.iter().map(|v| v * v * v).collect();
    assert!((pearson(&ranks(&x), &ranks(&cubes)).unwrap() - 1.0).abs() < 1e-12);
    // Large offsets do not cancel the co-moments away.
    let big: Vec<f64> = x.iter().map(|v| 1e9 + v).collect();
    assert!((pearson(&big, &x).unwrap() - 1.0).abs() < 1e-9);
}

#[test]
fn autocorrelation_of_alternating_and_gappy_series() {
    let alt: Vec<Option<f64>> = (0..100).map(|i| Some(if i % 2 == 0 { 1.0 } else { -1.0 })).collect();
    assert!((autocorrelation(&alt, 1).unwrap().0 + 1.0).abs() < 1e-9);
    assert!((autocorrelation(&alt, 2).unwrap().0 - 1.0).abs() < 1e-9);
    let gappy: Vec<Option<f64>> = alt.iter().enumerate().map(|(i, v)| if i % 5 == 0 { None } else { *v }).collect();
    assert!(autocorrelation(&gappy, 2).unwrap().0 > 0.9);
    assert_eq!(autocorrelation(&[Some(1.0); 10], 1), None);
    assert_eq!(autocorrelation(&[None; 10], 1), None);
}

#[test]
fn lines_recover_slopes_and_ignore_outliers() {
    let xs: Vec<f64> = (0..50).map(f64::from).collect();
    let mut ys: Vec<f64> = xs.iter().map(|x| 3.0 + 0.5 * x).collect();
    ys[10] = 500.0; // an outlier that would bend least squares
    let ts = theil_sen(&xs, &ys, (&xs, &ys)).unwrap();
    assert!((ts.slope - 0.5).abs() < 1e-12 && (ts.intercept - 3.0).abs() < 1e-12, "{ts:?}");
    assert!(r_squared(&xs, &ys, &ts) < 1.0);
    let ls = least_squares(&xs, &ys).unwrap();
    assert!((ls.slope - 0.5).abs() > 0.1);
    let flat = vec![2.0; 50];
    let line = theil_sen(&xs, &flat, (&xs, &flat)).unwrap();
    assert_eq!(line.slope, 0.0);
    assert_eq!(r_squared(&xs, &flat, &line), 1.0);
    assert_eq!(theil_sen(&[1.0], &[1.0], (&[1.0], &[1.0])), None);
}

#[test]
fn normal_quantile_known_values() {
    assert!(normal_quantile(0.5).abs() < 1e-9);
    assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-6);
    assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 1e-6);
    assert!((normal_quantile(1.0 - 1e-7) - 5.199_337_582).abs() < 1e-5);
    assert!(normal_quantile(0.0).is_finite() && normal_quantile(1.0).is_finite());
}
