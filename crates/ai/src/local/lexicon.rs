//! Words the engine understands, in Korean and English: metric names, intent cues, time units, and the
//! aliases by which people name servers ("웹서버 1", "db master", "레디스").

use super::Metric;

/// The demo fleet, recognisable before any facts arrive.
pub const DEMO_SERVERS: [&str; 10] = [
    "web-01",
    "web-02",
    "api-01",
    "api-02",
    "db-master",
    "db-replica",
    "redis-cache",
    "monitoring",
    "backup",
    "security",
];

pub fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

pub const METRIC_WORDS: [(Metric, &[&str]); 5] = [
    (Metric::Cpu, &["cpu", "씨피유", "시피유", "프로세서", "processor", "cpu사용"]),
    (Metric::Memory, &["memory", "mem", "메모리", "램", "ram"]),
    (Metric::Disk, &["disk", "디스크", "저장공간", "저장 공간", "storage", "스토리지", "disk space"]),
    (Metric::Network, &["network", "네트워크", "트래픽", "traffic", "bandwidth", "대역폭", "net"]),
    (Metric::Load, &["load", "부하", "로드", "load average"]),
];

pub const HELP: &[&str] = &[
    "help",
    "도움",
    "도와줘",
    "what can you do",
    "what can i ask",
    "뭘 할 수",
    "무엇을 할 수",
    "뭐 할 수",
    "뭐가 가능",
    "사용법",
    "how to use",
    "뭘 물어",
    "무엇을 물어",
];
pub const ALERTS: &[&str] = &[
    "alert",
    "alerts",
    "alarm",
    "alarms",
    "firing",
    "incident",
    "incidents",
    "경고",
    "알림",
    "알람",
    "경보",
    "장애",
    "issues",
    "problems",
    "문제",
];
/// Cues that ask when a disk fills, on their own.
pub const DISK_FULL: &[&str] = &[
    "full",
    "fill up",
    "fills up",
    "run out",
    "runs out",
    "running out",
    "exhaust",
    "exhausted",
    "가득",
    "꽉",
    "고갈",
    "소진",
    "언제 차",
    "찰까",
    "차게 될",
];
/// Cues that ask for a disk-full estimate only when disk is named ("디스크 예측").
pub const DISK_FULL_WEAK: &[&str] =
    &["예측", "forecast", "predict", "prediction", "남은 용량", "days left", "days until", "언제", "when"];
pub const TREND: &[&str] = &[
    "trend",
    "trends",
    "추세",
    "추이",
    "변화",
    "흐름",
    "history",
    "over time",
    "rising",
    "increasing",
    "growing",
    "falling",
    "going up",
    "증가",
    "감소",
    "올라가",
    "그래프",
    "chart",
    "패턴",
    "pattern",
];
pub const COMPARE: &[&str] =
    &["compare", "comparison", "vs", "versus", "비교", "차이", "difference", "which is higher", "더 높"];
pub const TOP: &[&str] = &["top", "상위", "높은 순", "많은 순", "ranking", "순위"];
pub const BOTTOM: &[&str] = &["bottom", "하위", "낮은 순", "적은 순"];
/// Superlatives: "the highest" alone means one server.
pub const HIGHEST: &[&str] = &[
    "highest",
    "most",
    "busiest",
    "heaviest",
    "biggest",
    "worst",
    "가장 높",
    "제일 높",
    "가장 많",
    "제일 많",
    "최고",
    "가장 바쁜",
];
pub const LOWEST: &[&str] =
    &["lowest", "least", "idlest", "가장 낮", "제일 낮", "가장 적", "제일 적", "최저", "가장 한가"];
pub const ABOVE: &[&str] = &[
    "above",
    "over",
    "more than",
    "exceed",
    "exceeds",
    "exceeding",
    "greater than",
    "higher than",
    ">",
    "at least",
    "이상",
    "넘는",
    "넘은",
    "넘게",
    "넘어",
    "넘",
    "초과",
    "보다 높",
    "보다 큰",
];
/// Cues for a fleet summary on their own.
pub const FLEET: &[&str] = &[
    "summary",
    "summarize",
    "summarise",
    "overview",
    "all servers",
    "fleet",
    "overall",
    "요약",
    "현황",
    "전체",
    "전반",
    "모든 서버",
];
/// Cues that ask for a summary only alongside a word for the servers ("how are my servers", "서버 괜찮아?"),
/// so "오늘 날씨 어때?" is not read as one.
pub const FLEET_WEAK: &[&str] = &[
    "status",
    "health",
    "how are",
    "how is",
    "everything",
    "상태",
    "괜찮",
    "어때",
    "어떤가",
    "어떻",
    "전부",
    "문제없",
];
pub const FLEET_NOUNS: &[&str] = &[
    "서버",
    "server",
    "servers",
    "시스템",
    "system",
    "systems",
    "인프라",
    "infra",
    "infrastructure",
    "machines",
    "장비",
];

