//! The gateway's own compatible endpoints: client requests in the OpenAI and Gemini wire formats
//! into the neutral model, and answers (whole or streamed) back into those formats.

use serde_json::{Value, json};

use crate::error::AiError;
use crate::request::{AiAnswer, ChatRequest, Message, Role, Target, ToolCall, ToolSpec};
use crate::stream::StreamEvent;

fn bad(msg: impl Into<String>) -> AiError {
    AiError::InvalidRequest(msg.into())
}

/// Text of an OpenAI `content`: a string, null, or an array of `{type: "text", text}` parts.
fn openai_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
        _ => String::new(),
    }
}

fn f32_of(v: &Value) -> Option<f32> {
    v.as_f64().map(|f| f as f32)
}

fn u32_of(v: &Value) -> Option<u32> {
    v.as_u64().map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn stop_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// A `POST /v1/chat/completions` body: the request, the target from `model`, and `stream`.
pub fn openai_request(body: &Value) -> Result<(ChatRequest, Target, bool), AiError> {
    let msgs = body.get("messages").and_then(Value::as_array).ok_or_else(|| bad("messages must be an array"))?;
    let mut messages: Vec<Message> = Vec::with_capacity(msgs.len());
    for m in msgs {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => Role::System,
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            Some("tool") => Role::Tool,
            other => return Err(bad(format!("unknown role {other:?}"))),
        };
        let mut msg = Message {
            role,
            content: openai_text(m.get("content").unwrap_or(&Value::Null)),
            tool_calls: Vec::new(),
            tool_call_id: m.get("tool_call_id").and_then(Value::as_str).map(str::to_string),
            name: None,
        };
        for c in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let args = c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}");
            msg.tool_calls.push(ToolCall {
                id: c.get("id").and_then(Value::as_str).unwrap_or("").to_string(),
                name: c.pointer("/function/name").and_then(Value::as_str).unwrap_or("").to_string(),
                arguments: serde_json::from_str(args).unwrap_or_else(|_| Value::String(args.to_string())),
            });
        }
        // Gemini answers tools by name: find the name of the call this result answers.
        if role == Role::Tool {
            msg.name = messages
                .iter()
                .flat_map(|p| &p.tool_calls)
                .find(|c| Some(&c.id) == msg.tool_call_id.as_ref())
                .map(|c| c.name.clone());
        }
        messages.push(msg);
    }
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("function"))
        .map(|f| ToolSpec {
            name: f.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            description: f.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
            parameters: f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object"})),
        })
        .collect();
    let chat = ChatRequest {
        messages,
        tools,
        temperature: body.get("temperature").and_then(f32_of),
        top_p: body.get("top_p").and_then(f32_of),
        max_tokens: body.get("max_completion_tokens").or_else(|| body.get("max_tokens")).and_then(u32_of),
        stop: body.get("stop").map(stop_list).unwrap_or_default(),
    };
    let target = Target::parse(body.get("model").and_then(Value::as_str).unwrap_or("auto"));
    Ok((chat, target, body.get("stream").and_then(Value::as_bool).unwrap_or(false)))
}

fn openai_finish(a: &AiAnswer) -> &'static str {
    if !a.tool_calls.is_empty() {
        return "tool_calls";
    }
    match a.finish_reason.as_deref() {
        Some("MAX_TOKENS" | "length") => "length",
        Some("SAFETY" | "RECITATION" | "content_filter") => "content_filter",
        _ => "stop",
    }
}

fn openai_calls(calls: &[ToolCall]) -> Vec<Value> {
    calls
        .iter()
        .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments.to_string()}}))
        .collect()
}

/// The model id a compatible client sees: `<engine>/<model>`, or `local`.
pub fn model_id(a: &AiAnswer) -> String {
    if a.engine == a.model { a.engine.clone() } else { format!("{}/{}", a.engine, a.model) }
}

/// A whole answer as a `chat.completion`.
pub fn openai_response(a: &AiAnswer, id: &str, created: i64) -> Value {
    let mut message = json!({"role": "assistant", "content": a.text});
    if !a.tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(openai_calls(&a.tool_calls));
    }
    json!({
        "id": id, "object": "chat.completion", "created": created, "model": model_id(a),
        "choices": [{"index": 0, "message": message, "finish_reason": openai_finish(a)}],
        "usage": {"prompt_tokens": a.usage.prompt_tokens, "completion_tokens": a.usage.completion_tokens,
                  "total_tokens": a.usage.prompt_tokens + a.usage.completion_tokens},
    })
}

