//! The Gemini API (`/v1beta/models/{model}:generateContent`, `:streamGenerateContent`, `GET` of a model)
//! in Google's own wire format, errors included.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Mock;
use crate::reply;
use crate::script::{Action, Endpoint, Kind, Quota};

/// `POST /v1beta/models/{model}:{method}`.
pub async fn generate(
    State(mock): State<Mock>,
    Path(model_action): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (model, action) = model_action.rsplit_once(':').unwrap_or((model_action.as_str(), ""));
    mock.record(&method, &uri, &headers, Kind::Gemini, Some(model), &body);
    if let Some(denied) = check_key(&mock, &headers, &query) {
        return denied;
    }
    let stream = match action {
        "generateContent" => false,
        "streamGenerateContent" => true,
        "countTokens" => return count_tokens(&body),
        _ => return error(404, &format!("Method {action} not found for model {model}."), Vec::new()),
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "Invalid JSON payload received.", Vec::new());
    };
    let scripted = mock.take_action(Kind::Gemini, Endpoint::Generate, Some(model)).unwrap_or_default();
    reply::delay(scripted.latency_ms).await;
    if let Some(status) = scripted.status {
        return scripted_error(status, &scripted, model);
    }
    let sse = query.get("alt").is_some_and(|alt| alt == "sse");
    if scripted.malformed {
        return if stream {
            reply::sse(vec!["data: {\"candidates\": [{\n\n".to_owned()], None)
        } else {
            reply::malformed_json()
        };
    }
    let prompt_tokens = reply::tokens(prompt_chars(&request));
    let id = format!("mock-{}", mock.next_seq());
    let chunks = match &scripted.tool_call {
        Some(call) => {
            let part = json!({"functionCall": {"name": call.name, "args": call.args}});
            vec![chunk(vec![part], Some(usage(prompt_tokens, 1)), model, &id)]
        }
        None => {
            let text = scripted.reply.clone().unwrap_or_else(|| reply::default_reply(model));
            let completion_tokens = reply::tokens(text.chars().count());
            if stream {
                let deltas = reply::deltas(&text);
                let last = deltas.len().saturating_sub(1);
                deltas
                    .into_iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let usage = (i == last).then(|| usage(prompt_tokens, completion_tokens));
                        chunk(vec![json!({"text": d})], usage, model, &id)
                    })
                    .collect()
            } else {
                vec![chunk(vec![json!({"text": text})], Some(usage(prompt_tokens, completion_tokens)), model, &id)]
            }
        }
    };
    if !stream {
        let whole = chunks.into_iter().next().unwrap_or(Value::Null);
        return reply::json(&whole, scripted.cut_stream_after);
    }
    if sse {
        reply::sse(chunks.iter().map(reply::data).collect(), scripted.cut_stream_after)
    } else {
        // Without `alt=sse` Google streams one JSON array, its elements arriving as they are made.
        let mut parts: Vec<String> = Vec::with_capacity(chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            let lead = if i == 0 { "[" } else { ",\r\n" };
            parts.push(format!("{lead}{c}"));
        }
        parts.push("]".to_owned());
        let mut response = reply::sse(parts, scripted.cut_stream_after);
        if let Ok(value) = "application/json".parse() {
            response.headers_mut().insert(axum::http::header::CONTENT_TYPE, value);
        }
        response
    }
}

/// `GET /v1beta/models/{model}`: a model description, the cheap health check.
pub async fn get_model(
    State(mock): State<Mock>,
    Path(model): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    mock.record(&method, &uri, &headers, Kind::Gemini, Some(&model), &Bytes::new());
    if let Some(denied) = check_key(&mock, &headers, &query) {
        return denied;
    }
    let scripted = mock.take_action(Kind::Gemini, Endpoint::Models, Some(&model)).unwrap_or_default();
    reply::delay(scripted.latency_ms).await;
    if let Some(status) = scripted.status {
        return scripted_error(status, &scripted, &model);
    }
    let name = model.trim_start_matches("models/");
    axum::Json(json!({
        "name": format!("models/{name}"),
        "version": "001",
        "displayName": name,
        "description": "A mock model served by mock-upstream.",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2.0,
        "thinking": true
    }))
    .into_response()
}

