//! The OpenAI-compatible API (`POST /v1/chat/completions`, `GET /v1/models`) as Groq, Cerebras,
//! OpenRouter and the rest speak it, errors included.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Mock;
use crate::reply;
use crate::script::{Action, Endpoint, Kind, Quota};

/// `POST /v1/chat/completions`, JSON or (with `stream: true`) SSE ending in `data: [DONE]`.
pub async fn chat(State(mock): State<Mock>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let request: Option<Value> = serde_json::from_slice(&body).ok();
    let model = request.as_ref().and_then(|r| r["model"].as_str()).unwrap_or("").to_owned();
    mock.record(&method, &uri, &headers, Kind::Openai, Some(&model), &body);
    if let Some(denied) = check_key(&mock, &headers) {
        return denied;
    }
    let Some(request) = request else {
        return error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None);
    };
    let scripted = mock.take_action(Kind::Openai, Endpoint::Generate, Some(&model)).unwrap_or_default();
    reply::delay(scripted.latency_ms).await;
    if let Some(status) = scripted.status {
        return scripted_error(status, &scripted, &model);
    }
    let stream = request["stream"].as_bool().unwrap_or(false);
    if scripted.malformed {
        return if stream {
            reply::sse(vec!["data: {\"choices\": [{\"delta\": \n\n".to_owned(), "data: [DONE]\n\n".to_owned()], None)
        } else {
            reply::malformed_json()
        };
    }
    let include_usage = request["stream_options"]["include_usage"].as_bool().unwrap_or(false);
    let seq = mock.next_seq();
    let id = format!("chatcmpl-mock-{seq}");
    let created = reply::unix_now();
    let prompt_tokens = reply::tokens(prompt_chars(&request));
    let base = |object: &str| json!({"id": id, "object": object, "created": created, "model": model});

    let (text, tool_call) = match &scripted.tool_call {
        Some(call) => (None, Some(call)),
        None => (Some(scripted.reply.clone().unwrap_or_else(|| reply::default_reply(&model))), None),
    };
    let completion_tokens = text.as_deref().map_or(1, |t| reply::tokens(t.chars().count()));
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens
    });
    let tool_calls = tool_call.map(|call| {
        json!([{
            "id": format!("call_mock_{seq}"),
            "type": "function",
            "function": {"name": call.name, "arguments": call.args.to_string()}
        }])
    });
    let finish_reason = if tool_calls.is_some() { "tool_calls" } else { "stop" };

    if !stream {
        let mut message = json!({"role": "assistant", "content": text});
        if let Some(calls) = &tool_calls {
            message["tool_calls"] = calls.clone();
        }
        let mut out = base("chat.completion");
        out["choices"] = json!([{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}]);
        out["usage"] = usage;
        return reply::json(&out, scripted.cut_stream_after);
    }

    let chunk = |delta: Value, finish: Option<&str>| {
        let mut c = base("chat.completion.chunk");
        c["choices"] = json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
        reply::data(&c)
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    match (&text, tool_calls) {
        (Some(text), _) => {
            events.extend(reply::deltas(text).into_iter().map(|d| chunk(json!({"content": d}), None)));
        }
        (None, Some(calls)) => {
            // A streamed tool call carries its index; this mock sends it whole in one delta.
            let mut call = calls[0].clone();
            call["index"] = json!(0);
            events.push(chunk(json!({"tool_calls": [call]}), None));
        }
        (None, None) => {}
    }
    events.push(chunk(json!({}), Some(finish_reason)));
    if include_usage {
        let mut c = base("chat.completion.chunk");
        c["choices"] = json!([]);
        c["usage"] = usage;
        events.push(reply::data(&c));
    }
    events.push("data: [DONE]\n\n".to_owned());
    reply::sse(events, scripted.cut_stream_after)
}

/// `GET /v1/models`.
pub async fn models(State(mock): State<Mock>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    mock.record(&method, &uri, &headers, Kind::Openai, None, &Bytes::new());
    if let Some(denied) = check_key(&mock, &headers) {
        return denied;
    }
    let scripted = mock.take_action(Kind::Openai, Endpoint::Models, None).unwrap_or_default();
    reply::delay(scripted.latency_ms).await;
    if let Some(status) = scripted.status {
        return scripted_error(status, &scripted, "");
    }
    let data: Vec<Value> = mock
        .0
        .options
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "mock-upstream"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

fn check_key(mock: &Mock, headers: &HeaderMap) -> Option<Response> {
    let expected = mock.key()?;
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(expected) {
        return None;
    }
    let message = match given {
        Some(_) => {
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
        }
        None => {
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        }
    };
    Some(error(401, message, "invalid_request_error", Some("invalid_api_key")))
}

fn prompt_chars(request: &Value) -> usize {
    request["messages"]
        .as_array()
        .map_or(0, |messages| messages.iter().filter_map(|m| m["content"].as_str()).map(|t| t.chars().count()).sum())
}

fn scripted_error(status: u16, action: &Action, model: &str) -> Response {
    match status {
        429 => {
            let secs = action.retry_after_secs();
            let window = match action.quota.unwrap_or_default() {
                Quota::PerDay => "requests per day (RPD): Limit 1000, Used 1000",
                Quota::PerMinute => "requests per minute (RPM): Limit 30, Used 30",
            };
            let message = format!(
                "Rate limit reached for model `{model}` on {window}, Requested 1. Please try again in {secs}s."
            );
            let mut response = error(429, &message, "rate_limit_exceeded", Some("rate_limit_exceeded"));
            if let Ok(value) = secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        500 => {
            error(500, "The server had an error while processing your request. Sorry about that!", "server_error", None)
        }
        503 => error(503, "The server is overloaded or not ready yet.", "server_error", Some("service_unavailable")),
        400 => error(400, "Invalid request.", "invalid_request_error", None),
        404 => error(
            404,
            &format!("The model `{model}` does not exist."),
            "invalid_request_error",
            Some("model_not_found"),
        ),
        _ => error(status, "Scripted error.", "server_error", None),
    }
}

/// OpenAI's error envelope: `{"error": {message, type, param, code}}`.
fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, axum::Json(body)).into_response()
}
