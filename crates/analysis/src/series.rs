//! A cleaned, bounded time series: the one place raw input is made safe to compute on.

use crate::input::Point;

/// The most points any analysis looks at per series. Longer input is averaged down evenly, which
/// bounds every analysis's work (the worst is O(n log n) per series) on a 2-core VM; the store's
/// rollups already serve long ranges at coarser resolution, so this rarely bites.
pub const MAX_POINTS: usize = 5_000;

/// Timestamps beyond ±1e11 s (about the year 5000) are corrupt, and dropping them keeps every
/// difference of two timestamps far from overflowing.
const MAX_ABS_TS: i64 = 100_000_000_000;

/// A series sorted by time with finite values, one point per timestamp (duplicates averaged) and at
/// most [`MAX_POINTS`] points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    points: Vec<Point>,
}

impl Series {
    /// Cleans `raw`: drops non-finite values and absurd timestamps, sorts, averages duplicate timestamps and caps the
    /// length at [`MAX_POINTS`]. Never fails; bad input gives a short or empty series.
    pub fn new(raw: &[Point]) -> Series {
        let mut sorted: Vec<Point> =
            raw.iter().copied().filter(|p| p.value.is_finite() && (-MAX_ABS_TS..=MAX_ABS_TS).contains(&p.ts)).collect();
        // Input normally arrives sorted; checking first skips the sort's cost on long series.
        if !sorted.is_sorted_by_key(|p| p.ts) {
            sorted.sort_by_key(|p| p.ts);
        }
        let mut points: Vec<Point> = Vec::with_capacity(sorted.len());
        let mut run = 0usize; // how many readings the last point averages
        for p in sorted {
            match points.last_mut() {
                // Two readings for one instant: neither is more right, so keep their mean.
                Some(last) if last.ts == p.ts => {
                    run += 1;
                    last.value += (p.value - last.value) / run as f64;
                }
                _ => {
                    points.push(p);
                    run = 1;
                }
            }
        }
        Series { points: bucket_means(&points, MAX_POINTS) }
    }

    /// The points, oldest first.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The values, oldest first.
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.value).collect()
    }

    /// The first and last timestamps.
    pub fn bounds(&self) -> Option<(i64, i64)> {
        Some((self.points.first()?.ts, self.points.last()?.ts))
    }

    /// Seconds from the first point to the last (0 for fewer than two points).
    pub fn span_secs(&self) -> i64 {
        self.bounds().map_or(0, |(a, b)| b - a)
    }

    /// The median gap between consecutive points: the series' typical sampling interval.
    pub fn median_interval(&self) -> Option<i64> {
        let mut gaps: Vec<i64> = self.points.windows(2).map(|w| w[1].ts - w[0].ts).collect();
        if gaps.is_empty() {
            return None;
        }
        let mid = gaps.len() / 2;
        let (_, m, _) = gaps.select_nth_unstable(mid);
        Some(*m)
    }

    /// The last point.
    pub fn last(&self) -> Option<Point> {
        self.points.last().copied()
    }
}

/// Averages `points` (sorted, unique timestamps) down to at most `max` points, each the mean time
/// and value of an even share of consecutive points. Means rather than picks: a spike survives as a
/// smaller spike while the noise around it shrinks faster, so outliers stay visible.
pub(crate) fn bucket_means(points: &[Point], max: usize) -> Vec<Point> {
    let n = points.len();
    if n <= max || max == 0 {
        return points.to_vec();
    }
    (0..max)
        .filter_map(|i| {
            let chunk = &points[i * n / max..(i + 1) * n / max];
            let len = chunk.len();
            if len == 0 {
                return None;
            }
            let ts: i128 = chunk.iter().map(|p| i128::from(p.ts)).sum();
            let value = chunk.iter().map(|p| p.value).sum::<f64>() / len as f64;
            let ts = i64::try_from(ts / len as i128).unwrap_or(chunk[0].ts);
            Some(Point::new(ts, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_skips_non_finite_and_averages_duplicates() {
        let raw = [
            Point::new(30, 3.0),
            Point::new(10, 1.0),
            Point::new(20, f64::NAN),
            Point::new(20, 2.0),
            Point::new(20, 4.0),
            Point::new(40, f64::INFINITY),
            Point::new(i64::MIN, 1.0),
            Point::new(i64::MAX, 1.0),
        ];
        let s = Series::new(&raw);
        assert_eq!(s.points(), &[Point::new(10, 1.0), Point::new(20, 3.0), Point::new(30, 3.0)]);
        assert_eq!(s.bounds(), Some((10, 30)));
        assert_eq!(s.median_interval(), Some(10));
    }

    #[test]
    fn empty_and_single_point_are_fine() {
        let empty = Series::new(&[]);
        assert!(empty.is_empty());
        assert_eq!(empty.span_secs(), 0);
        assert_eq!(empty.median_interval(), None);
        let one = Series::new(&[Point::new(5, 1.0)]);
        assert_eq!(one.len(), 1);
        assert_eq!(one.median_interval(), None);
    }

    #[test]
    fn caps_long_series_evenly() {
        let raw: Vec<Point> = (0..12_345).map(|i| Point::new(i * 10, (i % 7) as f64)).collect();
        let s = Series::new(&raw);
        assert!(s.len() <= MAX_POINTS);
        assert!(s.len() >= MAX_POINTS - 1);
        assert!(s.points().windows(2).all(|w| w[0].ts < w[1].ts));
        let mean_in = raw.iter().map(|p| p.value).sum::<f64>() / raw.len() as f64;
        let mean_out = s.values().iter().sum::<f64>() / s.len() as f64;
        assert!((mean_in - mean_out).abs() < 0.01);
    }
}
