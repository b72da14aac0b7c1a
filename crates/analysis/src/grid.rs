//! Resampling onto a regular time grid, so two series (or one series and itself, shifted) can be
//! compared cell by cell even when their readings were taken at different moments.

use crate::input::Point;

/// `len` cells of `step` seconds from `start`; each holds the mean of the points that fall in it,
/// or `None` when none do. Points outside the grid are ignored.
pub(crate) fn resample(points: &[Point], start: i64, step: i64, len: usize) -> Vec<Option<f64>> {
    let step = step.max(1);
    let mut sums = vec![(0.0, 0u32); len];
    for p in points {
        let cell = (p.ts - start).div_euclid(step);
        if let Some(slot) = usize::try_from(cell).ok().and_then(|c| sums.get_mut(c)) {
            slot.0 += p.value;
            slot.1 += 1;
        }
    }
    sums.into_iter().map(|(sum, n)| (n > 0).then(|| sum / f64::from(n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_per_cell_and_leaves_gaps() {
        let points =
            [Point::new(0, 1.0), Point::new(5, 3.0), Point::new(25, 7.0), Point::new(-1, 9.0), Point::new(40, 9.0)];
        assert_eq!(resample(&points, 0, 10, 4), vec![Some(2.0), None, Some(7.0), None]);
        assert_eq!(resample(&points, 0, 0, 1), vec![Some(1.0)]);
        assert!(resample(&points, 0, 10, 0).is_empty());
    }
}
