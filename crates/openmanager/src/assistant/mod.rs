//! The assistant: questions answered through the AI gateway (Google AI, OpenAI-compatible providers,
//! and the built-in local engine that always answers), with the tool registry offered to remote
//! engines so their answers can read live data, conversations kept per `sessionId` (bounded: 10
//! turns, 30 minutes idle, 1,000 sessions) so follow-ups resolve against earlier turns with any
//! engine, alert explanations from the local engine, and the query totals the overview reports.

pub mod facts;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::services::Services;
use crate::tools::{GatewayRunner, Tools};

pub const MAX_QUERY_CHARS: usize = 4000;
/// Longest session id accepted.
pub const MAX_SESSION_ID: usize = 128;
/// Earlier turns sent with a question, at most this many characters (about 2,000 tokens), the most
/// recent first to be kept: enough for follow-ups, bounded for remote engines' quotas.
const HISTORY_CHARS: usize = 8_000;

/// Gives answers their voice and scope; the local engine ignores it.
const SYSTEM_PROMPT: &str = "You are the OpenManager monitoring assistant. Answer questions about the user's servers \
concisely, in the language of the question (Korean or English), with the numbers you rely on.";

/// A question and how to ask it.
#[derive(Debug, Clone, Default)]
pub struct Question {
    pub text: String,
    /// auto | local | google-ai | <provider> | <provider>/<model>
    pub mode: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Extra text given to remote engines with the question.
    pub context: Option<Value>,
    pub timeout: Option<Duration>,
    /// Use the cache even when the request is not deterministic.
    pub cache: bool,
    /// The conversation this question belongs to, if any.
    pub session_id: Option<String>,
}

/// A question that cannot be asked.
#[derive(Debug, thiserror::Error)]
pub enum BadQuestion {
    #[error("`query` must be 1-{MAX_QUERY_CHARS} characters")]
    Query,
    #[error("`sessionId` must be 1-{MAX_SESSION_ID} printable characters")]
    SessionId,
}

impl Question {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }

    pub fn check(&self) -> Result<(), BadQuestion> {
        let n = self.text.chars().count();
        if self.text.trim().is_empty() || n > MAX_QUERY_CHARS {
            return Err(BadQuestion::Query);
        }
        if let Some(id) = &self.session_id
            // Characters, not bytes: the document's `maxLength` counts characters.
            && (id.is_empty() || id.chars().count() > MAX_SESSION_ID || id.chars().any(char::is_control))
        {
            return Err(BadQuestion::SessionId);
        }
        Ok(())
    }

    /// The gateway request: the system prompt, optional context, the conversation's earlier turns,
    /// the question.
    fn request(&self, earlier: Vec<ai::Message>) -> ai::AiRequest {
        let mut messages = vec![ai::Message::system(SYSTEM_PROMPT)];
        messages.extend(self.context.as_ref().and_then(context_message));
        messages.extend(earlier);
        messages.push(ai::Message::user(&self.text));
        let chat = ai::ChatRequest {
            messages,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            ..Default::default()
        };
        let mut req = ai::AiRequest::new(chat).target(ai::Target::parse(self.mode.as_deref().unwrap_or("auto")));
        if let Some(t) = self.timeout {
            req = req.timeout(t.clamp(Duration::from_millis(100), Duration::from_secs(120)));
        }
        if self.cache {
            req = req.cache(true);
        }
        req
    }
}

