//! From a question to an [`Intent`]: find the servers, metric, time range and numbers it mentions, then
//! pick the intent by cue words in a fixed order of precedence.

use super::lexicon::{self, contains_any, find_word};
use super::{DEFAULT_TREND_RANGE_MS, Intent, Metric};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }
}

/// Hangul anywhere means Korean: mixed questions ("web-01 CPU 어때?") are Korean questions.
pub fn detect_lang(query: &str) -> Lang {
    if query.chars().any(lexicon::is_hangul) { Lang::Ko } else { Lang::En }
}

/// Everything the question said, and the intent chosen from it.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub intent: Intent,
    pub confidence: f64,
    pub lang: Lang,
    /// Server ids named, in order of mention (a group word like "web" names each of its servers).
    pub servers: Vec<String>,
    /// Names that look like server ids ("web-09") but match no known server.
    pub unknown: Vec<String>,
}

/// Parses `query` against known servers given as `(id, name)`.
pub fn parse(query: &str, known: &[(&str, &str)]) -> Parsed {
    let lang = detect_lang(query);
    let lower = query.to_lowercase();
    let mut work = server_text(&lower);
    let servers = match_servers(&mut work, known);
    let unknown = unknown_servers(&work);
    for name in &unknown {
        blank_all(&mut work, name);
    }
    let metric = find_metric(&work);
    let range_ms = take_range(&mut work);
    let numbers = numbers(&work);

    let has = |words: &[&str]| contains_any(&lower, words);
    let first_server = || servers.first().cloned().or_else(|| unknown.first().cloned());
    let single_server = || if servers.len() + unknown.len() == 1 { first_server() } else { None };
    let mentioned = servers.len() + unknown.len();
    let trend = || Intent::Trend {
        server: single_server(),
        metric: metric.unwrap_or(Metric::Cpu),
        range_ms: range_ms.unwrap_or(DEFAULT_TREND_RANGE_MS),
    };

    let (intent, confidence) = if has(lexicon::HELP) && mentioned == 0 && metric.is_none() {
        (Intent::Help, 0.9)
    } else if has(lexicon::DISK_FULL) || (metric == Some(Metric::Disk) && has(lexicon::DISK_FULL_WEAK)) {
        (Intent::DiskFull { server: single_server() }, if metric == Some(Metric::Disk) { 0.9 } else { 0.75 })
    } else if has(lexicon::ALERTS) {
        (Intent::Alerts, 0.9)
    } else if let Some(threshold) = numbers.first().copied().filter(|_| has(lexicon::ABOVE)) {
        (Intent::AboveThreshold { metric: metric.unwrap_or(Metric::Cpu), threshold }, confident(metric, 0.9))
    } else if has(lexicon::COMPARE) {
        let confidence = if mentioned >= 2 || metric.is_some() { 0.85 } else { 0.7 };
        (Intent::Compare { servers: all_named(&servers, &unknown), metric }, confidence)
    } else if has(lexicon::TREND) {
        (trend(), confident(metric, 0.85))
    } else if let Some((n, ascending)) = top_n(&lower, &numbers) {
        (Intent::TopN { metric: metric.unwrap_or(Metric::Cpu), n, ascending }, confident(metric, 0.9))
    } else if range_ms.is_some() && (metric.is_some() || mentioned > 0) {
        (trend(), confident(metric, 0.8))
    } else if mentioned >= 2 {
        (Intent::Compare { servers: all_named(&servers, &unknown), metric }, 0.8)
    } else if let Some(server) = first_server() {
        (Intent::ServerStatus { server }, if servers.is_empty() { 0.5 } else { 0.9 })
    } else if has(lexicon::FLEET) || (has(lexicon::FLEET_WEAK) && has(lexicon::FLEET_NOUNS)) {
        (Intent::FleetSummary, 0.85)
    } else if let Some(metric) = metric {
        (Intent::TopN { metric, n: 5, ascending: false }, 0.6)
    } else {
        (Intent::Help, 0.2)
    };
    Parsed { intent, confidence, lang, servers, unknown }
}

/// A default metric stood in for a missing one: less sure.
fn confident(metric: Option<Metric>, sure: f64) -> f64 {
    if metric.is_some() { sure } else { sure - 0.2 }
}

fn all_named(servers: &[String], unknown: &[String]) -> Vec<String> {
    servers.iter().chain(unknown).cloned().collect()
}

