//! Google AI (Gemini API): `generateContent`, `streamGenerateContent?alt=sse`, function calling, 429 details.

use std::time::Duration;

use serde_json::{Map, Value, json};

use prometheus_client::metrics::counter::Counter;

use super::{error_from, join, read_json, send_counted, transport};
use crate::config::{ApiKey, ResolvedProvider};
use crate::error::{ProviderError, QuotaScope};
use crate::request::{ChatRequest, ChatResponse, Delta, Role, ToolCall, Usage};
use crate::stream::{ChunkParser, DeltaStream, sse_stream};

pub struct Gemini {
    base: String,
    key: Option<ApiKey>,
    client: super::client::HttpClient,
    /// Bytes sent upstream (egress).
    sent: Counter,
}

impl Gemini {
    pub fn new(cfg: &ResolvedProvider, client: super::client::HttpClient, sent: Counter) -> Self {
        Self { base: cfg.base_url.clone(), key: cfg.api_key.clone(), client, sent }
    }

    fn post(&self, url: String, body: &Value) -> Result<reqwest::RequestBuilder, ProviderError> {
        let key = self.key.as_ref().ok_or_else(|| ProviderError::NotConfigured("no API key".into()))?;
        Ok(self.client.get().post(url).header("x-goog-api-key", key.expose()).json(body))
    }

    pub async fn complete(&self, req: &ChatRequest, model: &str) -> Result<ChatResponse, ProviderError> {
        let url = join(&self.base, &format!("v1beta/models/{model}:generateContent"));
        let resp = send_counted(self.post(url, &to_wire(req))?, &self.sent).await.map_err(transport)?;
        if !resp.status().is_success() {
            return Err(error_from(resp).await);
        }
        from_wire(&read_json(resp).await?, model)
    }

    pub async fn stream(&self, req: &ChatRequest, model: &str) -> Result<DeltaStream, ProviderError> {
        let url = join(&self.base, &format!("v1beta/models/{model}:streamGenerateContent?alt=sse"));
        let resp = send_counted(self.post(url, &to_wire(req))?, &self.sent).await.map_err(transport)?;
        if !resp.status().is_success() {
            return Err(error_from(resp).await);
        }
        Ok(sse_stream(resp, GeminiChunks::default()))
    }

    /// `GET models/{model}` describes the model and spends no generation quota.
    pub async fn health(&self, model: &str) -> Result<(), ProviderError> {
        let key = self.key.as_ref().ok_or_else(|| ProviderError::NotConfigured("no API key".into()))?;
        let url = join(&self.base, &format!("v1beta/models/{model}"));
        let rb = self.client.get().get(url).header("x-goog-api-key", key.expose());
        let resp = send_counted(rb, &self.sent).await.map_err(transport)?;
        if resp.status().is_success() { Ok(()) } else { Err(error_from(resp).await) }
    }
}

/// Reads Google's 429 `details`: which window ran out and how long to wait.
pub fn parse_quota_details(error: &Value) -> (QuotaScope, Option<Duration>) {
    let mut scope = QuotaScope::Unknown;
    let mut delay = None;
    for d in error.get("details").and_then(Value::as_array).into_iter().flatten() {
        match d.get("@type").and_then(Value::as_str) {
            Some("type.googleapis.com/google.rpc.QuotaFailure") => {
                for v in d.get("violations").and_then(Value::as_array).into_iter().flatten() {
                    let id = v.get("quotaId").and_then(Value::as_str).unwrap_or("");
                    // Per-day wins: once the day is spent, the minute window does not matter.
                    if id.contains("PerDay") {
                        scope = QuotaScope::Day;
                    } else if id.contains("PerMinute") && scope != QuotaScope::Day {
                        scope = QuotaScope::Minute;
                    }
                }
            }
            Some("type.googleapis.com/google.rpc.RetryInfo") => {
                delay = d.get("retryDelay").and_then(Value::as_str).and_then(parse_delay);
            }
            _ => {}
        }
    }
    (scope, delay)
}

