//! Loopback mock upstreams speaking the Gemini and OpenAI wire formats, scriptable per test.
// Test helpers: a failing unwrap is a failing test, as in the tests themselves.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ai::{AiConfig, LocalBackend, LocalMeta, LocalReply, ProviderConfig, ProviderKind, ThinkingStep};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

pub const GOOGLE_KEY: &str = "test-google-key";
pub const GROQ_KEY: &str = "test-groq-key";

/// What the mock answers to one generation request.
#[derive(Clone)]
pub enum Reply {
    Text(String),
    Tool {
        name: String,
        args: Value,
    },
    Status(u16),
    /// Google's per-minute 429 with `RetryInfo` (seconds).
    PerMinute(u64),
    /// Google's per-day 429.
    PerDay,
    /// An OpenAI-style 429 with only a `Retry-After` header.
    RetryAfter(u64),
    /// 200 with a body that is not JSON.
    Malformed,
    /// Starts the answer, then the connection breaks.
    Cut,
    /// Starts the answer, and breaks the connection once the test adds a permit (so the client
    /// surely received the start first).
    CutWhen(Arc<Semaphore>),
    /// 200 stream with no events at all, closed cleanly.
    EmptyStream,
    Delay(Duration, Box<Reply>),
    /// Waits for a permit before answering (lets a test hold a call open).
    Gated(Arc<Semaphore>, Box<Reply>),
}

#[derive(Clone, Copy, PartialEq)]
pub enum Wire {
    Gemini,
    OpenAi,
}

struct Inner {
    wire: Wire,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    calls: AtomicUsize,
    arrived: Notify,
    bodies: Mutex<Vec<Value>>,
    keys: Mutex<Vec<String>>,
}

#[derive(Clone)]
pub struct Mock {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Mock {
    pub async fn start(wire: Wire) -> Self {
        let inner = Arc::new(Inner {
            wire,
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Reply::Text("upstream answer".into())),
            calls: AtomicUsize::new(0),
            arrived: Notify::new(),
            bodies: Mutex::new(Vec::new()),
            keys: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/v1beta/models/{spec}", post(gemini).get(describe))
            .route("/chat/completions", post(openai))
            .route("/models", get(|| async { axum::Json(json!({"object": "list", "data": []})) }))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Answers the next calls with these replies, in order, then the default.
    pub fn push(&self, r: Reply) {
        self.inner.script.lock().unwrap().push_back(r);
    }
    pub fn set_default(&self, r: Reply) {
        *self.inner.default.lock().unwrap() = r;
    }
    /// Generation calls received.
    pub fn calls(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }
    /// Request bodies received, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.inner.bodies.lock().unwrap().clone()
    }
    pub fn keys(&self) -> Vec<String> {
        self.inner.keys.lock().unwrap().clone()
    }
    /// Waits (without sleeping) until at least `n` calls arrived.
    pub async fn wait_calls(&self, n: usize) {
        loop {
            let notified = self.inner.arrived.notified();
            if self.calls() >= n {
                return;
            }
            notified.await;
        }
    }
}

async fn describe(Path(spec): Path<String>) -> impl IntoResponse {
    axum::Json(json!({"name": format!("models/{spec}")}))
}

fn record(inner: &Inner, headers: &HeaderMap, body: &Bytes) -> Reply {
    let key = headers
        .get("x-goog-api-key")
        .or_else(|| headers.get("authorization"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    inner.keys.lock().unwrap().push(key);
    inner.bodies.lock().unwrap().push(serde_json::from_slice(body).unwrap_or(Value::Null));
    let reply = inner.script.lock().unwrap().pop_front().unwrap_or_else(|| inner.default.lock().unwrap().clone());
    inner.calls.fetch_add(1, Ordering::SeqCst);
    inner.arrived.notify_waiters();
    reply
}

async fn gemini(
    State(inner): State<Arc<Inner>>,
    Path(spec): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let stream = spec.ends_with(":streamGenerateContent") && q.get("alt").is_some_and(|a| a == "sse");
    let reply = record(&inner, &headers, &body);
    respond(Wire::Gemini, reply, stream).await
}

async fn openai(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let stream = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["stream"].as_bool()).unwrap_or(false);
    let reply = record(&inner, &headers, &body);
    respond(Wire::OpenAi, reply, stream).await
}

fn google_error(code: u16, status: &str, details: Value) -> Response {
    let body = json!({"error": {"code": code, "message": "scripted", "status": status, "details": details}});
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

fn sse(chunks: Vec<Value>, done: bool) -> Response {
    let mut s: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    if done {
        s.push_str("data: [DONE]\n\n");
    }
    ([("content-type", "text/event-stream")], s).into_response()
}

fn gemini_chunk(parts: Value, finish: bool) -> Value {
    let mut c = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}], "modelVersion": "mock-gemini"});
    if finish {
        c["candidates"][0]["finishReason"] = json!("STOP");
        c["usageMetadata"] = json!({"promptTokenCount": 5, "candidatesTokenCount": 7, "totalTokenCount": 12});
    }
    c
}

