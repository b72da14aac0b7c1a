//! Names in the question, from live data: servers (by id or name, whole or in parts, in Korean or with
//! typos: "db master", "디비 마스터", "웹01", "web server 2", "db-mastr"), checks, AI engines and region
//! codes. A name shaped like a server's that matches none is kept as unknown, with the closest names.
//!
//! The question is cut into tokens: ASCII words (a glued number split off, "web01" -> web 01), names
//! with hyphens whole ("api-01"), and Korean words split into the known name parts they start with
//! ("디비마스터랑" -> db master 랑). A server matches a run of tokens equal to its id's parts (numbers by
//! value, "server"/"서버"/"번" allowed between them); the longest runs win.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::Facts;
use super::lexicon::vocabulary;
use super::names::{Named, Names, canonical, parts, same_part};
use super::text::{Text, distance, is_hangul, stem};
use super::words::{FILLER_TOKENS, GENERIC_TOKENS, TOKEN_ALIASES, TYPE_WORDS};

/// What the question named.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Server ids, in order of mention.
    pub servers: Vec<String>,
    /// Words that look like server names but match none.
    pub unknown: Vec<String>,
    /// The closest server names to the unknown ones.
    pub suggestions: Vec<String>,
    /// Names matched only after a spelling fix.
    pub fuzzy: usize,
    /// Server-type words ("web", "디비"), with the server whose id is that word, if any ("backup").
    pub types: Vec<(String, Option<String>)>,
    pub checks: Vec<String>,
    pub engines: Vec<String>,
    /// Region codes written out ("us-east-1"): substrings of location names.
    pub locations: Vec<String>,
}

#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    /// Lower case; a Korean name part is given in English ("디비" -> "db").
    text: String,
    /// A whole hyphenated name ("api-01").
    compound: bool,
    hangul: bool,
    used: bool,
    /// Taken as a filter word but left in the text, since cue phrases use it too ("ai cache").
    kept: bool,
}

/// Cuts `work` into tokens (see the module doc).
fn tokens(work: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in work.char_indices().chain(std::iter::once((work.len(), ' '))) {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                split_word(work, s, i, &mut out);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    out
}

fn push(out: &mut Vec<Token>, start: usize, end: usize, text: &str, compound: bool, hangul: bool) {
    out.push(Token { start, end, text: text.to_owned(), compound, hangul, used: false, kept: false });
}

/// One space-separated word: split at script changes, and a glued number off a name ("web01").
fn split_word(work: &str, start: usize, end: usize, out: &mut Vec<Token>) {
    let word = &work[start..end];
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, c) in word.char_indices() {
        let h = is_hangul(c);
        match runs.last_mut() {
            Some((_, e, kind)) if *kind == h => *e = i + c.len_utf8(),
            _ => runs.push((i, i + c.len_utf8(), h)),
        }
    }
    for (s, e, hangul) in runs {
        let (s, e) = (start + s, start + e);
        let piece = &work[s..e];
        if hangul {
            split_korean(piece, s, out);
            continue;
        }
        let compound = piece.contains(['-', '_', '.']) && piece.chars().any(|c| c.is_ascii_alphabetic());
        let letters = piece.bytes().take_while(u8::is_ascii_alphabetic).count();
        let glued =
            !compound && letters > 0 && letters < piece.len() && piece[letters..].bytes().all(|b| b.is_ascii_digit());
        if glued {
            push(out, s, s + letters, &piece[..letters], false, false);
            push(out, s + letters, e, &piece[letters..], false, false);
        } else {
            push(out, s, e, piece, compound, false);
        }
    }
}

/// Korean words for name parts, longest first: `(korean, english)`.
fn korean_parts() -> &'static [(String, String)] {
    static PARTS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    PARTS.get_or_init(|| {
        let mut out: Vec<(String, String)> = Vec::new();
        for (en, alts) in TOKEN_ALIASES {
            for alt in alts.split('|').filter(|a| a.chars().any(is_hangul)) {
                out.push((alt.to_owned(), (*en).to_owned()));
            }
        }
        for (ty, words) in TYPE_WORDS {
            for w in words.split('|').filter(|a| a.chars().any(is_hangul)) {
                let en = if ty == "database" { "db" } else { ty };
                out.push((w.to_owned(), en.to_owned()));
            }
        }
        out.sort_by_key(|(ko, _)| std::cmp::Reverse(ko.len()));
        out
    })
}

