//! The assistant's evaluation: the question set (`questions_*.txt`, `holdout.txt`), the fixed world the
//! expected values come from (`world.rs`, `world_alerts.rs`), the checks (`checks.rs`), and the scoring.
//! Shared by `tests/eval.rs` (targets enforced by `cargo test`) and `examples/assistant_eval.rs` (the
//! figures `bench/assistant.sh` prints).

#![allow(dead_code)]

pub mod checks;
pub mod facts;
pub mod world;
pub mod world_alerts;

use std::time::Instant;

use ai::local::{FixtureSource, LocalEngine};

pub use checks::Reply;
pub use world::World;

pub const QUESTIONS_EN: &str = include_str!("questions_en.txt");
pub const QUESTIONS_KO: &str = include_str!("questions_ko.txt");
pub const DEV: &str = include_str!("dev.txt");
pub const DEV2: &str = include_str!("dev2.txt");
pub const HOLDOUT: &str = include_str!("holdout.txt");
pub const HOLDOUT2: &str = include_str!("holdout2.txt");

/// One question with its expectations.
#[derive(Debug, Clone)]
pub struct Item {
    pub line: usize,
    pub lang: String,
    pub intent: String,
    pub checks: Vec<String>,
    /// Earlier questions of the conversation, oldest first.
    pub history: Vec<String>,
    pub question: String,
}

/// Parses a question file; a malformed line is an error naming it.
pub fn load(text: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.splitn(4, " | ").collect();
        let [lang, intent, checks, question] = cols.as_slice() else {
            return Err(format!("line {}: want `lang | intent | checks | question`: {line}", i + 1));
        };
        let mut turns: Vec<String> = question.split(" >> ").map(|t| t.trim().to_owned()).collect();
        let question = turns.pop().unwrap_or_default();
        out.push(Item {
            line: i + 1,
            lang: lang.trim().to_owned(),
            intent: intent.trim().to_owned(),
            checks: checks.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect(),
            history: turns,
            question,
        });
    }
    Ok(out)
}

/// The main set: both halves, and the second (dev) set.
pub fn main_set() -> Vec<Item> {
    let mut items = load(QUESTIONS_EN).unwrap_or_else(|e| panic!("questions_en.txt: {e}"));
    items.extend(load(QUESTIONS_KO).unwrap_or_else(|e| panic!("questions_ko.txt: {e}")));
    items.extend(load(DEV).unwrap_or_else(|e| panic!("dev.txt: {e}")));
    items.extend(load(DEV2).unwrap_or_else(|e| panic!("dev2.txt: {e}")));
    items
}

pub fn holdout_set() -> Vec<Item> {
    load(HOLDOUT).unwrap_or_else(|e| panic!("holdout.txt: {e}"))
}

pub fn holdout2_set() -> Vec<Item> {
    load(HOLDOUT2).unwrap_or_else(|e| panic!("holdout2.txt: {e}"))
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub item: Item,
    pub reply: Reply,
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn correct(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Scores one reply: the intent and language, every check, and no clarifying question unless one is
/// expected.
pub fn score(world: &World, item: &Item, reply: Reply) -> Outcome {
    let mut failures = Vec::new();
    if reply.intent != item.intent {
        failures.push(format!("intent {} (want {})", reply.intent, item.intent));
    }
    if reply.lang != item.lang {
        failures.push(format!("lang {} (want {})", reply.lang, item.lang));
    }
    for spec in &item.checks {
        if let Err(e) = checks::check(world, spec, &reply) {
            failures.push(format!("{spec}: {e}"));
        }
    }
    if item.intent == "help" && reply.is_help_fallback() {
        failures.push("answered \"I didn't understand\" to a request for help".into());
    }
    let wants_clarify = item.checks.iter().any(|c| c == "clarify");
    if !wants_clarify && !reply.clarify.is_empty() {
        failures.push(format!("asked back needlessly: {:?}", reply.clarify));
    }
    Outcome { item: item.clone(), reply, failures }
}

/// The figures of one run.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub total: usize,
    pub correct: usize,
    pub clarify: usize,
    pub help: usize,
    pub ko_correct: usize,
    pub ko_total: usize,
}

impl Figures {
    pub fn of(outcomes: &[Outcome]) -> Figures {
        let ko: Vec<&Outcome> = outcomes.iter().filter(|o| o.item.lang == "ko").collect();
        Figures {
            total: outcomes.len(),
            correct: outcomes.iter().filter(|o| o.correct()).count(),
            clarify: outcomes.iter().filter(|o| !o.reply.clarify.is_empty()).count(),
            help: outcomes.iter().filter(|o| o.reply.is_help_fallback()).count(),
            ko_correct: ko.iter().filter(|o| o.correct()).count(),
            ko_total: ko.len(),
        }
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.total)
    }
    pub fn clarify_rate(&self) -> f64 {
        ratio(self.clarify, self.total)
    }
    pub fn help_rate(&self) -> f64 {
        ratio(self.help, self.total)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Failures, one block each, for a test's message.
pub fn describe(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .filter(|o| !o.correct())
        .map(|o| {
            let history =
                if o.item.history.is_empty() { String::new() } else { format!("{} >> ", o.item.history.join(" >> ")) };
            format!(
                "line {} [{}] {history}{}\n  {}\n  answer ({}, {:.2}): {}",
                o.item.line,
                o.item.lang,
                o.item.question,
                o.failures.join("; "),
                o.reply.intent,
                o.reply.confidence,
                o.reply.text.replace('\n', " / ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The replies to a set, with the engine's time per question in ms (resolving and composing; the
/// source's fetching is not the engine's and is not counted).
pub struct Run {
    pub outcomes: Vec<Outcome>,
    pub times_ms: Vec<f64>,
}

/// The world's facts behind a fixture source.
pub fn source(world: &World) -> FixtureSource {
    FixtureSource::new(facts::facts(world))
}

/// Asks every item as the hub does: snapshot, resolve against the history, fill what the question
/// needs (and then what it needs more), compose.
pub fn run(world: &World, source: &FixtureSource, items: &[Item]) -> Run {
    let engine = LocalEngine::new();
    let mut outcomes = Vec::with_capacity(items.len());
    let mut times_ms = Vec::with_capacity(items.len());
    for item in items {
        let mut facts = source.snapshot_now();
        let t0 = Instant::now();
        let q = engine.resolve(&item.question, &item.history, &facts);
        let need = q.need(&facts);
        let mut engine_time = t0.elapsed();
        source.fill_now(&need, &mut facts);
        let t1 = Instant::now();
        let more = q.more(&facts);
        engine_time += t1.elapsed();
        if !more.is_empty() {
            source.fill_now(&more, &mut facts);
        }
        let t2 = Instant::now();
        let a = engine.compose(&q, &facts);
        engine_time += t2.elapsed();
        times_ms.push(engine_time.as_secs_f64() * 1000.0);
        let reply = Reply {
            intent: a.intent,
            text: a.text,
            lang: a.lang,
            confidence: a.confidence,
            clarify: a.clarify,
            window: a.window,
        };
        outcomes.push(score(world, item, reply));
    }
    Run { outcomes, times_ms }
}

/// The p-th percentile (0-100) of `times`.
pub fn percentile(times: &[f64], p: f64) -> f64 {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    if t.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (t.len() - 1) as f64).round() as usize;
    t[i.min(t.len() - 1)]
}
