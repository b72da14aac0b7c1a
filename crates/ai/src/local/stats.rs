//! Numbers from a series: min/max/average, least-squares slope, and when a linear fit reaches a level.

/// Summary of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub first: f64,
    pub last: f64,
    /// Least-squares slope, units per hour.
    pub slope_per_hour: f64,
    pub points: usize,
    pub span_ms: i64,
}

const HOUR_MS: f64 = 3_600_000.0;

/// `None` for fewer than two points or a zero time span: no trend can be told from those.
pub fn summarize(points: &[(i64, f64)]) -> Option<Summary> {
    let points: Vec<(i64, f64)> = points.iter().copied().filter(|(_, v)| v.is_finite()).collect();
    let (first, last) = (points.first()?, points.last()?);
    let span_ms = last.0 - first.0;
    let (slope_per_ms, _) = fit(&points)?;
    let values = points.iter().map(|(_, v)| *v);
    let min = values.clone().fold(f64::INFINITY, f64::min);
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    let avg = values.sum::<f64>() / points.len() as f64;
    Some(Summary {
        min,
        max,
        avg,
        first: first.1,
        last: last.1,
        slope_per_hour: slope_per_ms * HOUR_MS,
        points: points.len(),
        span_ms,
    })
}

/// Least-squares line `value = slope * t + intercept` (t in ms, relative to the first point so large
/// timestamps do not eat the precision). Returns `(slope per ms, value at the last point)`.
pub fn fit(points: &[(i64, f64)]) -> Option<(f64, f64)> {
    if points.len() < 2 {
        return None;
    }
    let t0 = points[0].0;
    let n = points.len() as f64;
    let xs: Vec<f64> = points.iter().map(|(t, _)| (t - t0) as f64).collect();
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, v)| v).sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = xs.iter().zip(points).map(|(x, (_, y))| (x - mean_x) * (y - mean_y)).sum();
    let slope = sxy / sxx;
    let last_x = xs.last().copied().unwrap_or(0.0);
    Some((slope, mean_y + slope * (last_x - mean_x)))
}

/// How a trend reads: rising, falling or flat, judged by the change the slope makes over the series'
/// own span relative to the value's scale (so 0.3 %/h is flat but doubling traffic is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Rising,
    Falling,
    Flat,
}

pub fn direction(s: &Summary) -> Direction {
    let change = s.slope_per_hour * (s.span_ms as f64 / HOUR_MS);
    let scale = s.avg.abs().max(1.0);
    // Under 2% of the level (or 1 point of a percentage) over the whole range is noise.
    let noise = (scale * 0.02).max(1.0);
    if change > noise {
        Direction::Rising
    } else if change < -noise {
        Direction::Falling
    } else {
        Direction::Flat
    }
}

/// Days until a linear fit of a percentage series reaches 100, from the fitted value at its last point.
/// `None` when the fit is not rising (no exhaustion ahead).
pub fn days_until_full(points: &[(i64, f64)]) -> Option<f64> {
    let (slope_per_ms, fitted_last) = fit(points)?;
    let per_day = slope_per_ms * 86_400_000.0;
    // Less than 0.01 points a day would take 27 years to matter.
    if per_day <= 0.01 {
        return None;
    }
    Some(((100.0 - fitted_last) / per_day).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_is_exact() {
        let points: Vec<(i64, f64)> = (0..=12).map(|i| (i * 300_000, 50.0 + i as f64)).collect();
        let s = summarize(&points).unwrap();
        assert!((s.slope_per_hour - 12.0).abs() < 1e-9);
        assert_eq!((s.min, s.max, s.first, s.last), (50.0, 62.0, 50.0, 62.0));
        assert!((s.avg - 56.0).abs() < 1e-9);
        assert_eq!(direction(&s), Direction::Rising);
    }

    #[test]
    fn days_until_full_from_a_fit() {
        let day = 86_400_000;
        let points: Vec<(i64, f64)> = (0..=6).map(|i| (i * day, 80.0 + 2.0 * i as f64)).collect();
        let days = days_until_full(&points).unwrap();
        assert!((days - 4.0).abs() < 1e-9, "{days}");
        let flat: Vec<(i64, f64)> = (0..=6).map(|i| (i * day, 80.0)).collect();
        assert_eq!(days_until_full(&flat), None);
        assert_eq!(summarize(&[(0, 1.0)]), None);
    }
}
