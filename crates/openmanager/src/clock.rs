//! Wall-clock helpers: the RFC 3339 UTC timestamps (millisecond precision) every envelope carries.

/// Now, as `2026-11-27T10:06:22.123Z`.
pub fn now_rfc3339() -> String {
    format!("{:.3}", jiff::Timestamp::now())
}

/// A Unix time in milliseconds as RFC 3339 (`1970-01-01T00:00:00.000Z` if out of range).
pub fn millis_rfc3339(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("{ts:.3}")
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_with_millis() {
        let s = super::now_rfc3339();
        assert!(s.ends_with('Z') && s.len() == 24, "{s}");
        assert!(s.parse::<jiff::Timestamp>().is_ok());
    }
}