/// English and Korean numbers up to ten, for "top three" / "세 개".
pub const NUMBER_WORDS: &[(&str, usize)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("한 개", 1),
    ("두 개", 2),
    ("세 개", 3),
    ("네 개", 4),
    ("다섯 개", 5),
    ("한 대", 1),
    ("두 대", 2),
    ("세 대", 3),
    ("네 대", 4),
    ("다섯 대", 5),
    ("열 개", 10),
];

/// Time units after a number: "24h", "1시간", "7 days", "30분".
pub const UNITS: &[(&str, i64)] = &[
    ("hours", HOUR),
    ("hour", HOUR),
    ("hrs", HOUR),
    ("hr", HOUR),
    ("h", HOUR),
    ("시간", HOUR),
    ("minutes", MINUTE),
    ("minute", MINUTE),
    ("mins", MINUTE),
    ("min", MINUTE),
    ("m", MINUTE),
    ("분", MINUTE),
    ("days", DAY),
    ("day", DAY),
    ("d", DAY),
    ("일", DAY),
    ("weeks", WEEK),
    ("week", WEEK),
    ("w", WEEK),
    ("주일", WEEK),
    ("주", WEEK),
];

/// Ranges named without a number. "Today" is taken as the last 24 hours: the engine has no time zone.
pub const RANGE_WORDS: &[(&str, i64)] = &[
    ("오늘", DAY),
    ("today", DAY),
    ("하루", DAY),
    ("a day", DAY),
    ("past day", DAY),
    ("last day", DAY),
    ("어제", 2 * DAY),
    ("yesterday", 2 * DAY),
    ("이번 주", WEEK),
    ("이번주", WEEK),
    ("this week", WEEK),
    ("일주일", WEEK),
    ("한 주", WEEK),
    ("a week", WEEK),
    ("last week", WEEK),
    ("past week", WEEK),
    ("지난 주", WEEK),
    ("지난주", WEEK),
    ("한 시간", HOUR),
    ("an hour", HOUR),
    ("past hour", HOUR),
    ("last hour", HOUR),
    ("한달", 30 * DAY),
    ("한 달", 30 * DAY),
    ("this month", 30 * DAY),
    ("a month", 30 * DAY),
    ("last month", 30 * DAY),
];

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Other names for the parts of server ids, so "디비 마스터" and "web server 1" find `db-master` and `web-01`.
const TOKEN_ALIASES: &[(&str, &[&str])] = &[
    ("web", &["웹"]),
    ("api", &["에이피아이"]),
    ("db", &["디비", "데이터베이스", "database"]),
    ("master", &["마스터", "primary", "프라이머리"]),
    ("replica", &["레플리카", "리플리카", "복제", "slave", "슬레이브"]),
    ("redis", &["레디스"]),
    ("cache", &["캐시"]),
    ("monitoring", &["모니터링"]),
    ("backup", &["백업"]),
    ("security", &["보안", "시큐리티"]),
];

/// Tokens too generic to name a server on their own.
const GENERIC_TOKENS: &[&str] = &["server", "node", "host", "prod", "dev"];

/// Where `word` occurs in `text` as a word: an ASCII edge must not touch another ASCII letter, digit
/// or hyphen ("ram" is not in "program", "web 1" is not in "web 10"); a one-syllable Korean word must not
/// follow another syllable ("램" is not in "프로그램"). Korean particles may follow anything.
pub fn find_word(text: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    let first = word.chars().next()?;
    let last = word.chars().next_back()?;
    let single_hangul = word.chars().count() == 1 && is_hangul(first);
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find(word)) {
        let start = from + found;
        let end = start + word.len();
        let before = text.get(..start).and_then(|t| t.chars().next_back());
        let after = text.get(end..).and_then(|t| t.chars().next());
        let left_ok = match before {
            Some(b) if first.is_ascii_alphanumeric() && id_char(b) => false,
            Some(b) if single_hangul && is_hangul(b) => false,
            _ => true,
        };
        let right_ok = !(last.is_ascii_alphanumeric() && after.is_some_and(id_char));
        if left_ok && right_ok {
            return Some(start);
        }
        from = start + first.len_utf8();
    }
    None
}

