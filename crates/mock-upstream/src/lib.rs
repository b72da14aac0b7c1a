//! A loopback mock of the upstreams the gateway talks to (Gemini, OpenAI-compatible chat completions,
//! webhook receivers), scriptable per test so faults (quota 429s, 5xx, malformed bodies, cut streams,
//! latency, tool calls) can be produced on demand without the internet.
//!
//! The caller binds (port 0 in tests) and hands the listener to [`serve`]; [`spawn`] does both for
//! in-process tests. Control endpoints: `POST /_script`, `POST /_reset`, `GET`/`DELETE /_requests`.

mod gemini;
mod openai;
mod reply;
pub mod script;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use script::{Action, Endpoint, Kind, Rule, ScriptBody};

/// Recorded requests kept at most; older ones are dropped so a long test run stays bounded.
const MAX_RECORDED: usize = 1000;
/// Largest request body accepted (the gateway's prompts are far smaller).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// How the mock behaves beyond its script.
#[derive(Debug, Clone)]
pub struct Options {
    /// When set, requests must carry this key (`x-goog-api-key` / `?key=` for Gemini,
    /// `Authorization: Bearer` for OpenAI).
    pub key: Option<String>,
    /// Model ids listed by `GET /v1/models`.
    pub models: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options { key: None, models: vec!["mock-model".to_owned(), "llama-3.3-70b-versatile".to_owned()] }
    }
}

impl Options {
    /// Defaults, with the key from `MOCK_KEY` when that variable is set and not empty.
    pub fn from_env() -> Self {
        let key = std::env::var("MOCK_KEY").ok().filter(|k| !k.is_empty());
        Options { key, ..Options::default() }
    }
}

/// One request as the mock saw it, for tests to assert on.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub seq: u64,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub kind: Kind,
    pub model: Option<String>,
    /// Headers worth asserting on (auth, content type, client identification, `x-*`), names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON; a string when it is not JSON; null when empty.
    pub body: Value,
}

struct Shared {
    options: Options,
    rules: Mutex<Vec<Rule>>,
    requests: Mutex<VecDeque<Recorded>>,
    seq: AtomicU64,
}

/// The state every handler receives.
#[derive(Clone)]
struct Mock(Arc<Shared>);

impl Mock {
    fn next_seq(&self) -> u64 {
        self.0.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, kind: Kind, model: Option<&str>, body: &Bytes) {
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
        };
        let entry = Recorded {
            seq: self.next_seq(),
            method: method.as_str().to_owned(),
            path: uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
            kind,
            model: model.map(str::to_owned),
            headers: recorded_headers(headers),
            body,
        };
        let mut requests = self.0.requests.lock().unwrap_or_else(PoisonError::into_inner);
        if requests.len() >= MAX_RECORDED {
            requests.pop_front();
        }
        requests.push_back(entry);
    }

    fn take_action(&self, kind: Kind, endpoint: Endpoint, model: Option<&str>) -> Option<Action> {
        let mut rules = self.0.rules.lock().unwrap_or_else(PoisonError::into_inner);
        script::take(&mut rules, kind, endpoint, model)
    }

    fn key(&self) -> Option<&str> {
        self.0.options.key.as_deref()
    }
}

/// Headers that say nothing a test would check (transport details) are left out.
fn recorded_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    const SKIP: [&str; 5] = ["host", "content-length", "connection", "accept-encoding", "transfer-encoding"];
    headers
        .iter()
        .filter(|(name, _)| !SKIP.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
}

/// The mock's routes, with its own fresh state.
pub fn router(options: Options) -> Router {
    let mock = Mock(Arc::new(Shared {
        options,
        rules: Mutex::new(Vec::new()),
        requests: Mutex::new(VecDeque::new()),
        seq: AtomicU64::new(0),
    }));
    Router::new()
        .route("/_script", post(install_script))
        .route("/_reset", post(reset))
        .route("/_requests", get(list_requests).delete(clear_requests))
        .route("/v1beta/models/{model_action}", get(gemini::get_model).post(gemini::generate))
        .route("/v1/chat/completions", post(openai::chat))
        .route("/v1/models", get(openai::models))
        // Gemini's OpenAI-compatible base, so a provider configured against it can be tested too.
        .route("/v1beta/openai/chat/completions", post(openai::chat))
        .route("/v1beta/openai/models", get(openai::models))
        .fallback(webhook)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(mock)
}

/// Serves until the listener fails; the caller binds so tests can use port 0.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    serve_with(listener, Options::from_env()).await
}

pub async fn serve_with(listener: TcpListener, options: Options) -> std::io::Result<()> {
    axum::serve(listener, router(options)).await
}

/// A mock running in this process; stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `http://127.0.0.1:PORT`, the base URL for every API the mock speaks.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds 127.0.0.1:0 and serves in a background task.
pub async fn spawn(options: Options) -> std::io::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(error) = serve_with(listener, options).await {
            tracing::warn!(%error, "mock upstream stopped");
        }
    });
    Ok(Running { addr, task })
}

async fn install_script(State(mock): State<Mock>, body: Bytes) -> Response {
    match serde_json::from_slice::<ScriptBody>(&body) {
        Ok(script) => {
            let mut rules = mock.0.rules.lock().unwrap_or_else(PoisonError::into_inner);
            rules.extend(script.rules);
            axum::Json(json!({"ok": true, "rules": rules.len()})).into_response()
        }
        Err(error) => {
            (StatusCode::BAD_REQUEST, axum::Json(json!({"ok": false, "error": error.to_string()}))).into_response()
        }
    }
}

async fn reset(State(mock): State<Mock>) -> Response {
    mock.0.rules.lock().unwrap_or_else(PoisonError::into_inner).clear();
    axum::Json(json!({"ok": true})).into_response()
}

async fn list_requests(State(mock): State<Mock>) -> Response {
    let requests = mock.0.requests.lock().unwrap_or_else(PoisonError::into_inner);
    axum::Json(json!({"requests": requests.iter().collect::<Vec<_>>()})).into_response()
}

async fn clear_requests(State(mock): State<Mock>) -> Response {
    mock.0.requests.lock().unwrap_or_else(PoisonError::into_inner).clear();
    axum::Json(json!({"ok": true})).into_response()
}

/// Webhook receivers (Slack, Discord, Telegram, ntfy, generic): record and answer 200, or a scripted status.
async fn webhook(State(mock): State<Mock>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    mock.record(&parts.method, &parts.uri, &parts.headers, Kind::Webhook, None, &body);
    let action = mock.take_action(Kind::Webhook, Endpoint::Generate, None).unwrap_or_default();
    if let Some(ms) = action.latency_ms {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    match action.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        Some(status) if status == StatusCode::TOO_MANY_REQUESTS => {
            let secs = action.retry_after_secs();
            // Discord's shape: `retry_after` in the body; `Retry-After` for everyone else.
            let body = json!({"message": "You are being rate limited.", "retry_after": secs, "global": false});
            (status, [("retry-after", secs.to_string())], axum::Json(body)).into_response()
        }
        Some(status) if !status.is_success() => {
            (status, axum::Json(json!({"ok": false, "error": "scripted failure"}))).into_response()
        }
        _ => axum::Json(json!({"ok": true})).into_response(),
    }
}
