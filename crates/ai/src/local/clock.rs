//! Times of day in questions, as people say them: "at 3pm", "around 15:00", "between 2 and 4pm",
//! "from 9am to noon", "since 9am", "after 22:00", "어제 오후 3시", "2시부터 4시까지", "9시 이후".
//!
//! A time said alone is the hour from it ("what happened at 3pm" reads 15:00-16:00). A time without
//! a.m. or p.m. ("at 3", "3시") is the latest past reading of the two, as a person asking in the
//! afternoon about "3 o'clock" means 15:00 and one asking at 9:00 means 03:00. A time later than now
//! today, with no day named, is yesterday's.

use super::words::{DAY, MINUTE};

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// Which day a time of day is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// No day named: today's, unless that is still to come.
    Latest,
    Today,
    Yesterday,
}

/// A span of the day as the question said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    pub day: Day,
    /// Minutes after local midnight.
    pub from: u16,
    /// Where it ends, minutes after local midnight (the next day's when not after `from`); `None`:
    /// until now ("since 9am").
    pub to: Option<u16>,
    /// Said without a.m. or p.m. on a 12-hour clock ("at 3"): `from` and `to` may also be 12 hours later.
    pub either_half: bool,
}

impl TimeOfDay {
    /// `(from, to)` in unix ms, `midnight` being local midnight of `now_ms`'s day.
    pub fn resolve(self, now_ms: i64, midnight: i64) -> (i64, i64) {
        let days: &[i64] = match self.day {
            Day::Latest => &[0, 1],
            Day::Today => &[0],
            Day::Yesterday => &[1],
        };
        let halves: &[u16] = if self.either_half { &[0, 12 * 60] } else { &[0] };
        let start = |back: i64, half: u16| midnight - back * DAY + i64::from((self.from + half) % DAY_MINUTES) * MINUTE;
        // The latest reading that has begun; if none has (today's 3pm asked at 9am), the earliest.
        let readings = days.iter().flat_map(|&back| halves.iter().map(move |&half| (back, half)));
        let begun =
            readings.clone().filter(|&(back, half)| start(back, half) <= now_ms).max_by_key(|&(b, h)| start(b, h));
        let (back, half) = begun.or_else(|| readings.min_by_key(|&(b, h)| start(b, h))).unwrap_or((0, 0));
        let from = start(back, half);
        let to = match self.to {
            None => now_ms,
            Some(to) => {
                let length = (i64::from(to) - i64::from(self.from)).rem_euclid(i64::from(DAY_MINUTES));
                from + if length == 0 { DAY } else { length * MINUTE }
            }
        };
        (from, to.min(now_ms).max(from))
    }
}

/// A token of the question with its byte span.
struct Tok<'a> {
    start: usize,
    end: usize,
    text: &'a str,
}

fn tokens(work: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    for word in work.split(' ') {
        // "2-4pm" is three: `2`, `-`, `4pm`.
        match word.split_once('-') {
            Some((a, b))
                if !a.is_empty()
                    && a.len() <= 2
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                out.push(Tok { start: at, end: at + a.len(), text: a });
                out.push(Tok { start: at + a.len(), end: at + a.len() + 1, text: "-" });
                out.push(Tok { start: at + a.len() + 1, end: at + word.len(), text: b });
            }
            _ if !word.is_empty() => out.push(Tok { start: at, end: at + word.len(), text: word }),
            _ => {}
        }
        at += word.len() + 1;
    }
    out
}

/// One time read at a token: minutes after midnight, whether a.m./p.m. was left open, the Korean
/// particle after it ("부터", "까지", "이후"...), and the index of the token after it.
struct Reading {
    minute: u16,
    open_half: bool,
    particle: String,
    next: usize,
}

/// Korean words for the part of the day, before an hour: whether it is the afternoon half.
const KO_HALVES: &[(&str, bool)] =
    &[("오전", false), ("새벽", false), ("아침", false), ("오후", true), ("저녁", true), ("밤", true)];

/// Korean particles after an hour that keep it a time ("3시에", "3시쯤", "3시부터").
const KO_PARTICLES: &[&str] =
    &["", "에", "쯤", "경", "께", "부터", "까지", "이후", "이후에", "이전", "전", "에서", "사이", "사이에"];

