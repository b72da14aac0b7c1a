//! Numbers left in a question once names and windows are taken: thresholds ("above 80%", "60 넘는",
//! "95% or higher"), counts ("top 3", "세 개", "2대만") and sizes ("30GB").

use std::sync::OnceLock;

use super::lexicon::Cues;
use super::text::Text;
use super::words::{ABOVE_AFTER, ABOVE_BEFORE, BELOW_AFTER, BELOW_BEFORE, COUNTERS, NUMBER_WORDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// At or above.
    Above,
    /// At or below.
    Below,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num {
    pub value: f64,
    pub percent: bool,
    /// Followed by a counter ("3개") or written as a word ("three"): a count, not a threshold.
    pub counted: bool,
    /// Followed by a size unit ("30gb", "500 mb").
    pub size: bool,
    pub cmp: Option<Cmp>,
}

struct Ops {
    above_before: Cues,
    below_before: Cues,
    above_after: Cues,
    below_after: Cues,
}

fn ops() -> &'static Ops {
    static OPS: OnceLock<Ops> = OnceLock::new();
    OPS.get_or_init(|| Ops {
        above_before: Cues::parse(ABOVE_BEFORE),
        below_before: Cues::parse(BELOW_BEFORE),
        above_after: Cues::parse(ABOVE_AFTER),
        below_after: Cues::parse(BELOW_AFTER),
    })
}

/// The numbers left in the working copy, blanked as they are read.
pub fn take_numbers(text: &mut Text) -> Vec<Num> {
    let mut out = Vec::new();
    let work = text.work.clone();
    let bytes = work.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let glued = i > 0 && (bytes[i - 1].is_ascii_alphabetic() || bytes[i - 1] == b'-' || bytes[i - 1] == b'_');
        if !bytes[i].is_ascii_digit() || glued {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_digit() || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            i += 1;
        }
        let Ok(value) = work[start..i].parse::<f64>() else { continue };
        let after = &work[i..];
        let after_trim = after.trim_start();
        let percent = ["%", "percent", "pct", "퍼센트", "퍼", "프로"].iter().any(|u| after_trim.starts_with(u));
        let size = ["gb", "mb", "tb", "kb", "기가", "메가", "테라"].iter().any(|u| after_trim.starts_with(u));
        let counted = COUNTERS.iter().any(|c| after_trim.starts_with(c));
        let cmp = cmp_near(&work[..start], after);
        out.push(Num { value, percent, counted, size, cmp });
        spans.push((start, i));
    }
    for (s, e) in spans {
        text.blank(s, e);
    }
    out.extend(number_words(&text.work));
    // "more than half their disk": half is 50%.
    if let Some(at) = super::text::find_word(&text.work, "half").or_else(|| text.work.find("절반")) {
        let cmp = cmp_near(&text.work[..at], &text.work[at..]);
        out.push(Num { value: 50.0, percent: true, counted: false, size: false, cmp });
    }
    out
}

/// The comparison around a number: English words before it, Korean (and "or more") after it.
fn cmp_near(before: &str, after: &str) -> Option<Cmp> {
    let ops = ops();
    let before_words: Vec<&str> = before.split_whitespace().rev().take(3).collect();
    let before_text = before_words.into_iter().rev().collect::<Vec<_>>().join(" ");
    let after_text: String = after.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    let view = |s: &str| {
        let t = Text { lang: super::text::Lang::En, lower: s.to_owned(), work: s.to_owned(), corrections: 0 };
        t.cues()
    };
    let (b, a) = (view(&before_text), view(after_text.trim_start_matches(['%', ' '])));
    if a.has(&ops.below_after) || b.has(&ops.below_before) {
        Some(Cmp::Below)
    } else if a.has(&ops.above_after) || b.has(&ops.above_before) {
        Some(Cmp::Above)
    } else {
        None
    }
}

/// Counts written as words: "three", "세 개", "두 대".
fn number_words(work: &str) -> Vec<Num> {
    let mut out = Vec::new();
    let words: Vec<&str> = work.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        for (word, n) in NUMBER_WORDS {
            let korean = word.chars().any(super::text::is_hangul);
            let hit = if korean {
                // A Korean number word counts only with a counter: "세 개", "세개", "두 대".
                let glued = w.strip_prefix(word).is_some_and(|rest| COUNTERS.iter().any(|c| rest.starts_with(c)));
                let spaced =
                    *w == *word && words.get(i + 1).is_some_and(|nx| COUNTERS.iter().any(|c| nx.starts_with(c)));
                glued || spaced
            } else if word.contains(' ') {
                words.get(i + 1).is_some_and(|nx| format!("{w} {nx}") == *word)
            } else {
                *w == *word
            };
            if hit {
                out.push(Num { value: f64::from(*n), percent: false, counted: true, size: false, cmp: None });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(q: &str) -> Vec<Num> {
        let mut t = Text::new(q, &Default::default());
        take_numbers(&mut t)
    }

    #[test]
    fn thresholds_counts_and_sizes() {
        let n = nums("servers with cpu above 80%");
        assert_eq!((n[0].value, n[0].percent, n[0].cmp), (80.0, true, Some(Cmp::Above)));
        assert_eq!(nums("메모리 60 넘는 서버")[0].cmp, Some(Cmp::Above));
        assert_eq!(nums("cpu 20% 미만인 서버들")[0].cmp, Some(Cmp::Below));
        assert_eq!(nums("any servers at 95% CPU or higher")[0].cmp, Some(Cmp::Above));
        assert_eq!(nums("list machines where CPU is under 20%")[0].cmp, Some(Cmp::Below));
        assert_eq!(nums("디스크 사용률이 60%보다 높은 서버")[0].cmp, Some(Cmp::Above));
        assert!(nums("램 많이 먹는 서버 2개만")[0].counted);
        assert!(nums("디스크 여유 공간이 제일 적은 서버 세 개")[0].counted);
        assert_eq!(nums("top three servers")[0].value, 3.0);
        assert!(nums("how much of the 30GB have I used")[0].size);
    }
}
