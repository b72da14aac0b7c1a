//! The neutral request/response model every provider converts to and from its own wire format.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// The result of a tool call, answering the assistant's `tool_calls`.
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Calls the assistant asked for (assistant messages only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Which call a tool message answers (OpenAI needs the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool's name on a tool message (Gemini needs the name, not the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    fn plain(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None, name: None }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::plain(Role::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::plain(Role::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::plain(Role::Assistant, content)
    }
    /// A tool's result, answering the call `call`.
    pub fn tool_result(call: &ToolCall, result: &Value) -> Self {
        Self {
            role: Role::Tool,
            content: result.to_string(),
            tool_calls: Vec::new(),
            tool_call_id: Some(call.id.clone()),
            name: Some(call.name.clone()),
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// A JSON schema of the arguments object.
    pub parameters: Value,
}

/// A call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments object (already parsed; OpenAI sends it as a string).
    pub arguments: Value,
}

/// The provider-neutral chat request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

impl ChatRequest {
    /// A one-question request.
    pub fn user(text: impl Into<String>) -> Self {
        Self { messages: vec![Message::user(text)], ..Self::default() }
    }

    /// The text of the last user message: what the local engine answers.
    pub fn last_user_text(&self) -> &str {
        self.messages.iter().rev().find(|m| m.role == Role::User).map(|m| m.content.as_str()).unwrap_or("")
    }

    /// A rough token estimate (characters / 4, plus the output budget) used for TPM budgets
    /// before the provider tells us the real count.
    pub fn estimated_tokens(&self) -> u64 {
        let chars: usize = self.messages.iter().map(|m| m.content.len()).sum::<usize>()
            + self.tools.iter().map(|t| t.description.len() + t.parameters.to_string().len()).sum::<usize>();
        (chars as u64).div_ceil(4) + u64::from(self.max_tokens.unwrap_or(0))
    }
}

/// Token counts reported by a provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// One step of reasoning shown to the user (local engine steps and tool calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThinkingStep {
    pub step: String,
    pub description: String,
    pub status: String,
    #[serde(rename = "duration")]
    pub duration_ms: u64,
}

/// What the local engine adds to an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalMeta {
    pub intent: String,
    pub confidence: f64,
    pub lang: String,
    pub thinking_steps: Vec<ThinkingStep>,
    /// The readings offered when the engine asks back (`metadata.clarify`); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clarify: Vec<String>,
    /// The time window the answer used, unix ms (`metadata.window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<(i64, i64)>,
}

/// The provider-neutral response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    /// The model that answered, as the provider named it.
    pub model: String,
    pub local: Option<LocalMeta>,
}

/// One piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    /// A complete call (OpenAI fragments are assembled before this is emitted).
    ToolCall(ToolCall),
    /// The last piece: why it stopped and the usage, when known.
    Finish {
        reason: Option<String>,
        usage: Usage,
    },
}

/// Which engine(s) a request may use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// The configured chain, ending with `local`.
    Auto,
    /// One engine, optionally one of its models.
    Pinned { engine: String, model: Option<String> },
}

impl Target {
    /// Parses a `mode` or OpenAI model id: `auto`, `local`, `<provider>`, `<provider>/<model>`.
    pub fn parse(id: &str) -> Self {
        let id = id.trim();
        if id.is_empty() || id.eq_ignore_ascii_case("auto") {
            return Self::Auto;
        }
        match id.split_once('/') {
            Some((engine, model)) if !model.is_empty() => {
                Self::Pinned { engine: engine.to_string(), model: Some(model.to_string()) }
            }
            _ => Self::Pinned { engine: id.trim_end_matches('/').to_string(), model: None },
        }
    }
}

/// A request to the router.
#[derive(Debug, Clone)]
pub struct AiRequest {
    pub chat: ChatRequest,
    pub target: Target,
    /// Overall deadline for an answer; `None` uses the configured default.
    pub timeout: Option<Duration>,
    /// `Some(true)` asks for caching even when not deterministic; `Some(false)` forbids it.
    pub cache: Option<bool>,
}

impl AiRequest {
    pub fn new(chat: ChatRequest) -> Self {
        Self { chat, target: Target::Auto, timeout: None, cache: None }
    }
    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    pub fn cache(mut self, cache: bool) -> Self {
        self.cache = Some(cache);
        self
    }
}

/// Whether an answer came from the cache (maps to `X-Cache-Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheStatus {
    Hit,
    Miss,
    Bypass,
}

impl CacheStatus {
    /// The header value: `HIT`, `MISS`, `BYPASS`.
    pub fn as_header(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Bypass => "BYPASS",
        }
    }
}

/// One try of one engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub engine: String,
    /// `ok` or a stable failure label (see `ProviderError::outcome`), or `circuit_open`, `queue_full`.
    pub outcome: String,
    pub ms: u64,
}

/// The router's answer. Deserialized from the answer cache shared by several hubs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AiAnswer {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    /// The engine that answered: `local`, `google-ai` or a provider name.
    pub engine: String,
    pub model: String,
    /// True when an engine other than the first choice answered.
    pub fallback: bool,
    pub attempts: Vec<Attempt>,
    pub cache_status: CacheStatus,
    pub usage: Usage,
    pub finish_reason: Option<String>,
    /// Set by the local engine; remote answers leave intent to the caller.
    pub intent: Option<String>,
    pub confidence: Option<f64>,
    pub lang: Option<String>,
    pub thinking_steps: Vec<ThinkingStep>,
    /// Set by the local engine when it asks back: the readings it offers (`metadata.clarify`).
    pub clarify: Vec<String>,
    /// Set by the local engine: the time window the answer used, unix ms (`metadata.window`).
    pub window: Option<(i64, i64)>,
    /// Wall time the router spent, in milliseconds.
    pub elapsed_ms: u64,
}
