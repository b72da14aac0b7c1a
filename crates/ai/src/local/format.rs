//! How numbers read in answers: one decimal for percentages, MB/s for traffic, days and hours for time.

use super::Metric;
use super::parse::Lang;

/// A percentage with one decimal: `95.2%`.
pub fn pct(v: f64) -> String {
    format!("{v:.1}%")
}

/// A metric's value in its own unit.
pub fn value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Cpu | Metric::Memory | Metric::Disk => pct(v),
        Metric::Network => rate(v),
        Metric::Load => format!("{v:.2}"),
    }
}

/// A change per hour in the metric's unit: `+12.0%p/h` reads badly, so points are spelled out.
pub fn per_hour(metric: Metric, slope: f64, lang: Lang) -> String {
    let sign = if slope >= 0.0 { "+" } else { "-" };
    let magnitude = slope.abs();
    match (metric, lang) {
        (Metric::Cpu | Metric::Memory | Metric::Disk, Lang::Ko) => format!("시간당 {sign}{magnitude:.1}%p"),
        (Metric::Cpu | Metric::Memory | Metric::Disk, Lang::En) => format!("{sign}{magnitude:.1} points/hour"),
        (Metric::Network, Lang::Ko) => format!("시간당 {sign}{}", rate(magnitude)),
        (Metric::Network, Lang::En) => format!("{sign}{} per hour", rate(magnitude)),
        (Metric::Load, Lang::Ko) => format!("시간당 {sign}{magnitude:.2}"),
        (Metric::Load, Lang::En) => format!("{sign}{magnitude:.2}/hour"),
    }
}

/// Bytes per second as `12.3 MB/s` (or KB/s when small).
pub fn rate(bytes_per_sec: f64) -> String {
    if bytes_per_sec >= 1_000_000.0 {
        format!("{:.1} MB/s", bytes_per_sec / 1_000_000.0)
    } else {
        format!("{:.1} KB/s", bytes_per_sec / 1_000.0)
    }
}

pub fn bytes(b: f64) -> String {
    if b >= 1e12 { format!("{:.1} TB", b / 1e12) } else { format!("{:.1} GB", b / 1e9) }
}

pub fn metric_name(metric: Metric, lang: Lang) -> &'static str {
    match (metric, lang) {
        (Metric::Cpu, _) => "CPU",
        (Metric::Memory, Lang::Ko) => "메모리",
        (Metric::Memory, Lang::En) => "memory",
        (Metric::Disk, Lang::Ko) => "디스크",
        (Metric::Disk, Lang::En) => "disk",
        (Metric::Network, Lang::Ko) => "네트워크",
        (Metric::Network, Lang::En) => "network",
        (Metric::Load, Lang::Ko) => "부하(load)",
        (Metric::Load, Lang::En) => "load",
    }
}

pub fn status_name(status: &str, lang: Lang) -> String {
    match (status, lang) {
        ("online", Lang::Ko) => "정상".to_owned(),
        ("warning", Lang::Ko) => "경고".to_owned(),
        ("critical", Lang::Ko) => "심각".to_owned(),
        ("offline", Lang::Ko) => "오프라인".to_owned(),
        ("maintenance", Lang::Ko) => "점검 중".to_owned(),
        ("unknown", Lang::Ko) => "알 수 없음".to_owned(),
        (other, _) => other.to_owned(),
    }
}

/// A duration as days/hours/minutes, at most two units.
pub fn duration(ms: i64, lang: Lang) -> String {
    let minutes = (ms.max(0) / 60_000) as u64;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match lang {
        Lang::Ko if d > 0 => format!("{d}일 {h}시간"),
        Lang::Ko if h > 0 => format!("{h}시간 {m}분"),
        Lang::Ko => format!("{m}분"),
        Lang::En if d > 0 => format!("{d}d {h}h"),
        Lang::En if h > 0 => format!("{h}h {m}m"),
        Lang::En => format!("{m}m"),
    }
}

/// A range as people say it: "1시간", "24 hours", "7 days".
pub fn range(ms: i64, lang: Lang) -> String {
    let hours = ms as f64 / 3_600_000.0;
    let days = hours / 24.0;
    let whole = |x: f64| if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.1}") };
    match lang {
        Lang::Ko if hours >= 48.0 => format!("{}일", whole(days)),
        Lang::Ko if hours >= 1.0 => format!("{}시간", whole(hours)),
        Lang::Ko => format!("{}분", whole(hours * 60.0)),
        Lang::En if hours >= 48.0 => format!("{} days", whole(days)),
        Lang::En if hours == 1.0 => "1 hour".to_owned(),
        Lang::En if hours >= 1.0 => format!("{} hours", whole(hours)),
        Lang::En => format!("{} minutes", whole(hours * 60.0)),
    }
}