/// "디비마스터랑" -> db, master, 랑: known parts from the start, the rest as one token.
fn split_korean(piece: &str, start: usize, out: &mut Vec<Token>) {
    let mut at = 0;
    while at < piece.len() {
        let rest = &piece[at..];
        match korean_parts().iter().find(|(ko, _)| rest.starts_with(ko.as_str())) {
            Some((ko, en)) => {
                push(out, start + at, start + at + ko.len(), en, false, true);
                at += ko.len();
            }
            None => {
                push(out, start + at, start + piece.len(), rest, false, true);
                break;
            }
        }
    }
}

fn is_filler(t: &Token) -> bool {
    FILLER_TOKENS.contains(&t.text.as_str())
}

/// Everything the question names, looked up in `names` (built from `facts` once per question).
pub fn find(text: &mut Text, facts: &Facts, names: &Names) -> Found {
    let mut found = Found::default();
    let mut toks = tokens(&text.work);
    whole_names(&mut toks, facts, names, &mut found);
    let mut server_ids = Vec::new();
    runs(&mut toks, names, false, &mut server_ids);
    for id in server_ids {
        add(&mut found.servers, &id);
    }
    let mut check_ids = Vec::new();
    runs(&mut toks, names, true, &mut check_ids);
    found.checks.extend(check_ids);
    single_words(&mut toks, facts, names, &mut found);
    unknown_before_server_word(&mut toks, &names.servers, facts, &mut found);
    for t in toks.iter().filter(|t| t.used && !t.kept) {
        text.blank(t.start, t.end);
    }
    found
}

/// Hyphenated words: a server, check, engine or region exactly (or a server within one typo), else an
/// unknown server when shaped like one.
fn whole_names(toks: &mut [Token], facts: &Facts, names: &Names, found: &mut Found) {
    let (servers, locations) = (&names.servers, &names.locations);
    for t in toks.iter_mut().filter(|t| t.compound) {
        let word = t.text.as_str();
        if let Some(id) = names.exact(word) {
            add(&mut found.servers, id);
        } else if let Some(c) = facts.directory.checks.iter().find(|c| c.to_lowercase() == word) {
            add(&mut found.checks, c);
        } else if let Some((e, _)) = facts.directory.engines.iter().find(|(e, _)| e.to_lowercase() == word) {
            add(&mut found.engines, e);
        } else if word.len() >= 4 && locations.iter().any(|l| l.contains(word)) {
            add(&mut found.locations, word);
        } else if server_shaped(word, names) {
            match fuzzy_server(word, facts) {
                Some(id) => {
                    add(&mut found.servers, &id);
                    found.fuzzy += 1;
                }
                None => add_unknown(found, word, servers, facts),
            }
        } else {
            continue;
        }
        t.used = true;
    }
}

/// A word that looks like a server name: it holds a digit, or a part of some server's name.
fn server_shaped(word: &str, names: &Names) -> bool {
    word.bytes().any(|b| b.is_ascii_digit()) || parts(word).iter().any(|p| !names.owners(p).is_empty())
}

/// A server within one typo (two for long names), with the same digits ("worker-02" is not worker-01).
fn fuzzy_server(word: &str, facts: &Facts) -> Option<String> {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let max = if word.len() >= 9 { 2 } else { 1 };
    let mut hits = facts.servers.iter().filter(|s| {
        [&s.id, &s.name].iter().any(|n| {
            n.len().abs_diff(word.len()) <= max && {
                let n = n.to_lowercase();
                digits(&n) == digits(word) && distance(&n, word) <= max
            }
        })
    });
    let first = hits.next()?;
    hits.next().is_none().then(|| first.id.clone())
}

fn add(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_owned());
    }
}