fn hour_minute(hour: u16, minute: u16) -> Option<u16> {
    (hour <= 24 && minute < 60).then(|| (hour % 24) * 60 + minute)
}

/// English: `3pm`, `3 pm`, `3 p m`, `15 00` (from `15:00`), `3 30pm`, `noon`, `midnight`, `3 oclock`;
/// a bare `3` only when `cued` (after "at", "since", "between"...).
fn read_en(toks: &[Tok<'_>], i: usize, cued: bool) -> Option<Reading> {
    let t = toks.get(i)?.text;
    match t {
        "noon" | "midday" => {
            return Some(Reading { minute: 12 * 60, open_half: false, particle: String::new(), next: i + 1 });
        }
        "midnight" => return Some(Reading { minute: 0, open_half: false, particle: String::new(), next: i + 1 }),
        _ => {}
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 2 {
        return None;
    }
    let hour: u16 = t[..digits].parse().ok()?;
    let mut suffix = &t[digits..];
    let mut next = i + 1;
    let mut minute = 0;
    let mut said_minutes = false;
    // `15:00` became `15 00`; `3:30pm` became `3 30pm`.
    if suffix.is_empty()
        && let Some(m) = toks.get(next).map(|t| t.text)
        && m.len() >= 2
        && m.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        && (m.len() == 2 || matches!(&m[2..], "am" | "pm" | "a" | "p"))
    {
        minute = m[..2].parse().ok()?;
        suffix = &m[2..];
        said_minutes = true;
        next += 1;
    }
    if suffix.is_empty() {
        match toks.get(next).map(|t| t.text) {
            Some(w @ ("am" | "pm" | "a" | "p")) => {
                suffix = w;
                next += 1;
            }
            Some("oclock") => next += 1,
            _ => {}
        }
    }
    // "p m" from "p.m.".
    if matches!(suffix, "a" | "p") && toks.get(next).map(|t| t.text) == Some("m") {
        next += 1;
    }
    let half = match suffix {
        "am" | "a" => Some(false),
        "pm" | "p" => Some(true),
        "" => None,
        _ => return None,
    };
    // A bare number after a cue is a time only where a time ends: "at 3", "at 3 yesterday", "between
    // 2 and 4", but not "from 2 servers".
    if half.is_none() && !said_minutes && (!cued || !toks.get(next).is_none_or(|t| FOLLOWERS.contains(&t.text))) {
        return None;
    }
    let minute = match half {
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(pm) => hour_minute(hour % 12 + if pm { 12 } else { 0 }, minute)?,
        None => hour_minute(hour, minute)?,
    };
    let open_half = half.is_none() && (1..=12).contains(&hour);
    Some(Reading { minute, open_half, particle: String::new(), next })
}

/// Korean: `[오전|오후|새벽|저녁|밤] N시 [M분|반]` with a particle; not `N시간` (a length).
fn read_ko(toks: &[Tok<'_>], i: usize) -> Option<Reading> {
    let mut j = i;
    let mut text = toks.get(j)?.text;
    let mut half = None;
    for (word, pm) in KO_HALVES {
        if text == *word {
            half = Some(*pm);
            j += 1;
            text = toks.get(j)?.text;
            break;
        }
        if let Some(rest) = text.strip_prefix(word)
            && rest.starts_with(|c: char| c.is_ascii_digit())
        {
            half = Some(*pm);
            text = rest;
            break;
        }
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 2 {
        return None;
    }
    let hour: u16 = text[..digits].parse().ok()?;
    let rest = text[digits..].strip_prefix('시')?;
    let mut next = j + 1;
    let mut minute = 0;
    let particle = if let Some(p) = rest.strip_prefix('반') {
        minute = 30;
        p
    } else {
        rest
    };
    let mut particle = particle.to_owned();
    if !KO_PARTICLES.contains(&particle.as_str()) {
        return None;
    }
    if particle.is_empty()
        && let Some(m) = toks.get(next).map(|t| t.text)
    {
        let digits = m.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && digits <= 2
            && let Some(p) = m[digits..].strip_prefix('분')
            && KO_PARTICLES.contains(&p)
        {
            minute = m[..digits].parse().ok()?;
            particle = p.to_owned();
            next += 1;
        } else if let Some(p) = m.strip_prefix('반')
            && KO_PARTICLES.contains(&p)
        {
            minute = 30;
            particle = p.to_owned();
            next += 1;
        }
    }
    if particle.is_empty()
        && let Some(p) = toks.get(next).map(|t| t.text)
        && matches!(p, "이후" | "이후에" | "부터" | "까지" | "전" | "이전" | "사이" | "사이에" | "쯤" | "경")
    {
        particle = p.to_owned();
        next += 1;
    }
    let minute = match half {
        Some(_) if hour > 12 => hour_minute(hour, minute)?,
        Some(pm) => hour_minute(hour % 12 + if pm { 12 } else { 0 }, minute)?,
        None => hour_minute(hour, minute)?,
    };
    let open_half = half.is_none() && (1..=12).contains(&hour);
    Some(Reading { minute, open_half, particle, next })
}

/// Words that may follow a bare hour ("at 3 yesterday", "2 and 4").
const FOLLOWERS: &[&str] = &[
    "and",
    "to",
    "until",
    "till",
    "through",
    "-",
    "yesterday",
    "today",
    "tonight",
    "this",
    "last",
    "on",
    "in",
    "for",
    "oclock",
];

/// Words before a time that make a bare number one ("at 3", "since 9").
const CUES: &[&str] = &["at", "around", "about", "since", "after", "from", "between", "by"];

/// Finds a time of day in `work` (the question's normalised words); returns the byte spans it used
/// (to blank) and the span of the day. `day` is a day the question named elsewhere, if any.
pub fn take_time_of_day(work: &str, day: Day) -> Option<(Vec<(usize, usize)>, TimeOfDay)> {
    let toks = tokens(work);
    let read = |i: usize| {
        // A bare number is a time after a cue ("at 3") or before a dash to another ("2-4pm").
        let cued = (i > 0 && CUES.contains(&toks[i - 1].text)) || toks.get(i + 1).is_some_and(|t| t.text == "-");
        read_ko(&toks, i).or_else(|| read_en(&toks, i, cued))
    };
    let (first_at, first) = (0..toks.len()).find_map(|i| read(i).map(|r| (i, r)))?;
    let before = first_at.checked_sub(1).map(|k| toks[k].text);
    let mut used_from = if before.is_some_and(|w| CUES.contains(&w) || w == "before" || w == "until") {
        first_at - 1
    } else {
        first_at
    };
    let mut used_to = first.next;
    // A second time after "and", "to", "until", "-"...: a range; in Korean also right after the
    // first ("2시부터 4시까지", "2시~4시").
    let second = match toks.get(first.next).map(|t| t.text) {
        Some("and" | "to" | "until" | "till" | "through" | "-") => {
            read_ko(&toks, first.next + 1).or_else(|| read_en(&toks, first.next + 1, true))
        }
        _ if matches!(first.particle.as_str(), "부터" | "에서" | "") => read_ko(&toks, first.next),
        _ => None,
    };
    let mut span = TimeOfDay {
        day,
        from: first.minute,
        to: Some((first.minute + 60) % DAY_MINUTES),
        either_half: first.open_half,
    };
    if let Some(end) = second.filter(|r| r.particle != "부터") {
        // The half said once covers both: "2 to 4pm", "오후 2시부터 4시까지".
        let (mut from, mut to) = (first.minute, end.minute);
        if first.open_half && !end.open_half && to >= 12 * 60 && from + 12 * 60 <= to {
            from += 12 * 60;
        } else if end.open_half && !first.open_half && from >= 12 * 60 && to < 12 * 60 && to + 12 * 60 > from {
            to += 12 * 60;
        }
        span.from = from;
        span.to = Some(to % DAY_MINUTES);
        span.either_half = first.open_half && end.open_half;
        used_to = end.next;
    } else if matches!(before, Some("since" | "after" | "from"))
        || matches!(first.particle.as_str(), "부터" | "이후" | "이후에")
    {
        span.to = None;
    } else if matches!(before, Some("before" | "until")) || matches!(first.particle.as_str(), "까지" | "전" | "이전")
    {
        // Up to that time, from the start of its day.
        span.to = Some(first.minute);
        span.from = 0;
        span.either_half = false;
    } else if before.is_some_and(|w| !matches!(w, "at" | "around" | "about" | "by")) {
        used_from = first_at;
    }
    let start = toks[used_from].start;
    let end = toks[used_to.min(toks.len()) - 1].end;
    Some((vec![(start, end)], span))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(q: &str) -> Option<TimeOfDay> {
        take_time_of_day(q, Day::Latest).map(|(_, t)| t)
    }

    fn at(from: u16, to: Option<u16>, either_half: bool) -> Option<TimeOfDay> {
        Some(TimeOfDay { day: Day::Latest, from, to, either_half })
    }

    #[test]
    fn times_people_say() {
        assert_eq!(read("what happened at 3pm"), at(900, Some(960), false));
        assert_eq!(read("what happened at 3 p m"), at(900, Some(960), false));
        assert_eq!(read("cpu around 15 00"), at(900, Some(960), false));
        assert_eq!(read("events at 3"), at(180, Some(240), true));
        assert_eq!(read("between 2 and 4pm"), at(840, Some(960), false));
        assert_eq!(read("from 9am to noon"), at(540, Some(720), false));
        assert_eq!(read("what happened 2-4pm"), at(840, Some(960), false));
        assert_eq!(read("since 9am"), at(540, None, false));
        assert_eq!(read("between 11pm and 2am"), at(1380, Some(120), false));
        assert_eq!(read("오후 3시에 무슨 일"), at(900, Some(960), false));
        assert_eq!(read("새벽 3시 30분"), at(210, Some(270), false));
        assert_eq!(read("2시부터 4시까지"), at(120, Some(240), true));
        assert_eq!(read("오후 2시부터 4시까지"), at(840, Some(960), false));
        assert_eq!(read("9시 이후 이벤트"), at(540, None, true));
        assert_eq!(read("14시부터"), at(840, None, false));
        // Not times: lengths, counts, percentages.
        assert_eq!(read("last 3 hours"), None);
        assert_eq!(read("지난 3시간"), None);
        assert_eq!(read("top 3 servers"), None);
        assert_eq!(read("cpu above 90%"), None);
        assert_eq!(read("alerts from 2 servers"), None);
        assert_eq!(read("about 5 servers are down"), None);
        assert_eq!(read("what happened at 3 yesterday"), at(180, Some(240), true));
        assert_eq!(read("disk 15 00"), at(900, Some(960), false));
    }

    #[test]
    fn a_time_resolves_to_its_latest_past_reading() {
        const H: i64 = 3_600_000;
        let midnight = 1_767_225_600_000; // a local midnight
        let afternoon = midnight + 17 * H;
        let morning = midnight + 9 * H;
        let three_pm = TimeOfDay { day: Day::Latest, from: 900, to: Some(960), either_half: false };
        assert_eq!(three_pm.resolve(afternoon, midnight), (midnight + 15 * H, midnight + 16 * H));
        assert_eq!(three_pm.resolve(morning, midnight), (midnight - 9 * H, midnight - 8 * H), "yesterday's");
        let three = TimeOfDay { either_half: true, from: 180, to: Some(240), ..three_pm };
        assert_eq!(three.resolve(afternoon, midnight).0, midnight + 15 * H);
        assert_eq!(three.resolve(morning, midnight).0, midnight + 3 * H);
        let since = TimeOfDay { from: 540, to: None, ..three_pm };
        assert_eq!(since.resolve(afternoon, midnight), (midnight + 9 * H, afternoon));
        let yesterday = TimeOfDay { day: Day::Yesterday, ..three_pm };
        assert_eq!(yesterday.resolve(afternoon, midnight), (midnight - 9 * H, midnight - 8 * H));
        let overnight = TimeOfDay { from: 23 * 60, to: Some(120), ..three_pm };
        assert_eq!(overnight.resolve(morning, midnight), (midnight - H, midnight + 2 * H));
        // Today's 3pm asked at 9am, today named: nothing has happened yet.
        let today = TimeOfDay { day: Day::Today, ..three_pm };
        assert_eq!(today.resolve(morning, midnight), (midnight + 15 * H, midnight + 15 * H));
    }
}
