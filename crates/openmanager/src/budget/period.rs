//! The billing month in the plan's time zone: its key (`2026-11`), start and end.

use jiff::Timestamp;
use jiff::tz::TimeZone;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    /// `YYYY-MM`, the ledger's identity.
    pub key: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Month {
    /// The month containing `now_ms` in `tz`.
    pub fn containing(now_ms: i64, tz: &TimeZone) -> Month {
        let now = Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let date = now.to_zoned_datetime(tz.clone()).date();
        let first = date.first_of_month();
        let start = first.to_zoned_datetime(tz.clone()).map(|z| z.timestamp().as_millisecond()).unwrap_or(now_ms);
        let end = first
            .checked_add(jiff::Span::new().months(1))
            .ok()
            .and_then(|d| d.to_zoned_datetime(tz.clone()).ok())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(start + 31 * 86_400_000);
        Month { key: format!("{:04}-{:02}", first.year(), first.month()), start_ms: start, end_ms: end }
    }

    pub fn hours(&self) -> f64 {
        (self.end_ms - self.start_ms) as f64 / 3_600_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_follows_the_zone() {
        let la = TimeZone::get("America/Los_Angeles").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(-8)));
        // 2026-12-01T05:00Z is still November 30th in Los Angeles.
        let t: Timestamp = "2026-12-01T05:00:00Z".parse().unwrap();
        let m = Month::containing(t.as_millisecond(), &la);
        assert_eq!(m.key, "2026-11");
        let start: Timestamp = "2026-11-01T07:00:00Z".parse().unwrap();
        let end: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        assert_eq!((m.start_ms, m.end_ms), (start.as_millisecond(), end.as_millisecond()));
        // November has 30 days and one DST change (an extra hour).
        assert_eq!(m.hours(), 721.0);
        let utc = Month::containing(t.as_millisecond(), &TimeZone::UTC);
        assert_eq!(utc.key, "2026-12");
    }
}