/// A client's `context` as a system message for remote engines (bounded; `null` is none).
pub fn context_message(ctx: &Value) -> Option<ai::Message> {
    let text = match ctx {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(ai::Message::system(format!("Context: {}", text.chars().take(8000).collect::<String>())))
}

pub struct Assistant {
    services: Services,
    tools: Arc<Tools>,
    conversations: ai::Conversations,
}

impl Assistant {
    pub fn new(services: Services, tools: Arc<Tools>) -> Self {
        Self { services, tools, conversations: ai::Conversations::default() }
    }

    /// The gateway request for `q`, with its session's earlier turns.
    fn request(&self, q: &Question) -> ai::AiRequest {
        let earlier = match &q.session_id {
            Some(id) => self.conversations.messages(id, crate::clock::now_millis(), HISTORY_CHARS),
            None => Vec::new(),
        };
        q.request(earlier)
    }

    /// Keeps a turn of `q`'s session.
    fn remember(&self, q: &Question, answer: &str) {
        if let Some(id) = &q.session_id {
            self.conversations.record(id, &q.text, answer, crate::clock::now_millis());
        }
    }

    /// Conversations kept now (for status and tests).
    pub fn sessions(&self) -> usize {
        self.conversations.len()
    }

    /// Why alert `alert_id` fired, from its evidence (rule, threshold, values around the firing,
    /// top processes, related anomalies and correlated servers); `None` when there is no such alert.
    pub async fn explain(&self, alert_id: &str, lang: ai::local::Lang) -> Option<ai::local::Answer> {
        self.services.local_engine.explain_alert(alert_id, lang).await
    }

    pub fn gateway(&self) -> &ai::Router {
        &self.services.gateway
    }

    /// The intent of a question, from the local engine's parser (remote engines do not say).
    pub fn intent_of(text: &str) -> &'static str {
        ai::local::LocalEngine::new().understand(text).name()
    }

    fn record(&self, ok: bool, started: Instant) {
        self.services.telemetry.ai.record(ok, started.elapsed().as_millis() as u64);
    }

    /// Asks the gateway, offering the tools to remote engines (Gemini `functionDeclarations`,
    /// OpenAI `tools`): their calls run here and the results go back, for up to
    /// `ai.max_tool_steps` rounds within the deadline; each call shows as a thinking step.
    pub async fn ask(&self, q: &Question) -> Result<ai::AiAnswer, ai::AiError> {
        let started = Instant::now();
        let mut req = self.request(q);
        let gateway = &self.services.gateway;
        let answer = if self.services.config.ai.max_tool_steps == 0 {
            gateway.query(req).await
        } else {
            req.chat.tools = self.tools.specs();
            gateway.query_with_tools(req, Arc::new(GatewayRunner(self.tools.clone())), None).await
        };
        self.record(answer.is_ok(), started);
        if let Ok(a) = &answer {
            self.remember(q, &a.text);
        }
        answer
    }

    /// Asks with a request an adapter built from a client's own wire format (an OpenAI or Gemini
    /// request, with the client's tools if any, never ours), counted the same.
    pub async fn ask_request(&self, req: ai::AiRequest) -> Result<ai::AiAnswer, ai::AiError> {
        let started = Instant::now();
        let answer = self.services.gateway.query(req).await;
        self.record(answer.is_ok(), started);
        answer
    }

    /// Streams an answer (without tools); the totals count it and its session keeps it when it ends.
    pub async fn stream(self: &Arc<Self>, q: &Question) -> Result<ai::AiStream, ai::AiError> {
        let mut stream = self.stream_request(self.request(q)).await?;
        if q.session_id.is_some() {
            let (me, q) = (self.clone(), q.clone());
            stream.events = stream
                .events
                .inspect(move |ev| {
                    if let ai::StreamEvent::Done(a) = ev {
                        me.remember(&q, &a.text);
                    }
                })
                .boxed();
        }
        Ok(stream)
    }

    pub async fn stream_request(&self, req: ai::AiRequest) -> Result<ai::AiStream, ai::AiError> {
        let started = Instant::now();
        let mut stream = match self.services.gateway.stream(req).await {
            Ok(s) => s,
            Err(e) => {
                self.record(false, started);
                return Err(e);
            }
        };
        let services = self.services.clone();
        stream.events = stream
            .events
            .inspect(move |ev| {
                let ok = match ev {
                    ai::StreamEvent::Done(_) => true,
                    ai::StreamEvent::Error(_) => false,
                    _ => return,
                };
                services.telemetry.ai.record(ok, started.elapsed().as_millis() as u64);
            })
            .boxed();
        Ok(stream)
    }
}
