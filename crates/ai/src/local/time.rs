//! Time windows in questions ("now", "last 15 minutes", "today", "yesterday", "this week", "지난 3시간")
//! and how they become `(from, to)` in the hub's zone; also how times are written in answers.

use super::clock::{Day, TimeOfDay, take_time_of_day};
use super::text::{Lang, Text, find_word};
use super::words::{DAY, HOUR, MINUTE, NUMBER_WORDS, UNITS, WEEK};

/// A window as the question said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The latest values.
    Now,
    /// The last so many milliseconds.
    Last(i64),
    Today,
    Yesterday,
    /// Since Monday, local time.
    ThisWeek,
    ThisMonth,
    /// 22:00 yesterday to 08:00 today, local time.
    Overnight,
    /// "recently", "lately": the last day, said loosely.
    Recent,
    /// A time of day or a span of one: "at 3pm", "since 9am", "어제 오후 2시부터 4시까지".
    At(TimeOfDay),
}

impl Window {
    /// `(from, to)` in unix ms for a question asked at `now_ms` in a zone `offset_secs` east of UTC.
    pub fn resolve(self, now_ms: i64, offset_secs: i32) -> (i64, i64) {
        let midnight = local_midnight(now_ms, offset_secs);
        match self {
            Window::Now => (now_ms, now_ms),
            Window::Last(ms) => (now_ms - ms, now_ms),
            Window::Recent => (now_ms - DAY, now_ms),
            Window::Today => (midnight, now_ms),
            Window::Yesterday => (midnight - DAY, midnight),
            Window::ThisWeek => {
                let local_day = (now_ms + i64::from(offset_secs) * 1000).div_euclid(DAY);
                // 1970-01-01 was a Thursday: Monday is day 4 of that week.
                let since_monday = (local_day + 3).rem_euclid(7);
                (midnight - since_monday * DAY, now_ms)
            }
            Window::ThisMonth => (month_start(now_ms, offset_secs).unwrap_or(now_ms - 30 * DAY), now_ms),
            Window::Overnight => (midnight - 2 * HOUR, (midnight + 8 * HOUR).min(now_ms)),
            Window::At(t) => t.resolve(now_ms, midnight),
        }
    }

    /// How the answer names it: "the last 1 hour", "today", "이번 주".
    pub fn label(self, lang: Lang) -> String {
        match (self, lang) {
            (Window::Now, Lang::Ko) => "현재".into(),
            (Window::Now, Lang::En) => "now".into(),
            (Window::Last(ms), Lang::Ko) => format!("최근 {}", span(ms, lang)),
            (Window::Last(ms), Lang::En) => format!("the last {}", span(ms, lang)),
            (Window::Recent, Lang::Ko) => "최근 24시간".into(),
            (Window::Recent, Lang::En) => "the last 24 hours".into(),
            (Window::Today, Lang::Ko) => "오늘".into(),
            (Window::Today, Lang::En) => "today".into(),
            (Window::Yesterday, Lang::Ko) => "어제".into(),
            (Window::Yesterday, Lang::En) => "yesterday".into(),
            (Window::ThisWeek, Lang::Ko) => "이번 주".into(),
            (Window::ThisWeek, Lang::En) => "this week".into(),
            (Window::ThisMonth, Lang::Ko) => "이번 달".into(),
            (Window::ThisMonth, Lang::En) => "this month".into(),
            (Window::Overnight, Lang::Ko) => "밤사이".into(),
            (Window::Overnight, Lang::En) => "overnight".into(),
            // The answer shows the exact span beside it.
            (Window::At(_), Lang::Ko) => "해당 시간".into(),
            (Window::At(_), Lang::En) => "the time asked".into(),
        }
    }

    /// The window after a noun ("3 events today", "5 events in the last 1 hour").
    pub fn phrase(self, lang: Lang) -> String {
        match (self, lang) {
            (_, Lang::Ko) => self.label(lang),
            (Window::Last(_) | Window::Recent, Lang::En) => format!("in {}", self.label(lang)),
            (Window::At(_), Lang::En) => "at the time asked".into(),
            (_, Lang::En) => self.label(lang),
        }
    }
}