/// Records an unknown name and the (up to three) closest server names: those sharing a part (a
/// synonym counts), then by edit distance.
fn add_unknown(found: &mut Found, word: &str, servers: &[Named], facts: &Facts) {
    add(&mut found.unknown, word);
    let wanted = parts(word);
    // `servers` is built from `facts.servers` in the same order.
    let mut scored: Vec<(usize, usize, String)> = servers
        .iter()
        .zip(&facts.servers)
        .filter_map(|(s, fact)| {
            let shared = s.names[0].iter().filter(|p| wanted.iter().any(|w| same_part(w, p))).count();
            let near = fact.name.len().abs_diff(word.len()) <= word.len() / 2 + 1;
            let d = if shared > 0 || near { distance(&fact.name.to_lowercase(), word) } else { usize::MAX };
            (shared > 0 || d <= word.len() / 2 + 1).then(|| (shared, d, fact.name.clone()))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, _, name) in scored.into_iter().take(3) {
        add(&mut found.suggestions, &name);
    }
}

/// Runs of two or more tokens equal to a name's parts, longest first.
fn runs(toks: &mut [Token], names: &Names, checks: bool, out: &mut Vec<String>) {
    let list = if checks { &names.checks } else { &names.servers };
    let mut matches: Vec<(usize, usize, String)> = Vec::new();
    for start in 0..toks.len() {
        if toks[start].used || toks[start].compound {
            continue;
        }
        for &(i, j) in names.starting(&toks[start].text, checks) {
            if let Some(end) = run_at(toks, start, &list[i].names[j]) {
                matches.push((start, end, list[i].id.clone()));
            }
        }
    }
    matches.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
    let mut taken: Vec<(usize, String)> = Vec::new();
    for (start, end, id) in matches {
        if toks[start..end].iter().any(|t| t.used) {
            continue;
        }
        toks[start..end].iter_mut().for_each(|t| t.used = true);
        taken.push((start, id));
    }
    taken.sort_by_key(|(start, _)| *start);
    for (_, id) in taken {
        add(out, &id);
    }
}

/// Where a run matching `parts` starting at `start` ends (exclusive).
fn run_at(toks: &[Token], start: usize, parts: &[String]) -> Option<usize> {
    let mut j = start;
    for (k, part) in parts.iter().enumerate() {
        while k > 0 && j < toks.len() && is_filler(&toks[j]) && !toks[j].used {
            j += 1;
        }
        let t = toks.get(j)?;
        if t.used || t.compound || canonical(&t.text) != *part {
            return None;
        }
        j += 1;
    }
    Some(j)
}

/// Words before a generic word ("which vm") that ask across servers rather than name one.
const ACROSS: &[&str] = &["which", "what", "any", "every", "all", "each", "어느", "어떤", "모든"];

/// Single words: a type word ("web", "디비"), a part only one server has ("redis", "replica"), a part
/// several share (all of them), a check's or engine's name, or a server name within one typo.
fn single_words(toks: &mut [Token], facts: &Facts, names: &Names, found: &mut Found) {
    let (servers, checks) = (&names.servers, &names.checks);
    let vocab = vocabulary();
    let mut prev: Option<String> = None;
    for t in toks.iter_mut() {
        let before = prev.replace(t.text.clone());
        if t.used || t.compound || t.text.bytes().all(|b| b.is_ascii_digit()) || is_filler(t) {
            continue;
        }
        let prev = before;
        let word = if t.hangul { t.text.clone() } else { stem(&t.text) };
        if let Some(ty) = type_of(&word) {
            let same_id = facts.servers.iter().find(|s| s.id == word || s.name == word).map(|s| s.id.clone());
            if !found.types.iter().any(|(t, _)| *t == ty) {
                found.types.push((ty, same_id));
            }
            t.used = true;
            t.kept = true;
            continue;
        }
        if GENERIC_TOKENS.contains(&word.as_str()) {
            // Too generic to name a server by a part of its name, but a server called just that is
            // named by it (this host's self-monitor takes the machine's hostname, often "vm").
            // "which vm", "any vm" ask across servers, as does the plural.
            let asks_across = prev.as_deref().is_some_and(|p| ACROSS.contains(&p));
            if !asks_across
                && let Some(s) = facts.servers.iter().find(|s| s.id == t.text || s.name.eq_ignore_ascii_case(&t.text))
            {
                add(&mut found.servers, &s.id);
                t.used = true;
            }
            continue;
        }
        let owners = names.owners(&word);
        if !owners.is_empty() {
            for &i in owners {
                add(&mut found.servers, &servers[i].id);
            }
            t.used = true;
            continue;
        }
        if let Some(c) = checks.iter().find(|c| !vocab.contains(&word) && word.len() >= 5 && c.names[0].contains(&word))
        {
            add(&mut found.checks, &c.id);
            t.used = true;
            continue;
        }
        let engine = facts.directory.engines.iter().find(|(name, kind)| {
            *name == word
                || (*kind == "gemini"
                    && ["gemini", "제미나이", "제미니", "재미나이"].iter().any(|w| word.starts_with(w)))
                || (*kind == "openai" && word == "openai")
        });
        if let Some((name, _)) = engine {
            add(&mut found.engines, name);
            t.used = true;
            t.kept = true;
            continue;
        }
        if !t.hangul && word.len() >= 5 && !vocab.contains(&word) {
            let close: Vec<&Named> = servers
                .iter()
                .filter(|s| s.names.iter().any(|n| n.iter().any(|p| p.len() >= 5 && distance(p, &word) == 1)))
                .collect();
            if let [one] = close.as_slice() {
                add(&mut found.servers, &one.id);
                found.fuzzy += 1;
                t.used = true;
            }
        }
    }
}

fn is_number(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// The server type a word names ("databases" -> database, "디비" -> database via its English part).
fn type_of(word: &str) -> Option<String> {
    let word = if word == "db" { "database" } else { word };
    TYPE_WORDS
        .iter()
        .find(|(ty, words)| *ty == word || words.split('|').any(|w| w == word))
        .map(|(ty, _)| (*ty).to_owned())
}

/// "the payment server", "결제 서버", "mail01": a word in a server's place that names nothing known.
fn unknown_before_server_word(toks: &mut [Token], servers: &[Named], facts: &Facts, found: &mut Found) {
    let vocab = vocabulary();
    let korean = korean_vocabulary();
    let mut unknown = Vec::new();
    for i in 0..toks.len() {
        let t = &toks[i];
        if t.used || t.compound {
            continue;
        }
        let next_is_server_word =
            toks.get(i + 1).is_some_and(|n| matches!(n.text.as_str(), "server" | "서버" | "box" | "host"));
        let glued_number = toks.get(i + 1).is_some_and(|n| n.start == t.end && is_number(&n.text) && !n.used);
        let word = t.text.as_str();
        let ascii_word = !t.hangul && word.len() >= 3 && word.bytes().all(|b| b.is_ascii_lowercase());
        let ascii_unknown = ascii_word && !vocab.contains(word) && !vocab.contains(&stem(word));
        // "mail01", "db3": letters glued to a number name a host, unless the letters are a word that
        // takes a number ("top3", "last24").
        let glued_name = ascii_word && !GLUES_TO_NUMBERS.contains(&word);
        let korean_unknown = t.hangul
            && word.chars().count() >= 2
            && !korean.iter().any(|k| word.contains(k.as_str()))
            && !MODIFIER_ENDINGS.iter().any(|e| word.ends_with(e))
            && !describes(word);
        if (next_is_server_word && (ascii_unknown || korean_unknown)) || (glued_number && glued_name) {
            let name = if glued_number { format!("{word}{}", toks[i + 1].text) } else { word.to_owned() };
            unknown.push((i, name, glued_number));
        }
    }
    for (i, name, glued) in unknown {
        toks[i].used = true;
        if glued {
            toks[i + 1].used = true;
        }
        add_unknown(found, &name, servers, facts);
    }
}

/// Words written glued to a number that are not host names.
const GLUES_TO_NUMBERS: &[&str] = &[
    "top", "bottom", "last", "past", "next", "cpu", "cpus", "core", "cores", "day", "days", "hour", "hours", "min",
    "mins", "week", "weeks", "month", "months", "sec", "gb", "mb", "tb", "kb", "ms", "top", "page", "step", "version",
];

/// Korean endings of words that describe rather than name ("있는", "심각한", "죽은").
const MODIFIER_ENDINGS: &[&str] =
    &["는", "은", "인", "한", "된", "던", "운", "할", "될", "진", "난", "린", "든", "를", "을", "의", "들"];

/// A Korean word ending in a syllable with a final ㄴ or ㄹ reads as a describing form ("생긴", "쓰는",
/// "할"), not a name.
fn describes(word: &str) -> bool {
    word.chars().next_back().is_some_and(|c| {
        let code = c as u32;
        (0xAC00..=0xD7A3).contains(&code) && matches!((code - 0xAC00) % 28, 4 | 8)
    })
}

/// Every Korean word of the lexicon and the word lists (spaces removed).
fn korean_vocabulary() -> &'static HashSet<String> {
    static KO: OnceLock<HashSet<String>> = OnceLock::new();
    KO.get_or_init(|| {
        let mut out = HashSet::new();
        let mut add_all = |spec: &str| {
            for w in spec.split('|') {
                let w: String = w.chars().filter(|c| !c.is_whitespace()).collect();
                if w.chars().any(is_hangul) && w.chars().count() >= 2 {
                    out.insert(w);
                }
            }
        };
        super::lexicon::all_specs().for_each(&mut add_all);
        super::words::all_word_specs().for_each(&mut add_all);
        super::time::window_words().for_each(&mut add_all);
        for extra in
            ["환경", "리전", "지역", "전체", "목록", "모든", "어떤", "우리", "내", "이번", "지금", "현재", "결과"]
        {
            add_all(extra);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::ServerFact;

    fn facts() -> Facts {
        let server = |id: &str, name: &str, ty: &str| ServerFact {
            id: id.into(),
            name: name.into(),
            server_type: ty.into(),
            ..ServerFact::default()
        };
        Facts {
            servers: vec![
                server("web-01", "web-01", "web"),
                server("web-02", "web-02", "web"),
                server("db-master", "db-master", "database"),
                server("db-replica", "db-replica", "database"),
                server("redis-cache", "redis-cache", "cache"),
                server("backup", "backup", "backup"),
                server("hub-7f3a", "openmanager-hub", "other"),
            ],
            ..Facts::default()
        }
    }

    fn servers_of(q: &str) -> Found {
        let facts = facts();
        let names = Names::new(&facts);
        let mut text = Text::new(q, &names.known_words);
        find(&mut text, &facts, &names)
    }

    #[test]
    fn names_in_their_many_forms() {
        for (q, want) in [
            ("web-01 cpu", vec!["web-01"]),
            ("웹01 cpu", vec!["web-01"]),
            ("웹서버 2 상태", vec!["web-02"]),
            ("how is web server 2", vec!["web-02"]),
            ("status of the db master", vec!["db-master"]),
            ("디비마스터랑 레플리카", vec!["db-master", "db-replica"]),
            ("레디스 메모리", vec!["redis-cache"]),
            ("is the openmanager hub ok", vec!["hub-7f3a"]),
            ("허브 서버 상태", vec!["hub-7f3a"]),
            ("DB-MASTER 상태", vec!["db-master"]),
            ("redis-cahce memory", vec!["redis-cache"]),
        ] {
            assert_eq!(servers_of(q).servers, want, "{q}");
        }
    }

    #[test]
    fn a_server_named_by_a_generic_word_alone() {
        let mut facts = facts();
        facts.servers.push(ServerFact {
            id: "self".into(),
            name: "vm".into(),
            server_type: "monitoring".into(),
            ..ServerFact::default()
        });
        let names = Names::new(&facts);
        for (q, want) in [("how is vm doing", vec!["self"]), ("VM 메모리", vec!["self"]), ("is vm ok", vec!["self"])]
        {
            let mut text = Text::new(q, &names.known_words);
            assert_eq!(find(&mut text, &facts, &names).servers, want, "{q}");
        }
        let mut text = Text::new("which vm is busiest", &names.known_words);
        assert!(find(&mut text, &facts, &names).servers.is_empty(), "a question across servers");
        // Without such a server the word names nothing, as before.
        assert!(servers_of("how is the vm doing").servers.is_empty());
        assert!(servers_of("how is the vm doing").unknown.is_empty());
    }

    #[test]
    fn types_unknowns_and_suggestions() {
        let f = servers_of("list the web servers");
        assert!(f.servers.is_empty());
        assert_eq!(f.types, vec![("web".to_owned(), None)]);
        let f = servers_of("백업 서버 몇 대");
        assert_eq!(f.types, vec![("backup".to_owned(), Some("backup".to_owned()))]);
        let f = servers_of("status of web-09");
        assert_eq!(f.unknown, ["web-09"]);
        assert_eq!(f.suggestions[..2], ["web-01", "web-02"]);
        let f = servers_of("cpu of the payment server");
        assert_eq!(f.unknown, ["payment"]);
        let f = servers_of("결제 서버 cpu 얼마야");
        assert_eq!(f.unknown, ["결제"]);
        assert!(servers_of("오프라인 서버 있어?").unknown.is_empty());
        assert!(servers_of("show me a dashboard-style summary").unknown.is_empty());
    }
}
