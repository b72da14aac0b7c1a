//! Adapter from [`LocalBackend`] to the built-in engine in `crate::local`, fed by a per-request `FactsSource`.

use std::sync::Arc;

use super::local::{BoxFuture, LocalBackend, LocalReply};
use crate::local::{Facts, LocalEngine};
use crate::request::{LocalMeta, ThinkingStep};

/// Gathers the live facts (servers, metrics, alerts) the local engine reasons over. The binary
/// implements it; it is called once per local answer, with the question, so it may fetch only
/// what the question needs.
pub trait FactsSource: Send + Sync {
    fn facts<'a>(&'a self, query: &'a str) -> BoxFuture<'a, Facts>;
}

/// The production [`LocalBackend`]: facts from the binary, answers from [`LocalEngine`].
pub struct EngineBackend {
    engine: LocalEngine,
    facts: Arc<dyn FactsSource>,
}

impl EngineBackend {
    pub fn new(facts: Arc<dyn FactsSource>) -> Self {
        Self { engine: LocalEngine::new(), facts }
    }
}

impl LocalBackend for EngineBackend {
    fn answer<'a>(&'a self, query: &'a str) -> BoxFuture<'a, LocalReply> {
        Box::pin(async move {
            let facts = self.facts.facts(query).await;
            let a = self.engine.answer(query, &facts);
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
                },
            }
        })
    }
}