/// The text servers are looked for in: "서버" and "server(s)" dropped so "웹서버 1" reads "웹 1".
fn server_text(lower: &str) -> String {
    let mut text = lower.replace("서버", " ");
    for word in ["servers", "server"] {
        while let Some(at) = find_word(&text, word) {
            text.replace_range(at..at + word.len(), " ");
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Finds servers by alias, longest alias first, blanking each match so its words ("db", "01") are
/// not read again as a group, a metric or a number.
fn match_servers(work: &mut String, known: &[(&str, &str)]) -> Vec<String> {
    let mut found: Vec<(usize, Vec<String>)> = Vec::new();
    for (alias, ids) in lexicon::server_aliases(known) {
        while let Some(at) = find_word(work, &alias) {
            found.push((at, ids.clone()));
            work.replace_range(at..at + alias.len(), &" ".repeat(alias.len()));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    let mut out: Vec<String> = Vec::new();
    for id in found.into_iter().flat_map(|(_, ids)| ids) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// Words shaped like server ids (`name-09`, letters then a hyphen) that matched nothing known.
fn unknown_servers(work: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in work.split_whitespace() {
        let word: String = raw.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
        let word = word.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
        let shaped = word.contains('-')
            && word.starts_with(|c: char| c.is_ascii_lowercase())
            && word.ends_with(|c: char| c.is_ascii_alphanumeric())
            && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if shaped && !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

fn blank_all(work: &mut String, word: &str) {
    while let Some(at) = work.find(word) {
        work.replace_range(at..at + word.len(), &" ".repeat(word.len()));
    }
}

/// The metric mentioned first.
fn find_metric(work: &str) -> Option<Metric> {
    lexicon::METRIC_WORDS
        .iter()
        .flat_map(|(metric, words)| words.iter().filter_map(move |w| find_word(work, w).map(|at| (at, *metric))))
        .min_by_key(|(at, _)| *at)
        .map(|(_, metric)| metric)
}

/// A time range: a number with a unit ("24h", "지난 1시간", "7 days") or a word ("오늘", "this week").
/// The number is blanked so it is not read again as a threshold or a count.
fn take_range(work: &mut String) -> Option<i64> {
    for (start, end, value) in number_spans(work) {
        let rest = work.get(end..).unwrap_or_default();
        let skipped = rest.len() - rest.trim_start().len();
        let rest = rest.trim_start();
        for (unit, ms) in lexicon::UNITS {
            let Some(after) = rest.strip_prefix(unit) else { continue };
            let ascii_unit = unit.chars().all(|c| c.is_ascii_alphabetic());
            if ascii_unit && after.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            let unit_end = end + skipped + unit.len();
            work.replace_range(start..unit_end, &" ".repeat(unit_end - start));
            return Some((value * *ms as f64) as i64);
        }
    }
    lexicon::RANGE_WORDS.iter().find(|(word, _)| find_word(work, word).is_some()).map(|(_, ms)| *ms)
}

/// Numbers left in the text (after servers and ranges took theirs).
fn numbers(work: &str) -> Vec<f64> {
    number_spans(work).into_iter().map(|(_, _, v)| v).collect()
}

/// `(start, end, value)` of each decimal number in the text.
fn number_spans(text: &str) -> Vec<(usize, usize, f64)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || (bytes[i] == b'.' && next_is_digit(bytes, i))) {
                i += 1;
            }
            let glued_to_word = start > 0 && bytes[start - 1].is_ascii_alphabetic();
            if let (false, Some(Ok(value))) = (glued_to_word, text.get(start..i).map(str::parse::<f64>)) {
                out.push((start, i, value));
            }
        } else {
            i += 1;
        }
    }
    out
}

fn next_is_digit(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
}

/// A top/bottom question: how many and which end. A count may be a digit or a word ("top three",
/// "세 개"); without one, "top" lists five and a superlative ("the highest") names one.
fn top_n(lower: &str, numbers: &[f64]) -> Option<(usize, bool)> {
    let ascending = contains_any(lower, lexicon::BOTTOM) || contains_any(lower, lexicon::LOWEST);
    let listed = contains_any(lower, lexicon::TOP) || contains_any(lower, lexicon::BOTTOM);
    let superlative = contains_any(lower, lexicon::HIGHEST) || contains_any(lower, lexicon::LOWEST);
    if !listed && !superlative {
        return None;
    }
    let counted = numbers
        .iter()
        .find(|n| n.fract() == 0.0 && **n >= 1.0)
        .map(|n| *n as usize)
        .or_else(|| lexicon::NUMBER_WORDS.iter().find(|(w, _)| find_word(lower, w).is_some()).map(|(_, n)| *n));
    let n = counted.unwrap_or(if listed { 5 } else { 1 }).clamp(1, 50);
    Some((n, ascending))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Vec<(&'static str, &'static str)> {
        lexicon::DEMO_SERVERS.iter().map(|s| (*s, *s)).collect()
    }

    #[test]
    fn ranges_and_numbers_are_kept_apart() {
        let mut work = "최근 24시간 80% 이상".to_owned();
        assert_eq!(take_range(&mut work), Some(24 * 3_600_000));
        assert_eq!(numbers(&work), vec![80.0]);
        let mut work = "last 24h".to_owned();
        assert_eq!(take_range(&mut work), Some(24 * 3_600_000));
        let mut work = "past 7 days".to_owned();
        assert_eq!(take_range(&mut work), Some(7 * 24 * 3_600_000));
        let mut work = "5 mb".to_owned();
        assert_eq!(take_range(&mut work), None);
    }

    #[test]
    fn server_numbers_are_not_counts() {
        let p = parse("web-01 and web-02 cpu top 3", &demo());
        assert_eq!(p.servers, ["web-01", "web-02"]);
        assert_eq!(p.intent, Intent::TopN { metric: Metric::Cpu, n: 3, ascending: false });
    }

    #[test]
    fn unknown_server_shapes() {
        let p = parse("status of web-09?", &demo());
        assert_eq!(p.unknown, ["web-09"]);
        assert_eq!(p.intent, Intent::ServerStatus { server: "web-09".into() });
    }
}
