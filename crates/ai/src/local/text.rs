//! The question as the parser reads it: lower case, contractions expanded, common typos fixed, and
//! punctuation turned into spaces; then a working copy where recognised names, numbers and times are
//! blanked out as they are taken, so the cue words are looked for only in what is left.
//!
//! Cues are matched two ways: English ones as whole words (lightly stemmed, so "alerts" finds "alert"),
//! Korean ones inside the text with its spaces removed, since Korean attaches particles and spacing
//! varies ("알림 있어", "알림있어", "알림이 있어요" all hold "알림").

use std::collections::HashSet;

use super::lexicon::{Cues, vocabulary};
use super::words;

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

    /// `ko` or anything else (English).
    pub fn parse(code: &str) -> Lang {
        if code.trim().to_ascii_lowercase().starts_with("ko") { Lang::Ko } else { Lang::En }
    }
}

pub fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// Hangul anywhere means Korean: mixed questions ("web-01 CPU 어때?") are Korean questions.
pub fn detect_lang(query: &str) -> Lang {
    if query.chars().any(is_hangul) { Lang::Ko } else { Lang::En }
}

/// What a taken span is replaced with in the working copy (punctuation never survives normalising).
pub const TAKEN: char = '~';

/// The normalised question and its working copy.
#[derive(Debug, Clone)]
pub struct Text {
    pub lang: Lang,
    /// Normalised, with single spaces.
    pub lower: String,
    /// `lower` with taken spans blanked (same byte offsets).
    pub work: String,
    /// English words corrected by spelling ("memroy" -> "memory"), which lowers the confidence.
    pub corrections: usize,
}

impl Text {
    /// Normalises `query`; `known` are words that must not be "corrected" (live server and check names).
    pub fn new(query: &str, known: &HashSet<String>) -> Text {
        let lang = detect_lang(query);
        let mut s: String = query.chars().take(2_000).collect::<String>().to_lowercase();
        for (from, to) in words::APOSTROPHES {
            s = s.replace(from, to);
        }
        for (typo, fix) in words::KO_TYPOS {
            if s.contains(typo) {
                s = s.replace(typo, fix);
            }
        }
        for (phrase, metric) in [("load average", "load"), ("load avg", "load"), ("로드 애버리지", "로드")] {
            if s.contains(phrase) {
                s = s.replace(phrase, metric);
            }
        }
        let s = punctuation_to_spaces(&s);
        let (s, ko_fixes) = fix_korean(&s);
        let mut corrections = ko_fixes;
        let mut out: Vec<String> = Vec::new();
        let unglued: Vec<String> = s.split_whitespace().map(unglue).collect();
        for word in unglued.iter().flat_map(|w| w.split(' ')) {
            for part in expand(word) {
                match correct(&part, known) {
                    Some(fixed) => {
                        corrections += 1;
                        out.push(fixed);
                    }
                    None => out.push(part),
                }
            }
        }
        let lower = out.join(" ");
        Text { lang, work: lower.clone(), lower, corrections }
    }

    /// Blanks `start..end` of the working copy with [`TAKEN`], so the words on either side do not
    /// join into a cue ("the alert on api-01 fire" must not read "on fire").
    pub fn blank(&mut self, start: usize, end: usize) {
        if let Some(span) = self.work.get(start..end) {
            let filler = TAKEN.to_string().repeat(span.len());
            self.work.replace_range(start..end, &filler);
        }
    }

    /// The words left in the working copy, stemmed.
    pub fn stems(&self) -> Vec<String> {
        self.work.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()).map(stem).collect()
    }

    /// The working copy without spaces, for Korean cues.
    pub fn compact(&self) -> String {
        self.work.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// A view for cue matching over what is left now.
    pub fn cues(&self) -> CueView {
        let words = self.work.split_whitespace().map(str::to_owned).collect();
        CueView { stems: self.stems(), words, compact: self.compact(), spaced: self.work.clone() }
    }
}

/// What is left of the question, ready for cue lookups.
#[derive(Debug, Clone)]
pub struct CueView {
    pub stems: Vec<String>,
    /// The same words unstemmed, for `=word` cues.
    pub words: Vec<String>,
    pub compact: String,
    pub spaced: String,
}

impl CueView {
    pub fn has(&self, cues: &Cues) -> bool {
        self.find(cues).is_some()
    }