/// Characters that continue an ASCII word; hyphens too, so "web" is not found inside "web-09".
fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

pub fn contains_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| find_word(text, w).is_some())
}

/// Every way of writing a server's id that should find it, longest first, with the servers each names.
/// Group words ("web", "db") name several servers; unique parts ("redis", "master") name one.
pub fn server_aliases(servers: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |alias: String, id: &str| {
        let alias = alias.trim().to_owned();
        if alias.is_empty() {
            return;
        }
        match out.iter_mut().find(|(a, _)| *a == alias) {
            Some((_, ids)) if !ids.iter().any(|i| i == id) => ids.push(id.to_owned()),
            Some(_) => {}
            None => out.push((alias, vec![id.to_owned()])),
        }
    };
    for (id, name) in servers {
        add(id.to_lowercase(), id);
        add(name.to_lowercase(), id);
        let tokens = tokens(id);
        for joined in spellings(&tokens) {
            add(joined, id);
        }
        // Each word of the id alone (with its translations): a unique one names this server, a shared
        // one ("web") the group; numbers alone name nothing.
        for token in &tokens {
            if token.chars().all(|c| c.is_ascii_digit()) || GENERIC_TOKENS.contains(&token.as_str()) {
                continue;
            }
            for alt in alternatives(token) {
                if !GENERIC_TOKENS.contains(&alt.as_str()) {
                    add(alt, id);
                }
            }
        }
    }
    // Longest first, so "web 1" is taken before the group word "web" can claim the same text.
    out.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then_with(|| a.0.cmp(&b.0)));
    out
}

fn tokens(id: &str) -> Vec<String> {
    id.to_lowercase()
        .split(|c: char| c == '-' || c == '_' || c == '.' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A token and its other names; a number also without its leading zeros ("01" -> "1").
fn alternatives(token: &str) -> Vec<String> {
    let mut alts = vec![token.to_owned()];
    if token.chars().all(|c| c.is_ascii_digit()) {
        let trimmed = token.trim_start_matches('0');
        if !trimmed.is_empty() && trimmed != token {
            alts.push(trimmed.to_owned());
        }
    }
    if let Some((_, more)) = TOKEN_ALIASES.iter().find(|(t, _)| *t == token) {
        alts.extend(more.iter().map(|m| (*m).to_owned()));
    }
    alts
}

/// All spellings of a multi-word id: every combination of alternatives, joined by "-", " " or nothing.
fn spellings(tokens: &[String]) -> Vec<String> {
    if tokens.len() < 2 || tokens.len() > 4 {
        return Vec::new();
    }
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for token in tokens {
        let alts = alternatives(token);
        combos = combos.iter().flat_map(|c| alts.iter().map(move |a| [c.clone(), vec![a.clone()]].concat())).collect();
    }
    combos.iter().flat_map(|parts| ["-", " ", ""].map(|sep| parts.join(sep))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_respect_boundaries() {
        assert!(find_word("program", "ram").is_none());
        assert!(find_word("프로그램 설치", "램").is_none());
        assert!(find_word("램 사용량", "램").is_some());
        assert!(find_word("web 10", "web 1").is_none());
        assert!(find_word("web 1의 상태", "web 1").is_some());
        assert!(find_word("레디스의 메모리", "레디스").is_some());
    }

    #[test]
    fn aliases_cover_natural_forms() {
        let servers: Vec<(&str, &str)> = DEMO_SERVERS.iter().map(|s| (*s, *s)).collect();
        let aliases = server_aliases(&servers);
        let find = |a: &str| aliases.iter().find(|(alias, _)| alias == a).map(|(_, ids)| ids.clone());
        assert_eq!(find("웹 1"), Some(vec!["web-01".to_owned()]));
        assert_eq!(find("db master"), Some(vec!["db-master".to_owned()]));
        assert_eq!(find("디비 마스터"), Some(vec!["db-master".to_owned()]));
        assert_eq!(find("레디스"), Some(vec!["redis-cache".to_owned()]));
        assert_eq!(find("web").map(|ids| ids.len()), Some(2));
    }
}
