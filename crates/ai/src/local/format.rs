//! How numbers and names read in answers: one decimal for percentages, MB/s for traffic, MB or GB for
//! sizes, the metric and status names in each language.

use super::Metric;
use super::text::Lang;

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

/// A change per hour in the metric's unit.
pub fn per_hour(metric: Metric, slope: f64, lang: Lang) -> String {
    let sign = if slope >= 0.0 { "+" } else { "-" };
    let m = slope.abs();
    match (metric, lang) {
        (Metric::Cpu | Metric::Memory | Metric::Disk, Lang::Ko) => format!("시간당 {sign}{m:.1}%p"),
        (Metric::Cpu | Metric::Memory | Metric::Disk, Lang::En) => format!("{sign}{m:.1} points/hour"),
        (Metric::Network, Lang::Ko) => format!("시간당 {sign}{}", rate(m)),
        (Metric::Network, Lang::En) => format!("{sign}{} per hour", rate(m)),
        (Metric::Load, Lang::Ko) => format!("시간당 {sign}{m:.2}"),
        (Metric::Load, Lang::En) => format!("{sign}{m:.2}/hour"),
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

/// A size: `412.3 MB`, `9.8 GB`, `2.0 TB`.
pub fn bytes(b: f64) -> String {
    if b >= 1e12 {
        format!("{:.1} TB", b / 1e12)
    } else if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.1} MB", b / 1e6)
    }
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

/// A Korean subject particle that fits the word before it: "CPU가", "메모리가", "디스크가".
pub fn ga(word: &str) -> &'static str {
    match word.chars().next_back() {
        Some(c @ '\u{AC00}'..='\u{D7A3}') if !(c as u32 - 0xAC00).is_multiple_of(28) => "이",
        Some('L' | 'M' | 'N' | 'R' | 'l' | 'm' | 'n' | 'r' | '0' | '1' | '3' | '6' | '7' | '8') => "이",
        _ => "가",
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
        ("info", Lang::Ko) => "정보".to_owned(),
        ("maintenance", Lang::En) => "in maintenance".to_owned(),
        (other, _) => other.to_owned(),
    }
}

/// A server type's name: "database", "데이터베이스".
pub fn type_name(ty: &str, lang: Lang) -> String {
    match (ty, lang) {
        ("web", Lang::Ko) => "웹".into(),
        ("api", Lang::Ko) => "API".into(),
        ("database", Lang::Ko) => "데이터베이스".into(),
        ("cache", Lang::Ko) => "캐시".into(),
        ("monitoring", Lang::Ko) => "모니터링".into(),
        ("backup", Lang::Ko) => "백업".into(),
        ("security", Lang::Ko) => "보안".into(),
        ("firewall", Lang::Ko) => "방화벽".into(),
        ("other", Lang::Ko) => "기타".into(),
        (other, _) => other.to_owned(),
    }
}

/// "1 server" / "3 servers".
pub fn servers(n: usize) -> String {
    if n == 1 { "1 server".into() } else { format!("{n} servers") }
}

/// A list joined for reading: "a, b and c" / "a, b, c".
pub fn join(items: &[String], lang: Lang) -> String {
    match (items, lang) {
        ([], _) => String::new(),
        ([one], _) => one.clone(),
        (many, Lang::Ko) => many.join(", "),
        ([init @ .., last], Lang::En) => format!("{} and {last}", init.join(", ")),
    }
}