fn openai_message(message: Value, finish: &str) -> Value {
    json!({"id": "cmpl-1", "object": "chat.completion", "created": 1, "model": "mock-llama",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}})
}

fn openai_chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "cmpl-1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

/// A body that sends `first` and then breaks the connection (after a permit of `gate`, if any).
fn broken(first: String, gate: Option<Arc<Semaphore>>) -> Response {
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(first))]);
    let cut = futures_util::stream::once(async move {
        if let Some(g) = gate {
            let _p = g.acquire().await;
        }
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut"))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures_util::StreamExt::chain(first, cut)))
        .unwrap()
}

fn respond(
    wire: Wire,
    reply: Reply,
    stream: bool,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
    Box::pin(async move {
        match (reply, wire) {
            (Reply::Delay(d, r), _) => {
                tokio::time::sleep(d).await;
                respond(wire, *r, stream).await
            }
            (Reply::Gated(sem, r), _) => {
                let _permit = sem.acquire().await.unwrap();
                respond(wire, *r, stream).await
            }
            (Reply::Status(code), Wire::Gemini) => google_error(code, "INTERNAL", json!([])),
            (Reply::Status(code), Wire::OpenAi) => (
                StatusCode::from_u16(code).unwrap(),
                axum::Json(json!({"error": {"message": "scripted", "type": "server_error", "code": null}})),
            )
                .into_response(),
            (Reply::PerMinute(secs), _) => google_error(
                429,
                "RESOURCE_EXHAUSTED",
                json!([
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "10"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")}]),
            ),
            (Reply::PerDay, _) => google_error(
                429,
                "RESOURCE_EXHAUSTED",
                json!([
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaValue": "20"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "44s"}]),
            ),
            (Reply::RetryAfter(secs), _) => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", secs.to_string())],
                axum::Json(
                    json!({"error": {"message": "rate limit", "type": "rate_limit", "code": "rate_limit_exceeded"}}),
                ),
            )
                .into_response(),
            (Reply::Malformed, _) => ([("content-type", "application/json")], "{\"candidates\": [oops").into_response(),
            (Reply::EmptyStream, _) => sse(vec![], false),
            (Reply::Cut, Wire::Gemini) => {
                broken(format!("data: {}\n\n", gemini_chunk(json!([{"text": "partial "}]), false)), None)
            }
            (Reply::Cut, Wire::OpenAi) => broken(
                format!("data: {}\n\n", openai_chunk(json!({"role": "assistant", "content": "partial "}), None)),
                None,
            ),
            (Reply::CutWhen(gate), Wire::Gemini) => {
                broken(format!("data: {}\n\n", gemini_chunk(json!([{"text": "partial "}]), false)), Some(gate))
            }
            (Reply::CutWhen(gate), Wire::OpenAi) => broken(
                format!("data: {}\n\n", openai_chunk(json!({"role": "assistant", "content": "partial "}), None)),
                Some(gate),
            ),
            (Reply::Text(t), Wire::Gemini) if stream => {
                let (a, b) = t.split_at(t.len() / 2);
                sse(vec![gemini_chunk(json!([{"text": a}]), false), gemini_chunk(json!([{"text": b}]), true)], false)
            }
            (Reply::Text(t), Wire::Gemini) => axum::Json(gemini_chunk(json!([{"text": t}]), true)).into_response(),
            (Reply::Text(t), Wire::OpenAi) if stream => {
                let (a, b) = t.split_at(t.len() / 2);
                let mut last = openai_chunk(json!({}), Some("stop"));
                last["usage"] = json!({"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12});
                sse(
                    vec![
                        openai_chunk(json!({"role": "assistant", "content": a}), None),
                        openai_chunk(json!({"content": b}), None),
                        last,
                    ],
                    true,
                )
            }
            (Reply::Text(t), Wire::OpenAi) => {
                axum::Json(openai_message(json!({"role": "assistant", "content": t}), "stop")).into_response()
            }
            (Reply::Tool { name, args }, Wire::Gemini) => {
                let parts = json!([{"functionCall": {"name": name, "args": args}}]);
                if stream {
                    sse(vec![gemini_chunk(parts, true)], false)
                } else {
                    axum::Json(gemini_chunk(parts, true)).into_response()
                }
            }
            (Reply::Tool { name, args }, Wire::OpenAi) => {
                let call = json!({"id": "call_abc", "type": "function", "function": {"name": name, "arguments": args.to_string()}});
                if stream {
                    let a = args.to_string();
                    let (x, y) = a.split_at(a.len() / 2);
                    sse(
                        vec![
                            openai_chunk(
                                json!({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function", "function": {"name": name, "arguments": x}}]}),
                                None,
                            ),
                            openai_chunk(
                                json!({"tool_calls": [{"index": 0, "function": {"arguments": y}}]}),
                                Some("tool_calls"),
                            ),
                        ],
                        true,
                    )
                } else {
                    axum::Json(openai_message(
                        json!({"role": "assistant", "content": null, "tool_calls": [call]}),
                        "tool_calls",
                    ))
                    .into_response()
                }
            }
        }
    })
}

/// The test stand-in for the local engine.
pub struct EchoLocal;

impl LocalBackend for EchoLocal {
    fn answer<'a>(&'a self, query: &'a str, _history: &'a [String]) -> ai::BoxFuture<'a, LocalReply> {
        Box::pin(async move {
            LocalReply {
                text: format!("local answer to: {query}"),
                meta: LocalMeta {
                    intent: "general".into(),
                    confidence: 0.6,
                    lang: "en".into(),
                    thinking_steps: vec![ThinkingStep {
                        step: "parse".into(),
                        description: "understood".into(),
                        status: "completed".into(),
                        duration_ms: 0,
                    }],
                    clarify: Vec::new(),
                    window: None,
                },
            }
        })
    }
}

/// A config whose `google-ai` points at `gemini` and whose `groq` points at `openai`
/// (each only when given), chain `google-ai, groq, local`.
pub fn config(gemini: Option<&Mock>, openai: Option<&Mock>) -> (AiConfig, impl Fn(&str) -> Option<String> + use<>) {
    let mut cfg = AiConfig { chain: vec!["google-ai".into()], ..AiConfig::default() };
    // Quotas are tested where a test sets them; elsewhere they would only add noise.
    cfg.google.rpm = None;
    cfg.google.rpd = None;
    cfg.google.tpm = None;
    if let Some(o) = openai {
        cfg.providers.push(ProviderConfig {
            name: "groq".into(),
            kind: ProviderKind::Openai,
            base_url: o.url(),
            api_key_env: Some("GROQ_KEY".into()),
            models: vec!["llama-test".into(), "other-model".into()],
            rpm: None,
            rpd: None,
            tpm: None,
            timeout_ms: Some(5_000),
        });
        cfg.chain.push("groq".into());
    }
    cfg.chain.push("local".into());
    let gemini_url = gemini.map(Mock::url);
    let env = move |name: &str| match name {
        "GOOGLE_AI_API_KEY" => gemini_url.as_ref().map(|_| GOOGLE_KEY.to_string()),
        "GOOGLE_AI_BASE_URL" => gemini_url.clone(),
        "GROQ_KEY" => Some(GROQ_KEY.to_string()),
        _ => None,
    };
    (cfg, env)
}

pub fn router(cfg: &AiConfig, env: &dyn Fn(&str) -> Option<String>) -> ai::Router {
    ai::Router::with_env(cfg, env, Arc::new(EchoLocal)).unwrap()
}
