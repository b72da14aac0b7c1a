//! Counter deltas and rates that stay sane when counters reset or wrap.

/// `cur - prev`, or 0 when the counter went backwards (interface re-created,
/// driver reset, 32-bit wrap): a reset must read as "no traffic", not 2^64 bytes.
pub(crate) fn counter_delta(prev: u64, cur: u64) -> u64 {
    cur.saturating_sub(prev)
}

/// Per-second rate of a counter over `elapsed_secs`; `None` when there is no usable interval.
pub(crate) fn rate(prev: u64, cur: u64, elapsed_secs: Option<f64>) -> Option<f64> {
    let secs = elapsed_secs.filter(|s| *s > 0.0)?;
    Some(counter_delta(prev, cur) as f64 / secs)
}

/// `part / whole * 100`, clamped to 0-100; 0 when `whole` is 0.
pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 * 100.0 / whole as f64).clamp(0.0, 100.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_is_zero_not_huge() {
        assert_eq!(counter_delta(10, 15), 5);
        assert_eq!(counter_delta(u64::MAX - 1, 3), 0);
        assert_eq!(rate(1000, 10, Some(1.0)), Some(0.0));
        assert_eq!(rate(1000, 3000, Some(2.0)), Some(1000.0));
        assert_eq!(rate(1000, 3000, Some(0.0)), None);
        assert_eq!(rate(1000, 3000, None), None);
        assert_eq!(percent(1, 0), 0.0);
        assert_eq!(percent(5, 4), 100.0);
        assert_eq!(percent(1, 4), 25.0);
    }
}