fn count_tokens(body: &Bytes) -> Response {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    axum::Json(json!({"totalTokens": reply::tokens(prompt_chars(&request))})).into_response()
}

fn check_key(mock: &Mock, headers: &HeaderMap, query: &HashMap<String, String>) -> Option<Response> {
    let expected = mock.key()?;
    let given = headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()).or(query.get("key").map(String::as_str));
    match given {
        Some(key) if key == expected => None,
        Some(_) => Some(error(403, "Permission denied: the API key is not valid for this project.", Vec::new())),
        None => Some(error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). \
             Please use API Key or other form of API consumer identity to call this API.",
            Vec::new(),
        )),
    }
}

/// One `GenerateContentResponse`; usage (and the finish reason) only on the last chunk of a stream.
fn chunk(parts: Vec<Value>, usage: Option<Value>, model: &str, id: &str) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    let mut out = json!({"candidates": [], "modelVersion": model, "responseId": id});
    if let Some(usage) = usage {
        candidate["finishReason"] = json!("STOP");
        out["usageMetadata"] = usage;
    }
    out["candidates"] = json!([candidate]);
    out
}

fn usage(prompt: u64, candidates: u64) -> Value {
    json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates, "totalTokenCount": prompt + candidates})
}

/// Characters of text in the prompt (contents and system instruction).
fn prompt_chars(request: &Value) -> usize {
    let parts_chars = |content: &Value| -> usize {
        content["parts"]
            .as_array()
            .map_or(0, |parts| parts.iter().filter_map(|p| p["text"].as_str()).map(|t| t.chars().count()).sum())
    };
    let contents: usize = request["contents"].as_array().map_or(0, |c| c.iter().map(parts_chars).sum());
    contents + parts_chars(&request["systemInstruction"])
}

fn scripted_error(status: u16, action: &Action, model: &str) -> Response {
    if status == 429 {
        return quota_error(action.quota.unwrap_or_default(), &action.retry_delay(), model);
    }
    let message = match status {
        400 => "Request contains an invalid argument.",
        403 => "Permission denied.",
        404 => "models/unknown is not found for API version v1beta, or is not supported for generateContent.",
        500 => {
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        }
        503 => "The model is overloaded. Please try again later.",
        504 => "The request timed out. Please try again.",
        _ => "Scripted error.",
    };
    error(status, message, Vec::new())
}

/// Google's 429: which quota ran out (`QuotaFailure`) and when to retry (`RetryInfo`).
fn quota_error(quota: Quota, retry_delay: &str, model: &str) -> Response {
    let (quota_id, limit) = match quota {
        Quota::PerDay => ("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "20"),
        Quota::PerMinute => ("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10"),
    };
    let metric = "generativelanguage.googleapis.com/generate_content_free_tier_requests";
    let seconds = retry_delay.trim_end_matches('s');
    let message = format!(
        "You exceeded your current quota, please check your plan and billing details. For more information on \
         this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, \
         head to: https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: {metric}, limit: {limit}, \
         model: {model}\nPlease retry in {seconds}s."
    );
    let details = vec![
        json!({
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{"description": "Learn more about Gemini API quotas",
                       "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]
        }),
        json!({
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{
                "quotaMetric": metric,
                "quotaId": quota_id,
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": limit
            }]
        }),
        json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}),
    ];
    error(429, &message, details)
}

/// Google's error envelope: `{"error": {code, message, status, details?}}`.
fn error(code: u16, message: &str, details: Vec<Value>) -> Response {
    let status_name = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    };
    let mut error = json!({"code": code, "message": message, "status": status_name});
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(json!({"error": error}))).into_response()
}