/// Parses a protobuf JSON duration such as `"28s"` or `"1.5s"`.
fn parse_delay(s: &str) -> Option<Duration> {
    let secs: f64 = s.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The neutral request in Gemini's shape.
pub fn to_wire(req: &ChatRequest) -> Value {
    let system: Vec<&str> =
        req.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.as_str()).collect();
    let mut contents: Vec<Value> = Vec::new();
    for m in req.messages.iter().filter(|m| m.role != Role::System) {
        match m.role {
            Role::User | Role::System => contents.push(json!({"role": "user", "parts": [{"text": m.content}]})),
            Role::Assistant => {
                let mut parts = Vec::new();
                if !m.content.is_empty() {
                    parts.push(json!({"text": m.content}));
                }
                for c in &m.tool_calls {
                    parts.push(json!({"functionCall": {"name": c.name, "args": c.arguments}}));
                }
                contents.push(json!({"role": "model", "parts": parts}));
            }
            Role::Tool => {
                let result: Value =
                    serde_json::from_str(&m.content).unwrap_or_else(|_| Value::String(m.content.clone()));
                let part = json!({"functionResponse": {
                    "name": m.name.clone().unwrap_or_default(),
                    "response": {"result": result},
                }});
                // Gemini wants all responses to one model turn in one user turn.
                let merge = contents.last().is_some_and(|c| {
                    c["role"] == "user" && c["parts"].get(0).is_some_and(|p| p.get("functionResponse").is_some())
                });
                match contents.last_mut().and_then(|c| c.get_mut("parts")).and_then(Value::as_array_mut) {
                    Some(parts) if merge => parts.push(part),
                    _ => contents.push(json!({"role": "user", "parts": [part]})),
                }
            }
        }
    }
    let mut gen_cfg = Map::new();
    if let Some(t) = req.temperature {
        gen_cfg.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        gen_cfg.insert("topP".into(), json!(p));
    }
    if let Some(n) = req.max_tokens {
        gen_cfg.insert("maxOutputTokens".into(), json!(n));
    }
    if !req.stop.is_empty() {
        gen_cfg.insert("stopSequences".into(), json!(req.stop));
    }
    let mut body = json!({"contents": contents});
    if !system.is_empty() {
        body["systemInstruction"] = json!({"parts": [{"text": system.join("\n\n")}]});
    }
    if !gen_cfg.is_empty() {
        body["generationConfig"] = Value::Object(gen_cfg);
    }
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "parameters": t.parameters}))
            .collect();
        body["tools"] = json!([{"functionDeclarations": decls}]);
    }
    body
}

/// Text and calls of one response (or one stream chunk). Thought parts are not part of the answer.
fn parts(v: &Value, call_seq: &mut usize) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    let parts = v.pointer("/candidates/0/content/parts").and_then(Value::as_array);
    for p in parts.into_iter().flatten() {
        if p.get("thought").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(fc) = p.get("functionCall") {
            *call_seq += 1;
            calls.push(ToolCall {
                // Gemini may omit ids; ours only need to be unique within the conversation turn.
                id: fc.get("id").and_then(Value::as_str).map_or_else(|| format!("call_{call_seq}"), str::to_string),
                name: fc.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                arguments: fc.get("args").cloned().unwrap_or_else(|| json!({})),
            });
        }
    }
    (text, calls)
}

fn usage(v: &Value) -> Usage {
    let n = |k: &str| v.pointer(&format!("/usageMetadata/{k}")).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        prompt_tokens: n("promptTokenCount"),
        completion_tokens: n("candidatesTokenCount") + n("thoughtsTokenCount"),
    }
}

fn finish_reason(v: &Value) -> Option<String> {
    v.pointer("/candidates/0/finishReason").and_then(Value::as_str).map(str::to_string)
}

