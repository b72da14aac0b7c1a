//! The `local` engine as a provider: no network, never fails. The engine itself lives in `crate::local`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::LOCAL;
use crate::request::{ChatRequest, ChatResponse, LocalMeta, Usage};
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
    fn answer<'a>(&'a self, query: &'a str) -> BoxFuture<'a, LocalReply>;
}

pub struct Local {
    backend: Arc<dyn LocalBackend>,
}

impl Local {
    pub fn new(backend: Arc<dyn LocalBackend>) -> Self {
        Self { backend }
    }

    pub async fn complete(&self, req: &ChatRequest) -> ChatResponse {
        let reply = self.backend.answer(req.last_user_text()).await;
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