    /// The first cue of the list found, as written in the list.
    pub fn find<'a>(&self, cues: &'a Cues) -> Option<&'a str> {
        cues.items.iter().find(|c| self.matches(c)).map(|c| c.raw.as_str())
    }

    fn matches(&self, cue: &super::lexicon::Cue) -> bool {
        if cue.korean {
            if cue.single_syllable {
                return find_word(&self.spaced, &cue.raw).is_some();
            }
            return self.compact.contains(&cue.compact);
        }
        let n = cue.stems.len();
        let words = if cue.exact { &self.words } else { &self.stems };
        n > 0 && words.windows(n).any(|w| w.iter().zip(&cue.stems).all(|(a, b)| a == b))
    }

    /// Whether the question starts with one of these English words (yes/no questions).
    pub fn starts_with_any(&self, words: &[&str]) -> bool {
        self.stems.first().is_some_and(|w| words.contains(&w.as_str()))
    }
}

/// Light English stemming, the same for the question and the cues: plurals and possessives.
pub fn stem(word: &str) -> String {
    let w = word.trim_end_matches("'s");
    if w.len() <= 3 || !w.chars().all(|c| c.is_ascii_alphabetic()) {
        return w.to_owned();
    }
    if let Some(base) = w.strip_suffix("ies").filter(|b| b.len() >= 2) {
        return format!("{base}y");
    }
    for suffix in ["sses", "ches", "shes", "xes"] {
        if w.ends_with(suffix) {
            return w[..w.len() - 2].to_owned();
        }
    }
    if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return w[..w.len() - 1].to_owned();
    }
    w.to_owned()
}

/// Punctuation becomes spaces; kept: `-` and `_` inside names, `.` inside numbers, `%`, `>`, `<`, `=`,
/// `'` (contractions are expanded next) and `@`, `#` and `/` before digits.
fn punctuation_to_spaces(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied().unwrap_or(' ');
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let keep = c.is_alphanumeric()
            || is_hangul(c)
            || matches!(c, '%' | '>' | '<' | '=' | '\'')
            || (matches!(c, '-' | '_') && prev.is_alphanumeric() && next.is_alphanumeric())
            || (c == '.' && prev.is_ascii_digit() && next.is_ascii_digit())
            || (c == '/' && prev.is_ascii_alphabetic() && next.is_ascii_alphabetic());
        out.push(if keep { c } else { ' ' });
    }
    out
}

/// Key Korean words of three or more syllables that a slip of one key can still find ("메노리" is 메모리).
const KO_KEYWORDS: &[&str] = &[
    "메모리",
    "디스크",
    "네트워크",
    "오프라인",
    "트래픽",
    "씨피유",
    "레디스",
    "모니터링",
    "데이터베이스",
    "스테이징",
    "에이전트",
    "사일런스",
    "게이트웨이",
    "인증서",
    "가용률",
    "사용률",
    "사용량",
    "이벤트",
    "재시작",
    "재부팅",
    "마스터",
    "레플리카",
    "알려줘",
    "보여줘",
    "추이",
    "평균값",
];

/// (initial, medial, final) of a Hangul syllable.
fn jamo(c: char) -> Option<(u32, u32, u32)> {
    let code = (c as u32).checked_sub(0xAC00).filter(|x| *x <= 0xD7A3 - 0xAC00)?;
    Some((code / 588, code % 588 / 28, code % 28))
}

/// Whether two syllable runs differ in exactly one jamo of one syllable.
fn one_jamo_apart(a: &[char], b: &[char]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diffs = 0;
    for (x, y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        let (Some(p), Some(q)) = (jamo(*x), jamo(*y)) else { return false };
        diffs += usize::from(p.0 != q.0) + usize::from(p.1 != q.1) + usize::from(p.2 != q.2);
    }
    diffs == 1
}

/// Replaces a near miss of a [`KO_KEYWORDS`] word inside Korean words; returns the text and the count.
fn fix_korean(s: &str) -> (String, usize) {
    let mut fixes = 0;
    let words: Vec<String> = s
        .split(' ')
        .map(|w| {
            let mut chars: Vec<char> = w.chars().collect();
            // A word already holding a key word is spelled right ("사용률" must not become "가용률").
            if !chars.iter().any(|c| is_hangul(*c)) || KO_KEYWORDS.iter().any(|k| w.contains(k)) {
                return w.to_owned();
            }
            for key in KO_KEYWORDS {
                let k: Vec<char> = key.chars().collect();
                if k.len() < 3 || chars.len() < k.len() || w.contains(key) {
                    continue;
                }
                if let Some(at) = (0..=chars.len() - k.len()).find(|&i| one_jamo_apart(&chars[i..i + k.len()], &k)) {
                    chars.splice(at..at + k.len(), k.iter().copied());
                    fixes += 1;
                }
            }
            chars.into_iter().collect()
        })
        .collect();
    (words.join(" "), fixes)
}

