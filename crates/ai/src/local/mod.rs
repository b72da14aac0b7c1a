//! The built-in local engine: answers monitoring questions in Korean or English from live facts, with no
//! key and no network, and always answers (a question it cannot place gets a clarifying question or a
//! "here is what I can do" reply).
//!
//! Use, as [`crate::EngineBackend`] does: take the hub's snapshot ([`Facts`] with the servers), call
//! [`LocalEngine::resolve`] with the question and the earlier questions of the conversation, ask the hub
//! for exactly [`Question::need`] (then [`Question::more`]), and [`LocalEngine::compose`] the answer.
//! Everything here is a pure function of the question, the history and the facts: no IO, and time comes
//! from [`Facts::now_ms`] (only the thinking steps' durations read the monotonic clock, and no text
//! depends on them).
//!
//! Layout. Reading: `text` (normalising, cue matching), `lexicon` and `words` (the vocabulary),
//! `entities` (server, check and engine names), `filters` (statuses, types, environments, providers,
//! regions, sources, metrics), `time` (windows), `numbers` (thresholds, counts), `parse` (one question
//! to a [`Question`]), `followup` (against the conversation), `question` (the resolved question and
//! what it needs). Answering: `compose/` (one module per family), `format`, `stats`. Data: `facts`,
//! `need`, `metric`, `intent`. Sessions: `conversations`. Tests: `fixture` (a [`FixtureSource`]).

mod clock;
mod compose;
mod conversations;
mod entities;
mod facts;
mod filters;
mod fixture;
mod followup;
mod format;
mod intent;
mod lexicon;
mod metric;
mod names;
mod need;
mod numbers;
mod parse;
mod question;
mod slots;
mod stats;
mod text;
mod time;
mod words;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub use conversations::{ConversationLimits, Conversations, Turn};
pub use facts::{
    AiQuotaFact, AlertFact, AlertState, BudgetFact, CheckFact, CpuShare, Directory, EgressFact, EngineFact, EventFact,
    EventKind, Facts, GatewayFact, ProcessFact, Series, ServerFact, SilenceFact, Specs, UsedOf,
};
pub use fixture::FixtureSource;
pub use followup::MAX_HISTORY;
pub use intent::Intent;
pub use metric::Metric;
pub use need::{FactsNeed, MAX_POINTS, SeriesNeed};
pub use question::Question;
pub use text::Lang;

/// An answer with its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    /// [`Intent::name`].
    pub intent: String,
    /// 0-1: how sure the engine is that it understood the question (from the parse, lowered when the
    /// data could not support the answer).
    pub confidence: f64,
    /// `ko` or `en`, the question's language.
    pub lang: String,
    pub thinking_steps: Vec<Step>,
    /// When the engine asks back: the readings (or server names) it offers. Empty otherwise.
    pub clarify: Vec<String>,
    /// The time window the answer used, unix ms; `None` for the latest values.
    pub window: Option<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    pub description: String,
    /// Always `completed`: the engine has no failing steps.
    pub status: String,
    pub duration_ms: u64,
}

/// The engine. It holds only the server names it can recognise before facts arrive (for
/// [`LocalEngine::understand`]), and the index of the last fleet's names (rebuilt when they change);
/// answering uses the names in the facts.
#[derive(Debug)]
pub struct LocalEngine {
    known: Vec<String>,
    /// One entry: the fingerprint of the names indexed, and the index.
    names: Mutex<Option<(u64, Arc<names::Names>)>>,
}

impl Clone for LocalEngine {
    fn clone(&self) -> Self {
        LocalEngine { known: self.known.clone(), names: Mutex::new(None) }
    }
}

impl Default for LocalEngine {
    fn default() -> Self {
        Self::new()
    }
}

/// The demo fleet, recognisable before any facts arrive.
const DEMO_SERVERS: [&str; 10] = [
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

impl LocalEngine {
    /// Knows the demo fleet's server ids up front.
    pub fn new() -> Self {
        LocalEngine { known: DEMO_SERVERS.iter().map(|s| (*s).to_owned()).collect(), names: Mutex::new(None) }
    }

    /// Also recognise these server ids in [`LocalEngine::understand`] (a real fleet's names).
    pub fn with_known_servers(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        for id in ids {
            if !self.known.contains(&id) {
                self.known.push(id);
            }
        }
        self
    }

    /// The intent from the words alone (no facts, no history): for labelling a remote engine's answer.
    pub fn understand(&self, query: &str) -> Intent {
        let servers = self
            .known
            .iter()
            .map(|id| ServerFact { id: id.clone(), name: id.clone(), ..ServerFact::default() })
            .collect();
        let facts = Facts { servers, ..Facts::default() };
        parse::parse(query, &facts, &names::Names::new(&facts)).q.intent
    }

    /// What `query` asks, read against the earlier questions (`history`, oldest first; at most the last
    /// [`MAX_HISTORY`] are read) and the snapshot's names.
    pub fn resolve(&self, query: &str, history: &[String], snapshot: &Facts) -> Question {
        followup::resolve(query, history, snapshot, &self.names_of(snapshot))
    }

    /// The index of `facts`' names: the cached one while the fleet's names are unchanged.
    fn names_of(&self, facts: &Facts) -> Arc<names::Names> {
        let print = names::Names::fingerprint(facts);
        let mut cache = self.names.lock().unwrap_or_else(|e| e.into_inner());
        match cache.as_ref() {
            Some((p, n)) if *p == print => n.clone(),
            _ => {
                let n = Arc::new(names::Names::new(facts));
                *cache = Some((print, n.clone()));
                n
            }
        }
    }

    /// The answer to a resolved question, made from `facts` (which should hold what
    /// [`Question::need`] and [`Question::more`] asked). Never fails.
    pub fn compose(&self, question: &Question, facts: &Facts) -> Answer {
        compose::compose(question, facts)
    }

    /// [`LocalEngine::resolve`] then [`LocalEngine::compose`], for facts that already hold everything.
    pub fn answer(&self, query: &str, history: &[String], facts: &Facts) -> Answer {
        self.compose(&self.resolve(query, history, facts), facts)
    }

    /// The question behind `POST /api/alerts/{id}/explain`: fill [`Question::need`], then
    /// [`Question::more`], and [`LocalEngine::compose`] it (or use [`LocalEngine::explain_alert`]).
    pub fn explain_question(&self, alert_id: &str, lang: Lang) -> Question {
        let mut q = Question::new(Intent::Explain, lang);
        q.alert_id = Some(alert_id.to_owned());
        q.confidence = 0.95;
        q
    }

    /// Why the alert `alert_id` fired, from `facts` (which must hold the alerts and, for correlations,
    /// the series [`Question::more`] asks). `None` when the facts have no such alert.
    pub fn explain_alert(&self, alert_id: &str, lang: Lang, facts: &Facts) -> Option<Answer> {
        facts.alerts.as_ref()?.iter().find(|a| a.id == alert_id)?;
        Some(self.compose(&self.explain_question(alert_id, lang), facts))
    }
}
