//! Adapter from [`LocalBackend`] to the built-in engine in `crate::local`, fed by a [`FactsSource`]:
//! snapshot, resolve the question against the conversation, fetch exactly what it needs, answer.

use std::sync::Arc;

use super::local::{BoxFuture, LocalBackend, LocalReply};
use crate::local::{Answer, Facts, FactsNeed, Lang, LocalEngine};
use crate::request::{LocalMeta, ThinkingStep};

/// Where the local engine's facts come from; the hub implements it over its services (fleet, store,
/// alerts, budget, router status, checks). Object-safe and async.
///
/// Per question the engine calls [`FactsSource::snapshot`] once, then [`FactsSource::fill`] with what
/// the resolved question needs (at most twice: an explanation asks for history around the alert's
/// firing once it knows when that was). A source fills only what the [`FactsNeed`] asks and leaves a
/// part it does not have as `None`, so the answer can say there is no data.
pub trait FactsSource: Send + Sync {
    /// The cheap part every question reads: `now_ms`, `utc_offset_secs`, every server's latest state
    /// (`servers`) and the names of checks and engines (`directory`).
    fn snapshot<'a>(&'a self) -> BoxFuture<'a, Facts>;
    /// Adds to `facts` exactly what `need` asks: series (servers, metric, window, at most `max_points`
    /// each), events in a window, alerts, silences, budget, gateway, checks.
    fn fill<'a>(&'a self, need: &'a FactsNeed, facts: &'a mut Facts) -> BoxFuture<'a, ()>;
}

/// The production [`LocalBackend`]: facts from the hub, answers from [`LocalEngine`].
pub struct EngineBackend {
    engine: LocalEngine,
    facts: Arc<dyn FactsSource>,
}

impl EngineBackend {
    pub fn new(facts: Arc<dyn FactsSource>) -> Self {
        Self { engine: LocalEngine::new(), facts }
    }

    /// The whole answer (with `clarify` and `window`): snapshot, resolve against `history` (earlier
    /// user questions, oldest first), fill what the question needs, compose.
    pub async fn ask(&self, query: &str, history: &[String]) -> Answer {
        let mut facts = self.facts.snapshot().await;
        let question = self.engine.resolve(query, history, &facts);
        let need = question.need(&facts);
        if !need.is_empty() {
            self.facts.fill(&need, &mut facts).await;
        }
        let more = question.more(&facts);
        if !more.is_empty() {
            self.facts.fill(&more, &mut facts).await;
        }
        self.engine.compose(&question, &facts)
    }

    /// Why alert `alert_id` fired (`POST /api/alerts/{id}/explain`), in `lang`; `None` when the source
    /// has no such alert.
    pub async fn explain_alert(&self, alert_id: &str, lang: Lang) -> Option<Answer> {
        let mut facts = self.facts.snapshot().await;
        let question = self.engine.explain_question(alert_id, lang);
        let need = question.need(&facts);
        self.facts.fill(&need, &mut facts).await;
        let more = question.more(&facts);
        if !more.is_empty() {
            self.facts.fill(&more, &mut facts).await;
        }
        self.engine.explain_alert(alert_id, lang, &facts)
    }
}

/// The router's view of an answer.
pub fn reply(a: Answer) -> LocalReply {
    LocalReply {
        text: a.text,
        meta: LocalMeta {
            intent: a.intent,
            confidence: a.confidence,
            lang: a.lang,
            thinking_steps: a
                .thinking_steps
                .into_iter()
                .map(|s| ThinkingStep {
                    step: s.step,
                    description: s.description,
                    status: s.status,
                    duration_ms: s.duration_ms,
                })
                .collect(),
            clarify: a.clarify,
            window: a.window,
        },
    }
}

impl LocalBackend for EngineBackend {
    fn answer<'a>(&'a self, query: &'a str, history: &'a [String]) -> BoxFuture<'a, LocalReply> {
        Box::pin(async move { reply(self.ask(query, history).await) })
    }
}
