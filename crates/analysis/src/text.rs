//! Writing numbers, times and metric names for people, in Korean or English.
//!
//! Times are formatted here rather than with a date crate: findings only need a civil date and a
//! clock in a fixed offset, which is a dozen lines of arithmetic.

use crate::lang::Lang;
use crate::metric::{Metric, Unit};

/// The metric's name in running text.
pub(crate) fn metric_name(metric: Metric, lang: Lang) -> &'static str {
    match (metric, lang) {
        (Metric::Cpu, _) => "CPU",
        (Metric::Memory, Lang::Ko) => "메모리",
        (Metric::Memory, Lang::En) => "memory",
        (Metric::Disk, Lang::Ko) => "디스크",
        (Metric::Disk, Lang::En) => "disk",
        (Metric::Load1, Lang::Ko) => "1분 부하",
        (Metric::Load1, Lang::En) => "1-minute load",
        (Metric::NetworkIn, Lang::Ko) => "네트워크 수신",
        (Metric::NetworkIn, Lang::En) => "network in",
        (Metric::NetworkOut, Lang::Ko) => "네트워크 송신",
        (Metric::NetworkOut, Lang::En) => "network out",
    }
}

/// The metric's name at the start of a title (capitalised in English).
pub(crate) fn metric_title(metric: Metric, lang: Lang) -> String {
    let name = metric_name(metric, lang);
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// A value in the metric's unit: `87.3%`, `2.35`, `1.2 MB/s`.
pub(crate) fn value(metric: Metric, v: f64) -> String {
    match metric.unit() {
        Unit::Percent => format!("{v:.1}%"),
        Unit::Count => format!("{v:.2}"),
        Unit::BytesPerSec => rate(v),
    }
}

/// A byte rate in binary units: `512 B/s`, `1.5 MB/s`.
pub(crate) fn rate(bytes_per_sec: f64) -> String {
    const UNITS: [&str; 4] = ["B/s", "KB/s", "MB/s", "GB/s"];
    let mut v = bytes_per_sec;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{v:.0} {}", UNITS[0]) } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// A length of time, rounded to its two largest units: `3 days 4 hours`, `3일 4시간`.
pub(crate) fn duration(secs: i64, lang: Lang) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let parts: Vec<(i64, &str, &str, &str)> = if d > 0 {
        vec![(d, "일", "day", "days"), (h, "시간", "hour", "hours")]
    } else if h > 0 {
        vec![(h, "시간", "hour", "hours"), (m, "분", "minute", "minutes")]
    } else if m > 0 {
        vec![(m, "분", "minute", "minutes")]
    } else {
        vec![(secs, "초", "second", "seconds")]
    };
    let words: Vec<String> = parts
        .iter()
        .enumerate()
        .filter(|(i, (n, ..))| *i == 0 || *n > 0)
        .map(|(_, &(n, ko, one, many))| match lang {
            Lang::Ko => format!("{n}{ko}"),
            Lang::En => format!("{n} {}", if n == 1 { one } else { many }),
        })
        .collect();
    words.join(" ")
}

/// A unix time as `2024-01-01 14:05 UTC` (or `UTC+09:00` with an offset).
pub(crate) fn time(ts: i64, offset_secs: i32) -> String {
    let local = ts.saturating_add(i64::from(offset_secs));
    let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400);
    format!("{y:04}-{mo:02}-{d:02} {:02}:{:02} {}", sod / 3_600, sod % 3_600 / 60, zone(offset_secs))
}

/// The zone label for an offset: `UTC` or `UTC+09:00`.
pub(crate) fn zone(offset_secs: i32) -> String {
    if offset_secs == 0 {
        return "UTC".to_string();
    }
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let abs = offset_secs.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", abs / 3_600, abs % 3_600 / 60)
}

/// A count with thousands separators: `12,345`.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Rounds for JSON evidence: full f64 precision is noise to a reader and to a language model.
pub(crate) fn round(x: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    let r = (x * k).round() / k;
    if r.is_finite() { r } else { x }
}

/// Days since 1970-01-01 to a (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_in_utc_and_offsets() {
        assert_eq!(time(1_704_067_200, 0), "2024-01-01 00:00 UTC");
        assert_eq!(time(1_704_067_200 + 14 * 3600 + 5 * 60, 9 * 3600), "2024-01-01 23:05 UTC+09:00");
        assert_eq!(time(1_709_164_800, 0), "2024-02-29 00:00 UTC");
        assert_eq!(time(-1, 0), "1969-12-31 23:59 UTC");
        assert_eq!(zone(-(5 * 3600 + 1800)), "UTC-05:30");
    }

    #[test]
    fn formats_durations_and_values() {
        assert_eq!(duration(3 * 86_400 + 4 * 3_600 + 59, Lang::En), "3 days 4 hours");
        assert_eq!(duration(86_400, Lang::En), "1 day");
        assert_eq!(duration(3 * 86_400 + 4 * 3_600, Lang::Ko), "3일 4시간");
        assert_eq!(duration(90 * 60, Lang::En), "1 hour 30 minutes");
        assert_eq!(duration(42, Lang::Ko), "42초");
        assert_eq!(value(Metric::Cpu, 87.26), "87.3%");
        assert_eq!(value(Metric::NetworkIn, 1_572_864.0), "1.5 MB/s");
        assert_eq!(value(Metric::Load1, 2.345), "2.35");
        assert_eq!(metric_title(Metric::Memory, Lang::En), "Memory");
        assert_eq!(round(1.23456, 2), 1.23);
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(100), "100");
    }
}
