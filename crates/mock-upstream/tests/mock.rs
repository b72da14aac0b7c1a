//! The mock's wire formats and every scripted action, checked over real HTTP with reqwest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mock_upstream::{Options, Running};
use serde_json::{Value, json};

const MODEL: &str = "gemini-2.5-flash";

async fn start() -> (Running, reqwest::Client) {
    (mock_upstream::spawn(Options::default()).await.unwrap(), {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    })
}

async fn script(mock: &Running, client: &reqwest::Client, rules: Value) {
    let response = client.post(format!("{}/_script", mock.url())).json(&json!({"rules": rules})).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

fn gemini_body() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "How are my servers?"}]}]})
}

fn openai_body(stream: bool) -> Value {
    json!({"model": "mock-model", "messages": [{"role": "user", "content": "hello"}], "stream": stream,
           "stream_options": {"include_usage": true}})
}

async fn gemini(mock: &Running, client: &reqwest::Client) -> reqwest::Response {
    client
        .post(format!("{}/v1beta/models/{MODEL}:generateContent", mock.url()))
        .json(&gemini_body())
        .send()
        .await
        .unwrap()
}

async fn gemini_stream(mock: &Running, client: &reqwest::Client) -> reqwest::Response {
    client
        .post(format!("{}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", mock.url()))
        .json(&gemini_body())
        .send()
        .await
        .unwrap()
}

async fn openai(mock: &Running, client: &reqwest::Client, stream: bool) -> reqwest::Response {
    client.post(format!("{}/v1/chat/completions", mock.url())).json(&openai_body(stream)).send().await.unwrap()
}