/// "top5" -> "top 5", "상위3개" -> "상위 3개": a ranking word glued to its count.
fn unglue(word: &str) -> String {
    for head in ["top", "bottom", "상위", "하위", "last", "past"] {
        if let Some(rest) = word.strip_prefix(head)
            && rest.starts_with(|c: char| c.is_ascii_digit())
        {
            return format!("{head} {rest}");
        }
    }
    word.to_owned()
}

/// Contractions and chat shorthand: "what's" -> "what is", "isnt" -> "is not", "r" -> "are".
fn expand(word: &str) -> Vec<String> {
    if let Some((_, to)) = words::CONTRACTIONS.iter().find(|(from, _)| *from == word) {
        return to.split(' ').map(str::to_owned).collect();
    }
    for (suffix, to) in
        [("n't", "not"), ("'re", "are"), ("'ve", "have"), ("'ll", "will"), ("'m", "am"), ("'d", "would")]
    {
        if let Some(base) = word.strip_suffix(suffix).filter(|b| !b.is_empty()) {
            return vec![base.to_owned(), to.to_owned()];
        }
    }
    let word = word.strip_suffix("'s").unwrap_or(word);
    vec![word.replace('\'', "")]
}

/// A spelling fix for an English word the engine does not know, when one known word is close.
fn correct(word: &str, known: &HashSet<String>) -> Option<String> {
    let len = word.chars().count();
    if len < 4 || !word.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let vocab = vocabulary();
    if vocab.contains(word) || vocab.contains(&stem(word)) || known.contains(word) {
        return None;
    }
    let max = if len >= 8 { 2 } else { 1 };
    let mut best: Option<(&str, usize)> = None;
    let mut tied = false;
    for candidate in vocab.iter() {
        let clen = candidate.len();
        if clen.abs_diff(len) > max || clen < 4 || (len == 4 && !candidate.starts_with(&word[..1])) {
            continue;
        }
        let d = distance(word, candidate);
        if d > max {
            continue;
        }
        match best {
            Some((_, bd)) if d > bd => {}
            Some((_, bd)) if d == bd => tied = true,
            _ => {
                best = Some((candidate, d));
                tied = false;
            }
        }
    }
    match best {
        Some((w, _)) if !tied => Some(w.to_owned()),
        _ => None,
    }
}

/// Edit distance with adjacent transpositions (optimal string alignment), on bytes (ASCII words).
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Where `word` occurs in `text` as a word: an ASCII edge must not touch another ASCII letter, digit
/// or hyphen ("ram" is not in "program", "web 1" is not in "web 10"); a one-syllable Korean word must not
/// follow another syllable ("램" is not in "프로그램"). Korean particles may follow anything.
pub fn find_word(text: &str, word: &str) -> Option<usize> {
    find_word_from(text, word, 0)
}

pub fn find_word_from(text: &str, word: &str, from: usize) -> Option<usize> {
    let first = word.chars().next()?;
    let last = word.chars().next_back()?;
    let single_hangul = word.chars().count() == 1 && is_hangul(first);
    let mut from = from;
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
pub fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_expands_contractions_and_fixes_typos() {
        let none = HashSet::new();
        let t = Text::new("What's the memroy on web-02's box?", &none);
        assert_eq!(t.lower, "what is the memory on web-02 box");
        assert_eq!(t.corrections, 1);
        let t = Text::new("hows the fleet, r things ok", &none);
        assert!(t.lower.starts_with("how is the fleet are things"), "{}", t.lower);
        assert_eq!(Text::new("CPU 80%? (web-01)", &none).lower, "cpu 80% web-01");
        assert_eq!(Text::new("web01 은 됬어?", &none).lower, "web01 은 됐어");
        let t = Text::new("레디스 메노리 알려죠", &none);
        assert_eq!((t.lower.as_str(), t.corrections), ("레디스 메모리 알려줘", 1));
        assert_eq!(Text::new("디스쿠 사용률", &none).lower, "디스크 사용률");
        assert_eq!(Text::new("메모장 앱", &none).lower, "메모장 앱", "more than one key apart is another word");
    }

    #[test]
    fn stems_and_distance() {
        assert_eq!(stem("alerts"), "alert");
        assert_eq!(stem("anomalies"), "anomaly");
        assert_eq!(stem("processes"), "process");
        assert_eq!(stem("status"), "status");
        assert_eq!(distance("memroy", "memory"), 1);
        assert_eq!(distance("servres", "servers"), 1);
        assert_eq!(distance("abc", "xyz"), 3);
    }

    #[test]
    fn words_respect_boundaries() {
        assert!(find_word("program", "ram").is_none());
        assert!(find_word("프로그램 설치", "램").is_none());
        assert!(find_word("램 사용량", "램").is_some());
        assert!(find_word("web 10", "web 1").is_none());
        assert!(find_word("web 1의 상태", "web 1").is_some());
    }
}
