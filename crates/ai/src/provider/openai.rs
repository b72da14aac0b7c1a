//! OpenAI-compatible chat completions (Groq, Cerebras, Mistral, OpenRouter, Ollama, vLLM).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use prometheus_client::metrics::counter::Counter;

use super::{error_from, join, read_json, send_counted, transport};
use crate::config::{ApiKey, ResolvedProvider};
use crate::error::ProviderError;
use crate::request::{ChatRequest, ChatResponse, Delta, Role, ToolCall, Usage};
use crate::stream::{ChunkParser, DeltaStream, sse_stream};

pub struct OpenAi {
    base: String,
    key: Option<ApiKey>,
    needs_key: bool,
    client: super::client::HttpClient,
    /// Bytes sent upstream (egress).
    sent: Counter,
}

impl OpenAi {
    pub fn new(cfg: &ResolvedProvider, client: super::client::HttpClient, sent: Counter) -> Self {
        Self { base: cfg.base_url.clone(), key: cfg.api_key.clone(), needs_key: cfg.needs_key, client, sent }
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, ProviderError> {
        match &self.key {
            Some(k) => Ok(rb.bearer_auth(k.expose())),
            None if self.needs_key => Err(ProviderError::NotConfigured("no API key".into())),
            None => Ok(rb),
        }
    }

    pub async fn complete(&self, req: &ChatRequest, model: &str) -> Result<ChatResponse, ProviderError> {
        let rb = self.client.get().post(join(&self.base, "chat/completions")).json(&to_wire(req, model, false));
        let resp = send_counted(self.auth(rb)?, &self.sent).await.map_err(transport)?;
        if !resp.status().is_success() {
            return Err(error_from(resp).await);
        }
        from_wire(&read_json(resp).await?, model)
    }

    pub async fn stream(&self, req: &ChatRequest, model: &str) -> Result<DeltaStream, ProviderError> {
        let rb = self.client.get().post(join(&self.base, "chat/completions")).json(&to_wire(req, model, true));
        let resp = send_counted(self.auth(rb)?, &self.sent).await.map_err(transport)?;
        if !resp.status().is_success() {
            return Err(error_from(resp).await);
        }
        Ok(sse_stream(resp, OpenAiChunks::default()))
    }

    /// `GET models`: free on every compatible server we know of.
    pub async fn health(&self) -> Result<(), ProviderError> {
        let rb = self.auth(self.client.get().get(join(&self.base, "models")))?;
        let resp = send_counted(rb, &self.sent).await.map_err(transport)?;
        if resp.status().is_success() { Ok(()) } else { Err(error_from(resp).await) }
    }
}

/// The neutral request in the chat-completions shape.
pub fn to_wire(req: &ChatRequest, model: &str, stream: bool) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            };
            let mut v = json!({"role": role, "content": m.content});
            if !m.tool_calls.is_empty() {
                let calls: Vec<Value> = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments.to_string()}})
                    })
                    .collect();
                v["tool_calls"] = Value::Array(calls);
                if m.content.is_empty() {
                    v["content"] = Value::Null;
                }
            }
            if let Some(id) = &m.tool_call_id {
                v["tool_call_id"] = json!(id);
            }
            v
        })
        .collect();
    let mut body = json!({"model": model, "messages": messages});
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(p) = req.top_p {
        body["top_p"] = json!(p);
    }
    if let Some(n) = req.max_tokens {
        body["max_tokens"] = json!(n);
    }
    if !req.stop.is_empty() {
        body["stop"] = json!(req.stop);
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// Arguments arrive as a JSON string; a model may send invalid JSON, which we keep as a string.
fn parse_args(s: &str) -> Value {
    if s.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

fn usage(v: &Value) -> Usage {
    let n = |k: &str| v.pointer(&format!("/usage/{k}")).and_then(Value::as_u64).unwrap_or(0);
    Usage { prompt_tokens: n("prompt_tokens"), completion_tokens: n("completion_tokens") }
}

/// A chat completion in the neutral shape.
pub fn from_wire(v: &Value, model: &str) -> Result<ChatResponse, ProviderError> {
    let msg = v.pointer("/choices/0/message").ok_or_else(|| ProviderError::Malformed("no choices".into()))?;
    let tool_calls = msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| ToolCall {
            id: c.get("id").and_then(Value::as_str).unwrap_or("").to_string(),
            name: c.pointer("/function/name").and_then(Value::as_str).unwrap_or("").to_string(),
            arguments: parse_args(c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("")),
        })
        .collect();
    Ok(ChatResponse {
        text: msg.get("content").and_then(Value::as_str).unwrap_or("").to_string(),
        tool_calls,
        finish_reason: v.pointer("/choices/0/finish_reason").and_then(Value::as_str).map(str::to_string),
        usage: usage(v),
        model: v.get("model").and_then(Value::as_str).unwrap_or(model).to_string(),
        local: None,
    })
}

/// Chat-completion chunks: tool calls come in fragments keyed by `index` and are emitted whole
/// at the end; `[DONE]` closes the stream, and a connection that ends before it was cut.
#[derive(Default)]
struct OpenAiChunks {
    calls: BTreeMap<u64, (String, String, String)>,
    reason: Option<String>,
    usage: Usage,
}

impl OpenAiChunks {
    fn flush(&mut self, out: &mut Vec<Delta>) {
        for (i, (id, name, args)) in std::mem::take(&mut self.calls) {
            let id = if id.is_empty() { format!("call_{i}") } else { id };
            out.push(Delta::ToolCall(ToolCall { id, name, arguments: parse_args(&args) }));
        }
        out.push(Delta::Finish { reason: self.reason.take(), usage: self.usage });
    }
}

impl ChunkParser for OpenAiChunks {
    fn feed(&mut self, data: &str, out: &mut Vec<Delta>) -> Result<bool, ProviderError> {
        if data.trim() == "[DONE]" {
            self.flush(out);
            return Ok(true);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| ProviderError::StreamCut(format!("bad chunk: {e}")))?;
        if let Some(e) = v.get("error") {
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
            return Err(ProviderError::StreamCut(msg));
        }
        if v.get("usage").is_some_and(|u| !u.is_null()) {
            self.usage = usage(&v);
        }
        let Some(choice) = v.pointer("/choices/0") else { return Ok(false) };
        if let Some(t) = choice.pointer("/delta/content").and_then(Value::as_str)
            && !t.is_empty()
        {
            out.push(Delta::Text(t.to_string()));
        }
        for c in choice.pointer("/delta/tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let entry = self.calls.entry(c.get("index").and_then(Value::as_u64).unwrap_or(0)).or_default();
            if let Some(id) = c.get("id").and_then(Value::as_str) {
                entry.0 = id.to_string();
            }
            if let Some(n) = c.pointer("/function/name").and_then(Value::as_str) {
                entry.1.push_str(n);
            }
            if let Some(a) = c.pointer("/function/arguments").and_then(Value::as_str) {
                entry.2.push_str(a);
            }
        }
        if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
            self.reason = Some(r.to_string());
        }
        Ok(false)
    }

    fn finish(&mut self, _out: &mut Vec<Delta>) -> Result<(), ProviderError> {
        Err(ProviderError::StreamCut("ended before [DONE]".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Message;

    #[test]
    fn wire_shapes() {
        let call = ToolCall { id: "c1".into(), name: "f".into(), arguments: json!({"a": 1}) };
        let mut asked = Message::assistant("");
        asked.tool_calls.push(call.clone());
        let req = ChatRequest {
            messages: vec![Message::user("q"), asked, Message::tool_result(&call, &json!("ok"))],
            ..Default::default()
        };
        let w = to_wire(&req, "m", true);
        assert_eq!(w["messages"][1]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
        assert!(w["messages"][1]["content"].is_null());
        assert_eq!(w["messages"][2]["tool_call_id"], "c1");
        assert_eq!(w["stream_options"]["include_usage"], true);

        let mut p = OpenAiChunks::default();
        let mut out = Vec::new();
        p.feed(r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"f","arguments":"{\"a\""}}]}}]}"#, &mut out).unwrap();
        p.feed(r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":":2}"}}]},"finish_reason":"tool_calls"}]}"#, &mut out).unwrap();
        assert!(p.feed("[DONE]", &mut out).unwrap());
        assert_eq!(out[0], Delta::ToolCall(ToolCall { id: "x".into(), name: "f".into(), arguments: json!({"a": 2}) }));
    }
}