/// The JSON payloads of an SSE body, `[DONE]` kept as a string.
fn sse_payloads(body: &str) -> Vec<Value> {
    assert!(body.ends_with("\n\n"), "events end with a blank line: {body:?}");
    body.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|event| {
            let data = event.strip_prefix("data: ").unwrap_or_else(|| panic!("not a data event: {event:?}"));
            serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn gemini_default_reply_has_usage() {
    let (mock, client) = start().await;
    let response = gemini(&mock, &client).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let candidate = &body["candidates"][0];
    assert_eq!(candidate["content"]["role"], "model");
    assert_eq!(candidate["content"]["parts"][0]["text"], format!("Mock reply from {MODEL}: all systems nominal."));
    assert_eq!(candidate["finishReason"], "STOP");
    let usage = &body["usageMetadata"];
    assert_eq!(usage["promptTokenCount"], 5);
    assert_eq!(usage["candidatesTokenCount"], 14);
    assert_eq!(usage["totalTokenCount"], 19);
    assert_eq!(body["modelVersion"], MODEL);
}

#[tokio::test]
async fn gemini_sse_stream_framing() {
    let (mock, client) = start().await;
    script(&mock, &client, json!([{"match": {"kind": "gemini"}, "action": {"reply": "one two three"}}])).await;
    let response = gemini_stream(&mock, &client).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = sse_payloads(&response.text().await.unwrap());
    assert_eq!(events.len(), 3, "one event per word, no [DONE]");
    let text: String =
        events.iter().map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(text, "one two three");
    assert!(
        events[..2]
            .iter()
            .all(|e| e["candidates"][0].get("finishReason").is_none() && e.get("usageMetadata").is_none())
    );
    assert_eq!(events[2]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(events[2]["usageMetadata"]["candidatesTokenCount"], 4);
}

#[tokio::test]
async fn gemini_stream_without_sse_is_a_json_array() {
    let (mock, client) = start().await;
    let response = client
        .post(format!("{}/v1beta/models/{MODEL}:streamGenerateContent", mock.url()))
        .json(&gemini_body())
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 7, "one element per word");
}

#[tokio::test]
async fn gemini_quota_errors_are_googles_exact_shape() {
    let (mock, client) = start().await;
    script(
        &mock,
        &client,
        json!([
            {"match": {"kind": "gemini"}, "action": {"status": 429, "quota": "per_day", "retry_delay": "28s"}},
            {"match": {"kind": "gemini", "model": MODEL}, "action": {"status": 429, "quota": "per_minute", "retry_delay": "7s"}},
        ]),
    )
    .await;
    for (quota_id, delay) in [
        ("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "28s"),
        ("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "7s"),
    ] {
        let response = gemini(&mock, &client).await;
        assert_eq!(response.status(), 429);
        let body: Value = response.json().await.unwrap();
        let error = &body["error"];
        assert_eq!(error["code"], 429);
        assert_eq!(error["status"], "RESOURCE_EXHAUSTED");
        assert!(error["message"].as_str().unwrap().starts_with("You exceeded your current quota"));
        let details = error["details"].as_array().unwrap();
        let failure = details.iter().find(|d| d["@type"] == "type.googleapis.com/google.rpc.QuotaFailure").unwrap();
        assert_eq!(failure["violations"][0]["quotaId"], quota_id);
        assert_eq!(failure["violations"][0]["quotaDimensions"]["model"], MODEL);
        let retry = details.iter().find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo").unwrap();
        assert_eq!(retry["retryDelay"], delay);
    }
    // Both rules used up: back to the default reply.
    assert_eq!(gemini(&mock, &client).await.status(), 200);
}

#[tokio::test]
async fn gemini_server_errors_and_model_get() {
    let (mock, client) = start().await;
    script(
        &mock,
        &client,
        json!([
            {"match": {"kind": "gemini"}, "action": {"status": 500}},
            {"match": {"kind": "gemini"}, "action": {"status": 503}},
            {"match": {"kind": "gemini", "endpoint": "models"}, "action": {"status": 503}},
        ]),
    )
    .await;
    let model_url = format!("{}/v1beta/models/{MODEL}", mock.url());
    // The model GET only takes `endpoint: models` rules.
    let first: Value = client.get(&model_url).send().await.unwrap().json().await.unwrap();
    assert!(first.get("error").is_some());
    let described: Value = client.get(&model_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(described["name"], format!("models/{MODEL}"));
    for (code, status) in [(500, "INTERNAL"), (503, "UNAVAILABLE")] {
        let response = gemini(&mock, &client).await;
        assert_eq!(response.status().as_u16(), code);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
        assert_eq!(body["error"]["status"], status);
    }
}

#[tokio::test]
async fn gemini_tool_call_then_normal_reply() {
    let (mock, client) = start().await;
    let args = json!({"serverId": "web-01", "metric": "cpu"});
    script(
        &mock,
        &client,
        json!([{"match": {"kind": "gemini"}, "action": {"tool_call": {"name": "get_metrics", "args": args}}}]),
    )
    .await;
    let body: Value = gemini(&mock, &client).await.json().await.unwrap();
    let call = &body["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(call["name"], "get_metrics");
    assert_eq!(call["args"], args);
    let body: Value = gemini(&mock, &client).await.json().await.unwrap();
    assert!(body["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

#[tokio::test]
async fn gemini_key_check() {
    let mock = mock_upstream::spawn(Options { key: Some("k1".into()), ..Options::default() }).await.unwrap();
    let client = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    };
    let url = format!("{}/v1beta/models/{MODEL}:generateContent", mock.url());
    let denied = client.post(&url).json(&gemini_body()).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    let wrong = client.post(&url).header("x-goog-api-key", "k2").json(&gemini_body()).send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    let ok = client.post(&url).header("x-goog-api-key", "k1").json(&gemini_body()).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let by_query = client.post(format!("{url}?key=k1")).json(&gemini_body()).send().await.unwrap();
    assert_eq!(by_query.status(), 200);
    let openai =
        client.post(format!("{}/v1/chat/completions", mock.url())).json(&openai_body(false)).send().await.unwrap();
    assert_eq!(openai.status(), 401);
    let body: Value = openai.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let openai = client
        .post(format!("{}/v1/chat/completions", mock.url()))
        .bearer_auth("k1")
        .json(&openai_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(openai.status(), 200);
}

#[tokio::test]
async fn openai_json_reply() {
    let (mock, client) = start().await;
    let body: Value = openai(&mock, &client, false).await.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "mock-model");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["message"]["content"], "Mock reply from mock-model: all systems nominal.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 2);
    assert_eq!(body["usage"]["total_tokens"], 14);
}

#[tokio::test]
async fn openai_sse_ends_with_done() {
    let (mock, client) = start().await;
    script(&mock, &client, json!([{"match": {"kind": "openai"}, "action": {"reply": "hi there"}}])).await;
    let response = openai(&mock, &client, true).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = sse_payloads(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks = &events[..events.len() - 1];
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "hi there");
    assert_eq!(chunks[chunks.len() - 2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[chunks.len() - 1]["usage"]["completion_tokens"], 2);
}

#[tokio::test]
async fn openai_tool_call_json_and_stream() {
    let (mock, client) = start().await;
    let rule = json!({"match": {"kind": "openai"}, "times": 2, "action": {"tool_call": {"name": "list_servers", "args": {"status": "critical"}}}});
    script(&mock, &client, json!([rule])).await;
    let body: Value = openai(&mock, &client, false).await.json().await.unwrap();
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "list_servers");
    let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"status": "critical"}));
    let events = sse_payloads(&openai(&mock, &client, true).await.text().await.unwrap());
    let streamed = events.iter().find_map(|e| e["choices"][0]["delta"]["tool_calls"][0].as_object().cloned()).unwrap();
    assert_eq!(streamed["function"]["name"], "list_servers");
    assert_eq!(streamed["index"], 0);
}

#[tokio::test]
async fn openai_errors_have_the_right_bodies() {
    let (mock, client) = start().await;
    script(
        &mock,
        &client,
        json!([
            {"match": {"kind": "openai", "model": "mock-model"}, "action": {"status": 429, "quota": "per_minute", "retry_delay": "28s"}},
            {"match": {"kind": "openai"}, "action": {"status": 500}},
            {"match": {"kind": "openai"}, "action": {"status": 503}},
        ]),
    )
    .await;
    let limited = openai(&mock, &client, false).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "28");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_exceeded");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(body["error"]["message"].as_str().unwrap().contains("requests per minute"));
    for (code, expected) in [(500, Value::Null), (503, json!("service_unavailable"))] {
        let response = openai(&mock, &client, true).await;
        assert_eq!(response.status().as_u16(), code);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "server_error");
        assert_eq!(body["error"]["code"], expected);
    }
}

#[tokio::test]
async fn malformed_bodies_are_not_json() {
    let (mock, client) = start().await;
    script(
        &mock,
        &client,
        json!([
            {"match": {"kind": "gemini"}, "action": {"malformed": true}},
            {"match": {"kind": "openai"}, "action": {"malformed": true}},
        ]),
    )
    .await;
    let response = gemini(&mock, &client).await;
    assert_eq!(response.status(), 200);
    assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err());
    let response = openai(&mock, &client, false).await;
    assert_eq!(response.status(), 200);
    assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err());
}

#[tokio::test]
async fn cut_streams_drop_the_connection_after_n_events() {
    let (mock, client) = start().await;
    script(
        &mock,
        &client,
        json!([
            {"match": {"kind": "gemini"}, "action": {"cut_stream_after": 2}},
            {"match": {"kind": "openai"}, "action": {"cut_stream_after": 2}},
        ]),
    )
    .await;
    for response in [gemini_stream(&mock, &client).await, openai(&mock, &client, true).await] {
        assert_eq!(response.status(), 200);
        let mut received = Vec::new();
        let mut stream = response.bytes_stream();
        let mut failed = false;
        while let Some(item) = futures_util::StreamExt::next(&mut stream).await {
            match item {
                Ok(bytes) => received.extend_from_slice(&bytes),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "the body must end in an error, not a clean end");
        let text = String::from_utf8(received).unwrap();
        assert_eq!(sse_payloads(&text).len(), 2, "{text}");
    }
}

#[tokio::test]
async fn latency_delays_the_reply() {
    let (mock, client) = start().await;
    script(&mock, &client, json!([{"match": {"kind": "openai"}, "action": {"latency_ms": 200, "reply": "slow"}}]))
        .await;
    let started = std::time::Instant::now();
    let body: Value = openai(&mock, &client, false).await.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "slow");
    // A lower bound only: the scripted sleep must have happened; no upper bound, so no flakiness.
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
}

#[tokio::test]
async fn requests_are_recorded_and_cleared_and_reset_drops_rules() {
    let (mock, client) = start().await;
    let _ = client
        .post(format!("{}/v1beta/models/{MODEL}:generateContent", mock.url()))
        .header("x-goog-api-key", "abc")
        .json(&gemini_body())
        .send()
        .await
        .unwrap();
    let _ = openai(&mock, &client, false).await;
    let recorded: Value = client.get(format!("{}/_requests", mock.url())).send().await.unwrap().json().await.unwrap();
    let requests = recorded["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], format!("/v1beta/models/{MODEL}:generateContent"));
    assert_eq!(requests[0]["kind"], "gemini");
    assert_eq!(requests[0]["model"], MODEL);
    assert_eq!(requests[0]["headers"]["x-goog-api-key"], "abc");
    assert_eq!(requests[0]["body"], gemini_body());
    assert_eq!(requests[1]["body"]["model"], "mock-model");
    client.delete(format!("{}/_requests", mock.url())).send().await.unwrap();
    let recorded: Value = client.get(format!("{}/_requests", mock.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(recorded["requests"].as_array().unwrap().len(), 0);

    script(&mock, &client, json!([{"match": {"kind": "openai"}, "times": 0, "action": {"status": 500}}])).await;
    assert_eq!(openai(&mock, &client, false).await.status(), 500);
    assert_eq!(openai(&mock, &client, false).await.status(), 500);
    client.post(format!("{}/_reset", mock.url())).send().await.unwrap();
    assert_eq!(openai(&mock, &client, false).await.status(), 200);
}

#[tokio::test]
async fn bad_scripts_are_rejected_and_models_listed() {
    let (mock, client) = start().await;
    let response = client
        .post(format!("{}/_script", mock.url()))
        .json(&json!({"rules": [{"match": {"kind": "nope"}, "action": {}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let models: Value = client.get(format!("{}/v1/models", mock.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], "mock-model");
}

#[tokio::test]
async fn webhooks_are_recorded_and_scriptable() {
    let (mock, client) = start().await;
    script(&mock, &client, json!([{"match": {"kind": "webhook"}, "action": {"status": 429, "retry_delay": "3s"}}]))
        .await;
    let limited =
        client.post(format!("{}/discord/hook", mock.url())).json(&json!({"content": "x"})).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "3");
    let ok = client.post(format!("{}/slack", mock.url())).json(&json!({"text": "y"})).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let recorded: Value = client.get(format!("{}/_requests", mock.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(recorded["requests"][1]["body"]["text"], "y");
    assert_eq!(recorded["requests"][1]["kind"], "webhook");
}