/// One stream event as `chat.completion.chunk`s (none for errors: the caller ends the stream with
/// an error event of its own, then `[DONE]`). As OpenAI streams: the token counts only when the
/// request's `stream_options.include_usage` asked, in a chunk of their own with no choices after
/// the one that finishes.
pub fn openai_chunks(ev: &StreamEvent, id: &str, created: i64, model: &str, include_usage: bool) -> Vec<Value> {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    match ev {
        StreamEvent::Text(t) => vec![chunk(json!({"content": t}), Value::Null)],
        StreamEvent::ToolCall(c) => {
            let mut call = openai_calls(std::slice::from_ref(c)).remove(0);
            call["index"] = json!(0);
            vec![chunk(json!({"tool_calls": [call]}), Value::Null)]
        }
        StreamEvent::Done(a) => {
            let mut out = vec![chunk(json!({}), json!(openai_finish(a)))];
            if include_usage {
                out.push(json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [],
                    "usage": {"prompt_tokens": a.usage.prompt_tokens, "completion_tokens": a.usage.completion_tokens,
                              "total_tokens": a.usage.prompt_tokens + a.usage.completion_tokens}}));
            }
            out
        }
        StreamEvent::Error(_) => Vec::new(),
    }
}

/// A `generateContent` body (the Google proxy) in the neutral shape.
pub fn gemini_request(body: &Value) -> Result<ChatRequest, AiError> {
    let contents = body.get("contents").and_then(Value::as_array).ok_or_else(|| bad("contents must be an array"))?;
    let text_of = |parts: &Value| -> String {
        parts.as_array().into_iter().flatten().filter_map(|p| p.get("text").and_then(Value::as_str)).collect()
    };
    let mut messages = Vec::new();
    let system = body.pointer("/systemInstruction/parts").map(text_of).unwrap_or_default();
    if !system.is_empty() {
        messages.push(Message::system(system));
    }
    let mut seq = 0;
    for c in contents {
        let parts = c.get("parts").unwrap_or(&Value::Null);
        let text = text_of(parts);
        if c.get("role").and_then(Value::as_str) == Some("model") {
            let mut m = Message::assistant(text);
            for fc in parts.as_array().into_iter().flatten().filter_map(|p| p.get("functionCall")) {
                seq += 1;
                m.tool_calls.push(ToolCall {
                    id: fc.get("id").and_then(Value::as_str).map_or_else(|| format!("call_{seq}"), str::to_string),
                    name: fc.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                    arguments: fc.get("args").cloned().unwrap_or_else(|| json!({})),
                });
            }
            messages.push(m);
            continue;
        }
        for fr in parts.as_array().into_iter().flatten().filter_map(|p| p.get("functionResponse")) {
            let name = fr.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            // OpenAI-style engines need the call id: the latest call of that name.
            let id = messages
                .iter()
                .rev()
                .flat_map(|m: &Message| &m.tool_calls)
                .find(|c| c.name == name)
                .map(|c| c.id.clone());
            let resp = fr.get("response").cloned().unwrap_or(Value::Null);
            let result = resp.get("result").cloned().unwrap_or(resp);
            let call = ToolCall { id: id.unwrap_or_default(), name, arguments: Value::Null };
            messages.push(Message::tool_result(&call, &result));
        }
        if !text.is_empty() {
            messages.push(Message::user(text));
        }
    }
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
        .flatten()
        .map(|f| ToolSpec {
            name: f.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            description: f.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
            parameters: f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object"})),
        })
        .collect();
    let cfg = body.get("generationConfig").unwrap_or(&Value::Null);
    Ok(ChatRequest {
        messages,
        tools,
        temperature: cfg.get("temperature").and_then(f32_of),
        top_p: cfg.get("topP").and_then(f32_of),
        max_tokens: cfg.get("maxOutputTokens").and_then(u32_of),
        stop: cfg.get("stopSequences").map(stop_list).unwrap_or_default(),
    })
}

fn gemini_finish(a: &AiAnswer) -> &'static str {
    match a.finish_reason.as_deref() {
        Some("MAX_TOKENS" | "length") => "MAX_TOKENS",
        Some("SAFETY" | "content_filter") => "SAFETY",
        _ => "STOP",
    }
}

fn gemini_parts(text: &str, calls: &[ToolCall]) -> Vec<Value> {
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(json!({"text": text}));
    }
    parts.extend(calls.iter().map(|c| json!({"functionCall": {"name": c.name, "args": c.arguments}})));
    parts
}

