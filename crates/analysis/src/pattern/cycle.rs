//! Periodicity: does a series repeat every day (or every hour)? Autocorrelation at the period's lag
//! on a detrended, resampled series, checked against the half-period lag.
//!
//! A high autocorrelation at the period alone is not enough: anything smooth (a slow drift, a random
//! walk) is correlated with itself a period later. A real cycle is also *anti*-correlated half a
//! period later (day against night), so both are required.

use serde::Serialize;

use super::Cadence;
use crate::grid::resample;
use crate::metric::Metric;
use crate::series::Series;
use crate::stats::{autocorrelation, least_squares, mean};
use crate::text;

/// Grid cells per period: hourly cells for a day, 2.5-minute cells for an hour.
const CELLS: usize = 24;
/// The fewest whole periods a series must cover.
const MIN_CYCLES: usize = 3;
/// The most recent periods looked at (bounds the grid at 1,152 cells).
const MAX_CYCLES: usize = 48;
/// The least share of grid cells that must hold data.
const MIN_COVERAGE: f64 = 0.6;
/// The least autocorrelation at the period.
const MIN_STRENGTH: f64 = 0.5;
/// The least drop from the period's autocorrelation to the half period's.
const MIN_CONTRAST: f64 = 0.3;

/// A series' cycle at one cadence, and whether it counts as one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Periodicity {
    /// The metric.
    pub metric: Metric,
    /// Daily or hourly.
    pub cadence: Cadence,
    /// The period, seconds.
    pub period_secs: i64,
    /// The resampling step, seconds.
    pub step_secs: i64,
    /// Autocorrelation at the period's lag (the cycle's strength).
    pub strength: f64,
    /// Autocorrelation at half the period (negative for a real cycle).
    pub half_period_acf: f64,
    /// Periods covered.
    pub cycles: f64,
    /// Where in the period the average is highest: seconds after local midnight (daily) or after
    /// the hour (hourly), in the caller's UTC offset.
    pub peak_offset_secs: i64,
    /// Where it is lowest, likewise.
    pub trough_offset_secs: i64,
    /// The average profile's peak minus its trough (each smoothed over three steps), in the
    /// metric's unit.
    pub amplitude: f64,
    /// Whether this is a cycle: strong, contrasted and larger than measurement noise.
    pub detected: bool,
}

/// Measures the `cadence` cycle of a cleaned series. `None` when the series is too short, too
/// coarse, too gappy or does not vary.
pub(crate) fn periodicity(series: &Series, metric: Metric, cadence: Cadence, utc_offset: i32) -> Option<Periodicity> {
    let period = cadence.period_secs();
    let step = period / CELLS as i64;
    if series.median_interval()? > step {
        return None;
    }
    let (first, last) = series.bounds()?;
    let off = i64::from(utc_offset);
    // Cells start on local clock boundaries, so cell i's place in the period is a plain modulus.
    let from = first.max(last - MAX_CYCLES as i64 * period);
    let start = (from + off).div_euclid(step) * step - off;
    let len = usize::try_from((last - start) / step + 1).ok()?;
    if len < MIN_CYCLES * CELLS {
        return None;
    }
    let cells = resample(series.points(), start, step, len);
    let present = cells.iter().flatten().count();
    if (present as f64) < MIN_COVERAGE * len as f64 {
        return None;
    }
    let detrended = detrend(&cells)?;
    let (strength, _) = autocorrelation(&detrended, CELLS)?;
    let (half, _) = autocorrelation(&detrended, CELLS / 2)?;

    // The average profile over the period, from the detrended cells.
    let first_bin = usize::try_from((start + off).rem_euclid(period) / step).ok()?;
    let mut bins = vec![Vec::new(); CELLS];
    for (i, v) in detrended.iter().enumerate() {
        if let Some(v) = v {
            bins[(first_bin + i) % CELLS].push(*v);
        }
    }
    // Each bin averaged with its neighbours (circularly): the peak hour of a noisy profile otherwise
    // hops between two nearly equal bins.
    let raw: Vec<Option<f64>> = bins.iter().map(|vs| mean(vs)).collect();
    let profile: Vec<(usize, f64)> = (0..CELLS)
        .filter_map(|b| {
            let near: Vec<f64> = [CELLS - 1, 0, 1].iter().filter_map(|d| raw[(b + d) % CELLS]).collect();
            Some((b, mean(&near)?)).filter(|_| raw[b].is_some())
        })
        .collect();
    let (peak, hi) = profile.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let (trough, lo) = profile.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let amplitude = hi - lo;
    Some(Periodicity {
        metric,
        cadence,
        period_secs: period,
        step_secs: step,
        strength: text::round(strength, 3),
        half_period_acf: text::round(half, 3),
        cycles: text::round(len as f64 / CELLS as f64, 1),
        peak_offset_secs: peak as i64 * step,
        trough_offset_secs: trough as i64 * step,
        amplitude: text::round(amplitude, 3),
        detected: strength >= MIN_STRENGTH
            && strength - half >= MIN_CONTRAST
            && amplitude >= 2.0 * metric.noise_floor(),
    })
}

/// The cells minus their least-squares line, so a trend does not pass for a cycle.
fn detrend(cells: &[Option<f64>]) -> Option<Vec<Option<f64>>> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = cells.iter().enumerate().filter_map(|(i, v)| Some((i as f64, (*v)?))).unzip();
    let line = least_squares(&xs, &ys)?;
    Some(cells.iter().enumerate().map(|(i, v)| v.map(|v| v - line.at(i as f64))).collect())
}