/// Local midnight of the day holding `now_ms`.
pub fn local_midnight(now_ms: i64, offset_secs: i32) -> i64 {
    let offset = i64::from(offset_secs) * 1000;
    (now_ms + offset).div_euclid(DAY) * DAY - offset
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil-from-days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Local (year, month, day, hour, minute) of `ms`.
fn local(ms: i64, offset_secs: i32) -> (i64, u32, u32, i64, i64) {
    let local = ms + i64::from(offset_secs) * 1000;
    let (y, m, d) = civil(local.div_euclid(DAY));
    let minute_of_day = local.rem_euclid(DAY) / MINUTE;
    (y, m, d, minute_of_day / 60, minute_of_day % 60)
}

/// Local midnight of the first day of `now_ms`'s month.
fn month_start(now_ms: i64, offset_secs: i32) -> Option<i64> {
    let (_, _, d, _, _) = local(now_ms, offset_secs);
    Some(local_midnight(now_ms, offset_secs) - (i64::from(d) - 1) * DAY)
}

/// `17:40`, or `01-14 16:33` when not today (`now_ms`'s local day).
pub fn clock(ms: i64, now_ms: i64, offset_secs: i32) -> String {
    let (_, mo, d, h, mi) = local(ms, offset_secs);
    let today = local_midnight(now_ms, offset_secs);
    if ms >= today && ms < today + DAY { format!("{h:02}:{mi:02}") } else { format!("{mo:02}-{d:02} {h:02}:{mi:02}") }
}

/// The day `ms` falls on, local: `2026-01-24`.
pub fn day(ms: i64, offset_secs: i32) -> String {
    let (y, m, d, _, _) = local(ms, offset_secs);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A window's span as `16:40–17:40`; a whole day as `01-14 00:00–24:00`, not `00:00–00:00`.
pub fn range(from: i64, to: i64, now_ms: i64, offset_secs: i32) -> String {
    let end = if to > from && local_midnight(to, offset_secs) == to && to - from <= DAY {
        "24:00".to_owned()
    } else {
        clock(to, now_ms, offset_secs)
    };
    format!("{}–{end}", clock(from, now_ms, offset_secs))
}

/// The zone as `UTC+9`.
pub fn zone_name(offset_secs: i32) -> String {
    let h = offset_secs / 3600;
    let m = (offset_secs.abs() % 3600) / 60;
    match (h, m) {
        (0, 0) => "UTC".into(),
        (h, 0) => format!("UTC{h:+}"),
        (h, m) => format!("UTC{h:+}:{m:02}"),
    }
}

/// A length of time as people say it: "1 hour", "30 minutes", "7 days", "6시간".
pub fn span(ms: i64, lang: Lang) -> String {
    let hours = ms as f64 / HOUR as f64;
    let whole = |x: f64| if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { format!("{x:.1}") };
    match lang {
        Lang::Ko if hours >= 48.0 => format!("{}일", whole(hours / 24.0)),
        Lang::Ko if hours >= 1.0 => format!("{}시간", whole(hours)),
        Lang::Ko => format!("{}분", whole(hours * 60.0)),
        Lang::En if hours >= 48.0 => format!("{} days", whole(hours / 24.0)),
        Lang::En if (hours - 1.0).abs() < 1e-9 => "1 hour".into(),
        Lang::En if hours >= 1.0 => format!("{} hours", whole(hours)),
        Lang::En => format!("{} minutes", whole(hours * 60.0)),
    }
}

/// A duration as days/hours/minutes, at most two units: `2h 10m`, `3일 4시간`.
pub fn duration(ms: i64, lang: Lang) -> String {
    let minutes = ms.max(0) / MINUTE;
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

/// Named windows, checked after numbered ones.
const NAMED: &[(&str, Window)] = &[
    ("since yesterday", Window::Recent),
    ("어제부터", Window::Recent),
    ("last night", Window::Overnight),
    ("overnight", Window::Overnight),
    ("밤사이", Window::Overnight),
    ("밤새", Window::Overnight),
    ("어젯밤", Window::Overnight),
    ("간밤", Window::Overnight),
    ("yesterday", Window::Yesterday),
    ("어제", Window::Yesterday),
    ("today", Window::Today),
    ("오늘", Window::Today),
    ("금일", Window::Today),
    ("this week", Window::ThisWeek),
    ("이번 주", Window::ThisWeek),
    ("이번주", Window::ThisWeek),
    ("금주", Window::ThisWeek),
    ("this month", Window::ThisMonth),
    ("이번 달", Window::ThisMonth),
    ("이번달", Window::ThisMonth),
    ("이달", Window::ThisMonth),
    ("half an hour", Window::Last(30 * MINUTE)),
    ("half hour", Window::Last(30 * MINUTE)),
    ("반시간", Window::Last(30 * MINUTE)),
    ("last hour", Window::Last(HOUR)),
    ("past hour", Window::Last(HOUR)),
    ("an hour", Window::Last(HOUR)),
    ("the hour", Window::Last(HOUR)),
    ("한 시간", Window::Last(HOUR)),
    ("한시간", Window::Last(HOUR)),
    ("last day", Window::Last(DAY)),
    ("past day", Window::Last(DAY)),
    ("a day", Window::Last(DAY)),
    ("하루", Window::Last(DAY)),
    ("이틀", Window::Last(2 * DAY)),
    ("last week", Window::Last(WEEK)),
    ("past week", Window::Last(WEEK)),
    ("a week", Window::Last(WEEK)),
    ("지난주", Window::Last(WEEK)),
    ("지난 주", Window::Last(WEEK)),
    ("일주일", Window::Last(WEEK)),
    ("한 주", Window::Last(WEEK)),
    ("last month", Window::Last(30 * DAY)),
    ("past month", Window::Last(30 * DAY)),
    ("a month", Window::Last(30 * DAY)),
    ("한 달", Window::Last(30 * DAY)),
    ("한달", Window::Last(30 * DAY)),
    ("지난달", Window::Last(30 * DAY)),
    ("지난 달", Window::Last(30 * DAY)),
    ("right now", Window::Now),
    ("currently", Window::Now),
    ("at the moment", Window::Now),
    ("now", Window::Now),
    ("지금", Window::Now),
    ("현재", Window::Now),
    ("lately", Window::Recent),
    ("recently", Window::Recent),
    ("recent", Window::Recent),
    ("요즘", Window::Recent),
    ("최근에", Window::Recent),
    ("최근", Window::Recent),
];

/// The words of named windows, for the vocabularies.
pub fn window_words() -> impl Iterator<Item = &'static str> {
    NAMED.iter().map(|(w, _)| *w)
}

/// Finds the question's window and blanks it. A number with a unit comes first ("지난 3시간",
/// "last 15 minutes", "24h"), then named ones; `None` when the question names none.
pub fn take_window(text: &mut Text) -> Option<Window> {
    if let Some((start, end, ms)) = numbered(&text.work) {
        text.blank(start, end);
        return Some(Window::Last(ms));
    }
    // A time of day, with the day named beside it if any ("yesterday at 3pm", "어제 오후 3시").
    let days = [("yesterday", Day::Yesterday), ("어제", Day::Yesterday), ("today", Day::Today), ("오늘", Day::Today)];
    let named_day = days.iter().find_map(|(word, day)| find_word(&text.work, word).map(|at| (at, *word, *day)));
    if let Some((spans, time)) = take_time_of_day(&text.work, named_day.map_or(Day::Latest, |(_, _, d)| d)) {
        for (start, end) in spans {
            text.blank(start, end);
        }
        if let Some((at, word, _)) = named_day {
            text.blank(at, at + word.len());
        }
        return Some(Window::At(time));
    }
    for (word, window) in NAMED {
        if let Some(at) = find_word(&text.work, word) {
            // "최근 이벤트" is recent; "한 시간" must not be read inside "한 시간대" etc. (word-bounded).
            text.blank(at, at + word.len());
            return Some(*window);
        }
    }
    None
}

/// A number (digits or a word) followed by a time unit: `(start, end, ms)`.
fn numbered(work: &str) -> Option<(usize, usize, i64)> {
    let bytes = work.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && (bytes[i - 1].is_ascii_alphabetic() || bytes[i - 1] == b'-')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || (bytes[i] == b'.' && next_digit(bytes, i))) {
            i += 1;
        }
        let value: f64 = work[start..i].parse().unwrap_or(0.0);
        if let Some((end, ms)) = unit_after(work, i) {
            return Some((start, end, (value * ms as f64) as i64));
        }
    }
    for (word, n) in NUMBER_WORDS {
        let mut from = 0;
        while let Some(at) = work.get(from..).and_then(|w| w.find(word)).map(|a| a + from) {
            from = at + word.len();
            let before_ok = work[..at].chars().next_back().is_none_or(|c| c == ' ');
            if !before_ok {
                continue;
            }
            if let Some((end, ms)) = unit_after(work, at + word.len()) {
                return Some((at, end, i64::from(*n) * ms));
            }
        }
    }
    None
}