/// A whole answer as a `GenerateContentResponse`.
pub fn gemini_response(a: &AiAnswer) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": gemini_parts(&a.text, &a.tool_calls)},
                        "finishReason": gemini_finish(a), "index": 0}],
        "usageMetadata": {"promptTokenCount": a.usage.prompt_tokens, "candidatesTokenCount": a.usage.completion_tokens,
                          "totalTokenCount": a.usage.prompt_tokens + a.usage.completion_tokens},
        "modelVersion": a.model,
    })
}

/// One stream event as an `alt=sse` chunk (`None` for errors).
pub fn gemini_chunk(ev: &StreamEvent) -> Option<Value> {
    match ev {
        StreamEvent::Text(t) => {
            Some(json!({"candidates": [{"content": {"role": "model", "parts": gemini_parts(t, &[])}, "index": 0}]}))
        }
        StreamEvent::ToolCall(c) => Some(
            json!({"candidates": [{"content": {"role": "model", "parts": gemini_parts("", std::slice::from_ref(c))}, "index": 0}]}),
        ),
        StreamEvent::Done(a) => {
            let mut last = gemini_response(a);
            last["candidates"][0]["content"]["parts"] = json!([]);
            Some(last)
        }
        StreamEvent::Error(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{CacheStatus, Usage};

    fn answer(text: &str, calls: Vec<ToolCall>) -> AiAnswer {
        AiAnswer {
            text: text.into(),
            tool_calls: calls,
            engine: "groq".into(),
            model: "llama".into(),
            fallback: false,
            attempts: vec![],
            cache_status: CacheStatus::Miss,
            usage: Usage { prompt_tokens: 2, completion_tokens: 3 },
            finish_reason: Some("stop".into()),
            intent: None,
            confidence: None,
            lang: None,
            thinking_steps: vec![],
            clarify: vec![],
            window: None,
            elapsed_ms: 1,
        }
    }

    #[test]
    fn openai_round_trip() {
        let body = json!({"model": "groq/llama", "stream": true, "max_tokens": 50, "stop": "END",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "7"}],
            "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}]});
        let (chat, target, stream) = openai_request(&body).unwrap();
        assert!(stream);
        assert_eq!(target, Target::Pinned { engine: "groq".into(), model: Some("llama".into()) });
        assert_eq!(chat.messages[0].content, "hi");
        assert_eq!(chat.messages[1].tool_calls[0].arguments, json!({"x": 1}));
        assert_eq!(chat.messages[2].name.as_deref(), Some("f"));
        assert_eq!((chat.max_tokens, chat.stop.clone()), (Some(50), vec!["END".to_string()]));
        let out = openai_response(&answer("hello", vec![]), "id1", 0);
        assert_eq!(out["model"], "groq/llama");
        assert_eq!(out["choices"][0]["message"]["content"], "hello");
        assert_eq!(out["usage"]["total_tokens"], 5);
        let c = ToolCall { id: "c".into(), name: "f".into(), arguments: json!({}) };
        let out = openai_response(&answer("", vec![c]), "id1", 0);
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert!(openai_request(&json!({"messages": [{"role": "robot", "content": "x"}]})).is_err());
    }

    #[test]
    fn gemini_round_trip() {
        let body = json!({"systemInstruction": {"parts": [{"text": "sys"}]},
            "contents": [{"role": "user", "parts": [{"text": "cpu?"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "get_cpu", "args": {"h": "a"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "get_cpu", "response": {"result": 42}}}]}],
            "generationConfig": {"temperature": 0, "maxOutputTokens": 64},
            "tools": [{"functionDeclarations": [{"name": "get_cpu", "description": "d", "parameters": {"type": "object"}}]}]});
        let chat = gemini_request(&body).unwrap();
        assert_eq!(chat.messages[0].role, Role::System);
        assert_eq!(chat.messages[2].tool_calls[0].id, "call_1");
        assert_eq!(chat.messages[3].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(chat.messages[3].content, "42");
        assert_eq!((chat.temperature, chat.max_tokens, chat.tools.len()), (Some(0.0), Some(64), 1));
        let out = gemini_response(&answer("ok", vec![]));
        assert_eq!(out["candidates"][0]["content"]["parts"][0]["text"], "ok");
        assert_eq!(out["candidates"][0]["finishReason"], "STOP");
        let last = gemini_chunk(&StreamEvent::Done(Box::new(answer("ok", vec![])))).unwrap();
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 5);
    }
}
