//! The parts of the OpenAI and Gemini request formats the gateway reads, typed: the handlers check
//! a body against these before handing the JSON on (`ai::compat` reads the rest leniently), so a
//! wrong type is refused with 400 naming the field, as those APIs do, rather than read as absent.
//! Fields the gateway does not read are accepted and ignored (the formats are wide and grow).
//! Whether the question is blank is the gateway's own check (400), stated in the descriptions.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::ApiError;

/// `POST /v1/chat/completions`: OpenAI's chat completion request.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ChatCompletionRequest {
    /// `auto` (default), `local`, or `<provider>/<model>` from `GET /v1/models` (another is 404).
    #[schema(max_length = 200)]
    model: Option<String>,
    /// At least one `user` message; the last one must have text that is not blank.
    #[schema(min_items = 1)]
    messages: Vec<ChatMessage>,
    stream: Option<bool>,
    /// Choices per request: only 1 is served (a larger `n` is refused rather than ignored).
    #[schema(minimum = 1, maximum = 1)]
    n: Option<u32>,
    /// With `stream`: `include_usage` adds a last chunk with the token counts and no choices.
    stream_options: Option<StreamOptions>,
    #[schema(minimum = 0.0, maximum = 2.0)]
    temperature: Option<f64>,
    #[schema(minimum = 0.0, maximum = 1.0)]
    top_p: Option<f64>,
    #[schema(minimum = 1)]
    max_tokens: Option<u32>,
    #[schema(minimum = 1)]
    max_completion_tokens: Option<u32>,
    stop: Option<Stop>,
    /// `{type: "function", function: {name, description, parameters}}` each.
    tools: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct StreamOptions {
    include_usage: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ChatMessage {
    role: ChatRole,
    /// Text, or parts of which the `text` ones are read.
    content: Option<ChatContent>,
    tool_call_id: Option<String>,
    tool_calls: Option<Vec<Value>>,
    name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ChatContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// One part of a message's content (`{type: "text", text}`; other kinds are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ContentPart {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
}

/// `POST .../models/{model}:generateContent`: Gemini's GenerateContentRequest.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct GenerateContentRequest {
    /// At least one turn that is not `model`'s with text that is not blank (the last such is the question).
    #[schema(min_items = 1)]
    contents: Vec<GeminiContent>,
    system_instruction: Option<GeminiContent>,
    /// `{functionDeclarations: [{name, description, parameters}]}` each.
    tools: Option<Vec<Value>>,
    generation_config: Option<GenerationConfig>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct GeminiContent {
    /// `user` (the default) or `model`.
    #[schema(max_length = 32)]
    role: Option<String>,
    parts: Vec<GeminiPart>,
}

/// A part of a turn: `text`, `functionCall` or `functionResponse` (other kinds are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct GeminiPart {
    text: Option<String>,
    function_call: Option<Value>,
    function_response: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct GenerationConfig {
    #[schema(minimum = 0.0, maximum = 2.0)]
    temperature: Option<f64>,
    #[schema(minimum = 0.0, maximum = 1.0)]
    top_p: Option<f64>,
    #[schema(minimum = 1)]
    max_output_tokens: Option<u32>,
    stop_sequences: Option<Vec<String>>,
}

fn in_range(field: &str, v: Option<f64>, max: f64) -> Result<(), ApiError> {
    match v {
        Some(x) if !(0.0..=max).contains(&x) => Err(ApiError::BadRequest(format!("`{field}` must be 0-{max}"))),
        _ => Ok(()),
    }
}

fn positive(field: &str, v: Option<u32>) -> Result<(), ApiError> {
    match v {
        Some(0) => Err(ApiError::BadRequest(format!("`{field}` must be at least 1"))),
        _ => Ok(()),
    }
}

/// Reads `T` from a wire-format body; a field of the wrong type is a 400 naming it.
pub fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    super::json::from_value::<T>(value.clone()).map_err(|errors| {
        let why = errors.first().map(|e| format!("invalid `{}`: {}", e.field, e.reason)).unwrap_or_default();
        ApiError::BadRequest(why)
    })
}

impl ChatCompletionRequest {
    pub fn check(&self) -> Result<(), ApiError> {
        if self.model.as_ref().is_some_and(|m| m.chars().count() > 200) {
            return Err(ApiError::BadRequest("`model` is at most 200 characters".into()));
        }
        if self.messages.is_empty() {
            return Err(ApiError::BadRequest("`messages` must not be empty".into()));
        }
        if self.n.is_some_and(|n| n != 1) {
            return Err(ApiError::BadRequest("`n` must be 1: the gateway answers one choice per request".into()));
        }
        in_range("temperature", self.temperature, 2.0)?;
        in_range("top_p", self.top_p, 1.0)?;
        positive("max_tokens", self.max_tokens)?;
        positive("max_completion_tokens", self.max_completion_tokens)
    }
}

impl GenerateContentRequest {
    pub fn check(&self) -> Result<(), ApiError> {
        if self.contents.is_empty() {
            return Err(ApiError::BadRequest("`contents` must not be empty".into()));
        }
        if self.contents.iter().any(|c| c.role.as_ref().is_some_and(|r| r.chars().count() > 32)) {
            return Err(ApiError::BadRequest("`contents[].role` is at most 32 characters".into()));
        }
        let Some(cfg) = &self.generation_config else { return Ok(()) };
        in_range("generationConfig.temperature", cfg.temperature, 2.0)?;
        in_range("generationConfig.topP", cfg.top_p, 1.0)?;
        positive("generationConfig.maxOutputTokens", cfg.max_output_tokens)
    }
}

/// `GET /v1/models`.
#[derive(serde::Serialize, ToSchema)]
pub struct ModelList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<ModelEntry>,
}

#[derive(serde::Serialize, ToSchema)]
pub struct ModelEntry {
    /// `auto`, `local`, or `<provider>/<model>`.
    pub id: String,
    /// Always `model`.
    pub object: &'static str,
    pub created: u64,
    pub owned_by: &'static str,
}

/// `GET .../models`: the configured Google AI models.
#[derive(serde::Serialize, ToSchema)]
pub struct GeminiModelList {
    pub models: Vec<GeminiModel>,
}

/// `GET .../models/{model}`: Gemini's model description, the fields the gateway knows.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeminiModel {
    /// `models/<id>`.
    pub name: String,
    pub display_name: String,
    pub supported_generation_methods: Vec<&'static str>,
}

impl GeminiModel {
    /// The description of configured model `id` (what the proxy serves for it).
    pub fn of(id: &str) -> Self {
        Self {
            name: format!("models/{id}"),
            display_name: id.to_string(),
            supported_generation_methods: vec!["generateContent", "streamGenerateContent"],
        }
    }
}