/// Gemini's response in the neutral shape.
pub fn from_wire(v: &Value, model: &str) -> Result<ChatResponse, ProviderError> {
    if v.pointer("/candidates/0").is_none() {
        let why = v.pointer("/promptFeedback/blockReason").and_then(Value::as_str).unwrap_or("no candidates");
        return Err(ProviderError::Malformed(format!("no answer: {why}")));
    }
    let (text, tool_calls) = parts(v, &mut 0);
    Ok(ChatResponse {
        text,
        tool_calls,
        finish_reason: finish_reason(v),
        usage: usage(v),
        model: v.get("modelVersion").and_then(Value::as_str).unwrap_or(model).to_string(),
        local: None,
    })
}

/// Gemini SSE: each event a partial response; no `[DONE]`; the last carries `finishReason`.
#[derive(Default)]
struct GeminiChunks {
    reason: Option<String>,
    usage: Usage,
    calls: usize,
}

impl ChunkParser for GeminiChunks {
    fn feed(&mut self, data: &str, out: &mut Vec<Delta>) -> Result<bool, ProviderError> {
        let v: Value = serde_json::from_str(data).map_err(|e| ProviderError::StreamCut(format!("bad chunk: {e}")))?;
        if let Some(e) = v.get("error") {
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
            return Err(ProviderError::StreamCut(msg));
        }
        let (text, calls) = parts(&v, &mut self.calls);
        if !text.is_empty() {
            out.push(Delta::Text(text));
        }
        out.extend(calls.into_iter().map(Delta::ToolCall));
        if v.get("usageMetadata").is_some() {
            self.usage = usage(&v);
        }
        if let Some(r) = finish_reason(&v) {
            self.reason = Some(r);
        }
        Ok(false)
    }

    fn finish(&mut self, out: &mut Vec<Delta>) -> Result<(), ProviderError> {
        match self.reason.take() {
            Some(r) => {
                out.push(Delta::Finish { reason: Some(r), usage: self.usage });
                Ok(())
            }
            None => Err(ProviderError::StreamCut("ended before finishReason".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Message, ToolSpec};

    #[test]
    fn quota_details_are_read() {
        let e = json!({"code": 429, "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "28s"}]});
        assert_eq!(parse_quota_details(&e), (QuotaScope::Day, Some(Duration::from_secs(28))));
        let e = json!({"details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier"}]}]});
        assert_eq!(parse_quota_details(&e), (QuotaScope::Minute, None));
        assert_eq!(parse_delay("1.5s"), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn tool_conversation_round_trips() {
        let call = ToolCall { id: "call_1".into(), name: "get_cpu".into(), arguments: json!({"host": "a"}) };
        let mut asked = Message::assistant("");
        asked.tool_calls.push(call.clone());
        let req = ChatRequest {
            messages: vec![
                Message::system("be brief"),
                Message::user("cpu?"),
                asked,
                Message::tool_result(&call, &json!(42)),
            ],
            tools: vec![ToolSpec {
                name: "get_cpu".into(),
                description: "cpu".into(),
                parameters: json!({"type": "object"}),
            }],
            temperature: Some(0.0),
            ..ChatRequest::default()
        };
        let w = to_wire(&req);
        assert_eq!(w["systemInstruction"]["parts"][0]["text"], "be brief");
        assert_eq!(w["contents"][1]["parts"][0]["functionCall"]["name"], "get_cpu");
        assert_eq!(w["contents"][2]["parts"][0]["functionResponse"]["response"]["result"], 42);
        assert_eq!(w["tools"][0]["functionDeclarations"][0]["name"], "get_cpu");
        assert_eq!(w["generationConfig"]["temperature"], 0.0);

        let resp = json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking", "thought": true}, {"functionCall": {"name": "get_cpu", "args": {"host": "b"}}}]},
            "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4}});
        let r = from_wire(&resp, "m").unwrap();
        assert_eq!(r.text, "");
        assert_eq!(r.tool_calls[0].arguments, json!({"host": "b"}));
        assert_eq!(r.usage, Usage { prompt_tokens: 3, completion_tokens: 4 });
    }
}
