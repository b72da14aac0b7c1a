//! The `local` engine as a provider: no network, never fails. The engine itself lives in `crate::local`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::LOCAL;
use crate::request::{ChatRequest, ChatResponse, LocalMeta, Role, Usage};
use crate::stream::{DeltaStream, replay};

/// A boxed future, so the traits below stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the local engine answered.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalReply {
    pub text: String,
    pub meta: LocalMeta,
}

/// Answers a question without the network. The binary supplies it: usually
/// [`crate::EngineBackend`], which gathers live facts per request through a `FactsSource` and
/// asks [`crate::local::LocalEngine`]; tests supply a stand-in. It must not fail: when it knows
/// nothing, it says so in its text.
pub trait LocalBackend: Send + Sync {
    /// `history`: the conversation's earlier user questions, oldest first (for follow-ups).
    fn answer<'a>(&'a self, query: &'a str, history: &'a [String]) -> BoxFuture<'a, LocalReply>;
}

/// The earlier user messages of a request, oldest first, at most the engine's history bound: the
/// conversation a follow-up is read against (`/v1/chat/completions` sends it as `messages`; the hub
/// puts a `sessionId`'s turns there).
pub fn history(req: &ChatRequest) -> Vec<String> {
    let users: Vec<&str> = req.messages.iter().filter(|m| m.role == Role::User).map(|m| m.content.as_str()).collect();
    let earlier = &users[..users.len().saturating_sub(1)];
    let start = earlier.len().saturating_sub(crate::local::MAX_HISTORY);
    earlier[start..].iter().map(|s| s.chars().take(2_000).collect()).collect()
}

pub struct Local {
    backend: Arc<dyn LocalBackend>,
}

impl Local {
    pub fn new(backend: Arc<dyn LocalBackend>) -> Self {
        Self { backend }
    }

    pub async fn complete(&self, req: &ChatRequest) -> ChatResponse {
        let history = history(req);
        let reply = self.backend.answer(req.last_user_text(), &history).await;
        ChatResponse {
            // Rough counts, so the token metrics are not blind to local answers.
            usage: Usage {
                prompt_tokens: (req.last_user_text().len() as u64).div_ceil(4),
                completion_tokens: (reply.text.len() as u64).div_ceil(4),
            },
            text: reply.text,
            tool_calls: Vec::new(),
            finish_reason: Some("stop".into()),
            model: LOCAL.to_string(),
            local: Some(reply.meta),
        }
    }

    /// The engine answers at once, so streaming is a replay of the whole answer.
    pub async fn stream(&self, req: &ChatRequest) -> DeltaStream {
        let r = self.complete(req).await;
        replay(&r.text, &[], r.finish_reason, r.usage)
    }
}
