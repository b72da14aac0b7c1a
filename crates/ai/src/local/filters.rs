//! Filters and metrics named in words: statuses ("offline", "다운된"), environments ("prod", "스테이징"),
//! providers ("AWS", "구글"), regions ("europe", "유럽"), sources ("agents", "데모") and metrics ("RAM",
//! "storage", "부하"), read from what is left of the question.

use std::sync::OnceLock;

use super::Metric;
use super::lexicon::Cues;
use super::text::{CueView, Text};
use super::words::{ENV_WORDS, METRIC_WORDS, PROVIDER_WORDS, REGION_WORDS, SOURCE_WORDS, STATUS_WORDS};

/// Which servers a question is about, beyond the ones it names. Each list is "any of"; lists combine
/// with "all of".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub statuses: Vec<String>,
    pub types: Vec<String>,
    /// Prefixes of environment names (`production|prod`).
    pub envs: Vec<String>,
    /// Substrings of provider names (`aws|amazon`).
    pub providers: Vec<String>,
    /// Substrings of location names.
    pub locations: Vec<String>,
    pub sources: Vec<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether a server passes every list.
    pub fn admits(&self, s: &super::ServerFact) -> bool {
        let any = |keys: &[String], value: &str, how: fn(&str, &str) -> bool| {
            keys.is_empty() || keys.iter().any(|k| k.split('|').any(|alt| how(&value.to_lowercase(), alt)))
        };
        any(&self.statuses, &s.status, |v, k| v == k)
            && any(&self.types, &s.server_type, |v, k| v == k)
            && any(&self.envs, &s.environment, |v, k| v.starts_with(k))
            && any(&self.providers, &s.provider, |v, k| v.contains(k))
            && any(&self.locations, &s.location, |v, k| v.contains(k))
            && any(&self.sources, &s.source, |v, k| v == k)
    }

    /// Adds `other`'s lists (a follow-up narrowing the previous question).
    pub fn merge(&mut self, other: &Filter) {
        for (mine, theirs) in [
            (&mut self.statuses, &other.statuses),
            (&mut self.types, &other.types),
            (&mut self.envs, &other.envs),
            (&mut self.providers, &other.providers),
            (&mut self.locations, &other.locations),
            (&mut self.sources, &other.sources),
        ] {
            if !theirs.is_empty() {
                *mine = theirs.clone();
            }
        }
    }
}

struct Lists {
    statuses: Vec<(&'static str, Cues)>,
    envs: Vec<(&'static str, Cues)>,
    providers: Vec<(&'static str, Cues)>,
    regions: Vec<(&'static str, Cues)>,
    sources: Vec<(&'static str, Cues)>,
    metrics: Vec<(Metric, Cues)>,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    let parse = |list: &[(&'static str, &'static str)]| list.iter().map(|(k, w)| (*k, Cues::parse(w))).collect();
    LISTS.get_or_init(|| Lists {
        statuses: parse(&STATUS_WORDS),
        envs: parse(&ENV_WORDS),
        providers: parse(&PROVIDER_WORDS),
        regions: parse(&REGION_WORDS),
        sources: parse(&SOURCE_WORDS),
        metrics: METRIC_WORDS.iter().map(|(m, w)| (*m, Cues::parse(w))).collect(),
    })
}

/// Words before "down" that make it a movement, not a state ("going down", "went down").
const NOT_A_STATE: &[&str] = &[
    "go", "going", "went", "gone", "goe", "come", "coming", "slow", "slowed", "shut", "turn", "turned", "scale",
    "scaled", "break", "broke",
];

/// The filters the question's words ask for. Provider and environment names of the fleet itself are
/// recognised too ("Hetzner", "qa").
pub fn filter(text: &Text, cues: &CueView, providers: &[String]) -> Filter {
    let l = lists();
    let mut f = Filter::default();
    for (status, words) in &l.statuses {
        if let Some(hit) = cues.find(words) {
            if hit == "down" && down_is_movement(cues) {
                continue;
            }
            if *status == "online" && negated(cues, hit) {
                continue;
            }
            f.statuses.push((*status).to_owned());
        }
    }
    for (keys, words) in &l.envs {
        if cues.has(words) {
            f.envs.push((*keys).to_owned());
        }
    }
    for (keys, words) in &l.providers {
        if cues.has(words) {
            f.providers.push((*keys).to_owned());
        }
    }
    for (keys, words) in &l.regions {
        if cues.has(words) {
            f.locations.push((*keys).to_owned());
        }
    }
    for (source, words) in &l.sources {
        if cues.has(words) {
            f.sources.push((*source).to_owned());
        }
    }
    // The fleet's own provider names ("hetzner", "oracle") when no word list knows them.
    for p in providers {
        if p.len() >= 3
            && super::text::find_word(&text.work, p).is_some()
            && !f.providers.iter().any(|k| k.contains(p.as_str()))
        {
            f.providers.push(p.clone());
        }
    }
    f
}

/// "not healthy", "비정상": the opposite of the status word.
fn negated(cues: &CueView, hit: &str) -> bool {
    let before_en = cues.stems.windows(2).any(|w| w[1] == hit && matches!(w[0].as_str(), "not" | "no" | "never"));
    let before_ko = cues.compact.contains(&format!("비{hit}")) || cues.compact.contains(&format!("안{hit}"));
    before_en || before_ko
}

fn down_is_movement(cues: &CueView) -> bool {
    cues.stems.windows(2).any(|w| w[1] == "down" && NOT_A_STATE.contains(&w[0].as_str()))
}

/// The metrics named, in order of mention.
pub fn metrics(cues: &CueView) -> Vec<Metric> {
    let mut found: Vec<(usize, Metric)> = Vec::new();
    for (metric, words) in &lists().metrics {
        if let Some(at) = words.items.iter().filter_map(|c| position(cues, c)).min() {
            found.push((at, *metric));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, m)| m).collect()
}

/// Where a cue first occurs in the spaced text (byte offset), for ordering.
fn position(cues: &CueView, cue: &super::lexicon::Cue) -> Option<usize> {
    if cue.korean {
        if cue.single_syllable {
            return super::text::find_word(&cues.spaced, &cue.raw);
        }
        return cues.spaced.find(cue.raw.as_str()).or_else(|| {
            // Spacing differs ("저장 공간" vs "저장공간"): fall back to the compact text's order.
            cues.compact.find(&cue.compact).map(|i| i * cues.spaced.len() / cues.compact.len().max(1))
        });
    }
    let n = cue.stems.len();
    let at = cues.stems.windows(n.max(1)).position(|w| n > 0 && w.iter().zip(&cue.stems).all(|(a, b)| a == b))?;
    // Byte offset of the at-th word in the spaced text.
    cues.spaced.split_whitespace().nth(at).and_then(|w| cues.spaced.find(w))
}