fn next_digit(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
}

/// A time unit right after `at` (spaces allowed): `(end, ms per unit)`.
fn unit_after(work: &str, at: usize) -> Option<(usize, i64)> {
    let rest = work.get(at..)?;
    let skipped = rest.len() - rest.trim_start().len();
    let rest = rest.trim_start();
    for (unit, ms) in UNITS {
        let Some(after) = rest.strip_prefix(unit) else { continue };
        let ascii = unit.is_ascii();
        if ascii && after.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            continue;
        }
        // "1일" is a day, but "1일차", "3분기", "2주요" are not windows: Korean units take particles
        // ("3시간은", "6시간으로") but not these word continuations.
        if !ascii && after.starts_with(['차', '기', '요', '소', '문', '표', '러', '라', '석', '야', '자', '반'])
        {
            continue;
        }
        return Some((at + skipped + unit.len(), *ms));
    }
    None
}

/// The latest points of a window (for tests of the zone arithmetic).
#[cfg(test)]
fn parse(q: &str) -> Option<Window> {
    let mut t = Text::new(q, &Default::default());
    take_window(&mut t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_768_466_400_000; // 2026-01-15T08:40Z, a Thursday; 17:40 in Seoul

    #[test]
    fn windows_people_name() {
        assert_eq!(parse("what happened in the last hour"), Some(Window::Last(HOUR)));
        assert_eq!(parse("last 15 minutes"), Some(Window::Last(15 * MINUTE)));
        assert_eq!(parse("지난 3시간 동안"), Some(Window::Last(3 * HOUR)));
        assert_eq!(parse("최근 24시간 메모리"), Some(Window::Last(DAY)));
        assert_eq!(parse("past 7 days"), Some(Window::Last(7 * DAY)));
        assert_eq!(parse("api-01 부하 2시간 그래프"), Some(Window::Last(2 * HOUR)));
        assert_eq!(parse("지난 한 시간"), Some(Window::Last(HOUR)));
        assert_eq!(parse("yesterday"), Some(Window::Yesterday));
        assert_eq!(parse("이번 주 추이"), Some(Window::ThisWeek));
        assert_eq!(parse("오늘 이벤트"), Some(Window::Today));
        assert_eq!(parse("top 5 servers"), None);
        assert_eq!(parse("5 mb"), None);
    }

    #[test]
    fn windows_resolve_in_the_hubs_zone() {
        let kst = 9 * 3600;
        let midnight = NOW - 17 * HOUR - 40 * MINUTE;
        assert_eq!(Window::Today.resolve(NOW, kst), (midnight, NOW));
        assert_eq!(Window::Yesterday.resolve(NOW, kst), (midnight - DAY, midnight));
        assert_eq!(Window::ThisWeek.resolve(NOW, kst), (midnight - 3 * DAY, NOW));
        assert_eq!(Window::Last(HOUR).resolve(NOW, kst), (NOW - HOUR, NOW));
        let (month, _) = Window::ThisMonth.resolve(NOW, kst);
        assert_eq!(month, midnight - 14 * DAY);
        assert_eq!(clock(NOW, NOW, kst), "17:40");
        assert_eq!(clock(NOW - DAY, NOW, kst), "01-14 17:40");
        assert_eq!(zone_name(kst), "UTC+9");
        let (from, to) = Window::Yesterday.resolve(NOW, kst);
        assert_eq!(range(from, to, NOW, kst), "01-14 00:00–24:00");
    }

    #[test]
    fn a_time_of_day_with_its_day() {
        let kst = 9 * 3600;
        let midnight = NOW - 17 * HOUR - 40 * MINUTE;
        let at = |q: &str| parse(q).map(|w| w.resolve(NOW, kst));
        assert_eq!(at("what happened yesterday at 3pm"), Some((midnight - 9 * HOUR, midnight - 8 * HOUR)));
        assert_eq!(at("어제 오후 3시에 무슨 일 있었어?"), Some((midnight - 9 * HOUR, midnight - 8 * HOUR)));
        assert_eq!(at("events at 3pm"), Some((midnight + 15 * HOUR, midnight + 16 * HOUR)));
        assert_eq!(at("since 9am"), Some((midnight + 9 * HOUR, NOW)));
        assert_eq!(at("오늘 2시부터 4시까지"), Some((midnight + 14 * HOUR, midnight + 16 * HOUR)));
        assert_eq!(parse("last 3 hours"), Some(Window::Last(3 * HOUR)));
        assert_eq!(parse("since yesterday"), Some(Window::Recent));
    }
}
