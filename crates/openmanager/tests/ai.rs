//! End-to-end tests of the AI endpoints against the real binary, with a real Gemini/OpenAI-format
//! mock upstream on loopback: the local engine with no key, Google AI answering, fallback on 429
//! per-day and 503, the cache, streaming, the OpenAI-compatible and Google-proxy routes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_TOKEN, Server, assert_envelope};
use serde_json::{Value, json};

const UPSTREAM_KEY: &str = "real-google-key-that-must-stay-on-the-server";

async fn upstream() -> mock_upstream::Running {
    ai::install_tls_provider();
    mock_upstream::spawn(mock_upstream::Options { key: Some(UPSTREAM_KEY.into()), models: vec!["mock".into()] })
        .await
        .unwrap()
}

async fn with_google(mock: &mock_upstream::Running) -> Server {
    Server::builder().env("GOOGLE_AI_API_KEY", UPSTREAM_KEY).env("GOOGLE_AI_BASE_URL", &mock.url()).start_async().await
}

async fn ask(s: &Server, body: Value) -> reqwest::Response {
    s.client().post(s.url("/api/ai/query")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap()
}

async fn script(mock: &mock_upstream::Running, rules: Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/_script", mock.url()))
        .json(&json!({"rules": rules}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
}

async fn upstream_calls(mock: &mock_upstream::Running) -> usize {
    let v: Value = reqwest::get(format!("{}/_requests", mock.url())).await.unwrap().json().await.unwrap();
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains("generateContent"))
        .count()
}

#[tokio::test]
async fn without_a_key_the_local_engine_answers_in_the_question_language() {
    let s = Server::builder().start_async().await;
    let res = ask(&s, json!({"query": "CPU 사용률이 가장 높은 서버 3개는?"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-ai-engine"], "local");
    assert_eq!(res.headers()["x-query-intent"], "top_n");
    assert!(res.headers().contains_key("x-response-time"));
    let body: Value = res.json().await.unwrap();
    let answer = body["answer"].as_str().unwrap();
    assert!(
        answer.contains("CPU") && answer.contains('%') && answer.chars().any(|c| ('가'..='힣').contains(&c)),
        "{answer}"
    );
    assert_eq!(body["answer"], body["response"]);
    assert_eq!(body["metadata"]["intent"], "top_n");
    assert!(!body["metadata"]["thinkingSteps"].as_array().unwrap().is_empty());
    assert!(body["confidence"].as_f64().unwrap() > 0.5);

    let body: Value = ask(&s, json!({"query": "what is the status of db-master?"})).await.json().await.unwrap();
    assert!(body["answer"].as_str().unwrap().contains("db-master"), "{body}");

    let m: Value = s.get_auth("/api/metrics").send().await.unwrap().json().await.unwrap();
    assert_eq!(m["ai"]["totalQueries"], 2);

    assert_envelope(ask(&s, json!({"query": ""})).await, 422, "VALIDATION_ERROR").await;
    assert_envelope(ask(&s, json!({"query": "x".repeat(4001)})).await, 422, "VALIDATION_ERROR").await;
    assert_envelope(ask(&s, json!({"question": "hi"})).await, 422, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn google_ai_answers_and_failures_fall_back_to_local() {
    let mock = upstream().await;
    let s = with_google(&mock).await;
    let res = ask(&s, json!({"query": "Summarise my fleet"})).await;
    assert_eq!(res.headers()["x-ai-engine"], "google-ai");
    assert_eq!(res.headers()["x-fallback"], "false");
    let body: Value = res.json().await.unwrap();
    assert!(body["answer"].as_str().unwrap().contains("Mock reply"), "{body}");

    // A 503 fails over to the local engine within the deadline.
    script(&mock, json!([{"match": {"kind": "gemini"}, "times": 0, "action": {"status": 503}}])).await;
    let res = ask(&s, json!({"query": "how are my servers?", "timeoutMs": 5000})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-ai-engine"], "local");
    assert_eq!(res.headers()["x-fallback"], "true");
    let body: Value = res.json().await.unwrap();
    let attempts = body["metadata"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.first().unwrap()["engine"], "google-ai");
    assert_eq!(attempts.last().unwrap()["engine"], "local");
}

#[tokio::test]
async fn per_day_quota_exhaustion_fails_over_at_once_and_stops_calling_google() {
    let mock = upstream().await;
    let s = with_google(&mock).await;
    script(
        &mock,
        json!([{"match": {"kind": "gemini"}, "action": {"status": 429, "quota": "per_day", "retry_delay": "30s"}}]),
    )
    .await;
    let res = ask(&s, json!({"query": "how are my servers?"})).await;
    assert_eq!(res.headers()["x-ai-engine"], "local");
    let before = upstream_calls(&mock).await;
    let res = ask(&s, json!({"query": "and now?"})).await;
    assert_eq!(res.headers()["x-ai-engine"], "local");
    assert_eq!(upstream_calls(&mock).await, before, "an exhausted model is not called again today");
    let status: Value = s.get_auth("/api/ai/status").send().await.unwrap().json().await.unwrap();
    let google =
        status["data"]["engines"].as_array().unwrap().iter().find(|e| e["name"] == "google-ai").unwrap().clone();
    assert_eq!(google["quota"]["day_exhausted"], true, "{google}");
    // Prometheus shows it too, with the quota left of every configured limit.
    let prom = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(prom.contains("openmanager_ai_circuit_open{engine=\"google-ai\"} 1"), "{prom}");
    if google["quota"]["minute_requests"].is_number() {
        assert!(
            prom.contains("openmanager_ai_quota_remaining{engine=\"google-ai\",window=\"minute\",unit=\"requests\"}")
        );
    }
}

#[tokio::test]
async fn deterministic_requests_are_cached() {
    let mock = upstream().await;
    let s = with_google(&mock).await;
    let q = json!({"query": "List the busiest servers", "temperature": 0});
    let first = ask(&s, q.clone()).await;
    assert_eq!(first.headers()["x-cache-status"], "MISS");
    let second = ask(&s, q.clone()).await;
    assert_eq!(second.headers()["x-cache-status"], "HIT");
    let status: Value = s.get_auth("/api/ai/status").send().await.unwrap().json().await.unwrap();
    assert_eq!(status["cacheHitLatency"]["count"], 1, "the hit is timed: {status}");
    assert!(status["cacheHitLatency"]["p99Ms"].as_f64().unwrap() > 0.0);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["metadata"]["cacheHit"], true);
    assert_eq!(upstream_calls(&mock).await, 1);
    let random = ask(&s, json!({"query": "List the busiest servers", "temperature": 0.9})).await;
    assert_eq!(random.headers()["x-cache-status"], "BYPASS");
}

#[tokio::test]
async fn answers_stream_as_server_sent_events() {
    let s = Server::builder().start_async().await;
    let res = ask(&s, json!({"query": "how are my servers?", "stream": true})).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(res.headers()["x-ai-engine"], "local");
    let text = res.text().await.unwrap();
    let events: Vec<Value> =
        text.lines().filter_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    assert!(events.len() >= 2, "{text}");
    assert!(events[0]["delta"].is_string());
    let last = events.last().unwrap();
    assert_eq!(last["done"], true);
    let joined: String = events.iter().filter_map(|e| e["delta"].as_str()).collect();
    assert_eq!(joined, last["answer"].as_str().unwrap());
}

#[tokio::test]
async fn openai_compatible_routes() {
    let s = Server::builder().start_async().await;
    let models: Value = s.get_auth("/v1/models").send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"auto") && ids.contains(&"local"), "{ids:?}");
    let body = json!({"model": "local", "messages": [{"role": "user", "content": "top 2 servers by memory"}]});
    let res = s.client().post(s.url("/v1/chat/completions")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    // The gateway's headers are on SDK-format answers too.
    assert_eq!(res.headers()["x-ai-engine"], "local");
    assert!(res.headers().contains_key("x-cache-status") && res.headers().contains_key("x-fallback"));
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["object"], "chat.completion");
    assert!(c["choices"][0]["message"]["content"].as_str().unwrap().contains('%'), "{c}");
    let streamed = async |body: &Value| {
        let res = s.client().post(s.url("/v1/chat/completions")).bearer_auth(ADMIN_TOKEN).json(body).send().await;
        res.unwrap().text().await.unwrap()
    };
    let mut stream = body.clone();
    stream["stream"] = json!(true);
    let text = streamed(&stream).await;
    assert!(text.contains("chat.completion.chunk") && text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(!text.contains("\"usage\""), "usage only when asked: {text}");
    // More than one choice is refused, not silently answered with one.
    let mut two = body.clone();
    two["n"] = json!(2);
    let res = s.client().post(s.url("/v1/chat/completions")).bearer_auth(ADMIN_TOKEN).json(&two).send().await.unwrap();
    assert_envelope(res, 400, "BAD_REQUEST").await;
    // `stream_options.include_usage`: one more chunk, no choices, the counts; then `[DONE]`.
    stream["stream_options"] = json!({"include_usage": true});
    let text = streamed(&stream).await;
    let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{text}");
    let usage: Value = serde_json::from_str(events[events.len() - 2]).unwrap();
    assert_eq!(usage["choices"], json!([]), "{usage}");
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0, "{usage}");
    let finish: Value = serde_json::from_str(events[events.len() - 3]).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop", "{finish}");
    assert!(finish.get("usage").is_none(), "{finish}");
}

/// The gateway's answers have a compression layer of their own (a lower quality, see
/// `http::gateway_compression`) inside the one every answer passes: compressed once, never twice.
#[tokio::test]
async fn gateway_answers_are_compressed_once() {
    use std::io::Read;
    let s = Server::builder().start_async().await;
    let body = json!({"model": "local", "messages": [{"role": "user", "content": "top 5 servers by cpu"}]});
    let res = s
        .client()
        .post(s.url("/v1/chat/completions"))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept-encoding", "br")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let codings: Vec<_> = res.headers().get_all("content-encoding").iter().collect();
    assert_eq!(codings, ["br"]);
    assert!(res.headers().get_all("vary").iter().any(|v| v == "accept-encoding"));
    let compressed = res.bytes().await.unwrap();
    let mut plain = Vec::new();
    brotli::Decompressor::new(&compressed[..], 4096).read_to_end(&mut plain).unwrap();
    let c: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(c["object"], "chat.completion", "{c}");
    assert!(compressed.len() < plain.len(), "{} compressed, {} plain", compressed.len(), plain.len());
    // A client that asks for no coding gets the JSON as it is.
    let res = s.client().post(s.url("/v1/chat/completions")).bearer_auth(ADMIN_TOKEN);
    let res = res.header("accept-encoding", "identity").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-encoding").is_none());
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["object"], "chat.completion", "{c}");
}

#[tokio::test]
async fn google_proxy_speaks_gemini_and_keeps_the_real_key_inside() {
    let mock = upstream().await;
    let s = with_google(&mock).await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]});
    let res = s
        .client()
        .post(s.url("/api/ai/google/v1beta/models/gemini-2.5-flash:generateContent"))
        .header("x-goog-api-key", ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let g: Value = res.json().await.unwrap();
    assert!(g["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap().contains("Mock reply"), "{g}");
    let seen: Value = reqwest::get(format!("{}/_requests", mock.url())).await.unwrap().json().await.unwrap();
    let sent = seen["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"].as_str().unwrap().contains("generateContent"))
        .unwrap();
    assert_ne!(sent["headers"]["x-goog-api-key"], ADMIN_TOKEN, "the gateway token is not forwarded");
    // `models.list()` as the SDKs call it: the configured Gemini model, one page.
    let list: Value = s
        .client()
        .get(s.url("/api/ai/google/v1beta/models?pageSize=50"))
        .header("x-goog-api-key", ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["models"].as_array().unwrap().iter().filter_map(|m| m["name"].as_str()).collect();
    assert!(names.contains(&"models/gemini-2.5-flash"), "{list}");
    assert!(list.get("nextPageToken").is_none());
    // Without the gateway token the proxy is closed.
    let res = s
        .client()
        .post(s.url("/api/ai/google/v1beta/models/gemini-2.5-flash:generateContent"))
        .header("x-goog-api-key", UPSTREAM_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;
}
