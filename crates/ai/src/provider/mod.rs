//! The closed set of engines: one module per wire format, and the one place that dispatches to them.

pub mod client;
pub mod gemini;
pub mod local;
pub mod local_engine;
pub mod openai;

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use serde_json::Value;

use crate::config::{ProviderKind, ResolvedProvider};
use crate::error::{ProviderError, QuotaScope};
use crate::request::{ChatRequest, ChatResponse};
use crate::stream::DeltaStream;

/// Largest upstream body we read into memory; a response beyond it is treated as malformed.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Makes rustls's `ring` provider the process default (idempotent). The workspace builds reqwest
/// without aws-lc-rs, which would add about 3 MB to the binary; every process that makes HTTPS
/// clients calls this first.
pub fn install_tls_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What the HTTP client adds to a request's head at sending that the built request does not show
/// yet: `host`, `user-agent`, `accept`, `accept-encoding`, `content-length` (about this much together).
const HEAD_ALLOWANCE: u64 = 120;

/// The bytes a request puts on the wire, estimated before it is sent, for the hub's egress count:
/// the request line, the headers it carries, an allowance for the ones the client adds
/// ([`HEAD_ALLOWANCE`]), and the body when it is in memory (every request the hub makes has one in
/// memory). HTTP/2 header compression would send less; TLS records and handshakes are not counted.
pub fn request_wire_bytes(req: &reqwest::Request) -> u64 {
    let url = req.url();
    let target = url.path().len() + url.query().map_or(0, |q| q.len() + 1);
    // "METHOD target HTTP/1.1\r\n", each "name: value\r\n", the blank line.
    let line = req.method().as_str().len() + 1 + target + 11;
    let headers: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    let host = url.host_str().map_or(0, str::len);
    let body = req.body().and_then(reqwest::Body::as_bytes).map_or(0, <[u8]>::len);
    (line + headers + host + 2 + body) as u64 + HEAD_ALLOWANCE
}

/// Sends `rb`, adding its bytes ([`request_wire_bytes`]) to `sent` unless no connection was made
/// (a refused connection sent nothing; any later failure may have sent the request).
pub async fn send_counted(rb: reqwest::RequestBuilder, sent: &Counter) -> Result<reqwest::Response, reqwest::Error> {
    let (client, req) = rb.build_split();
    let req = req?;
    let n = request_wire_bytes(&req);
    let res = client.execute(req).await;
    if !matches!(&res, Err(e) if e.is_connect()) {
        sent.inc_by(n);
    }
    res
}

/// One engine. Dispatch happens only here, so adding a wire format is one variant and one module.
pub enum Provider {
    Gemini(gemini::Gemini),
    OpenAi(openai::OpenAi),
    Local(local::Local),
}

impl Provider {
    /// Builds a remote provider from its resolved configuration.
    /// `sent` counts the bytes of its requests (the hub's `outbound:ai` egress).
    pub fn remote(cfg: &ResolvedProvider, client: client::HttpClient, sent: Counter) -> Self {
        match cfg.kind {
            ProviderKind::Gemini => Self::Gemini(gemini::Gemini::new(cfg, client, sent)),
            ProviderKind::Openai => Self::OpenAi(openai::OpenAi::new(cfg, client, sent)),
        }
    }

    pub async fn complete(&self, req: &ChatRequest, model: &str) -> Result<ChatResponse, ProviderError> {
        match self {
            Self::Gemini(p) => p.complete(req, model).await,
            Self::OpenAi(p) => p.complete(req, model).await,
            Self::Local(p) => Ok(p.complete(req).await),
        }
    }

    /// Opens a stream: `Ok` once the upstream accepted the request (status 200); later faults
    /// arrive as stream items.
    pub async fn stream(&self, req: &ChatRequest, model: &str) -> Result<DeltaStream, ProviderError> {
        match self {
            Self::Gemini(p) => p.stream(req, model).await,
            Self::OpenAi(p) => p.stream(req, model).await,
            Self::Local(p) => Ok(p.stream(req).await),
        }
    }

    /// A check that spends no generation quota.
    pub async fn health(&self, model: &str) -> Result<(), ProviderError> {
        match self {
            Self::Gemini(p) => p.health(model).await,
            Self::OpenAi(p) => p.health().await,
            Self::Local(_) => Ok(()),
        }
    }
}

/// Maps a reqwest failure to a provider error without leaking URLs (they may hold a `?key=`).
pub(crate) fn transport(e: reqwest::Error) -> ProviderError {
    let e = e.without_url();
    if e.is_timeout() { ProviderError::Timeout } else { ProviderError::Transport(e.to_string()) }
}

/// Reads a body up to [`MAX_BODY`].
pub(crate) async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if buf.len() + chunk.len() > MAX_BODY {
            return Err(ProviderError::Malformed("response too large".into()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Reads a success body as JSON.
pub(crate) async fn read_json(resp: reqwest::Response) -> Result<Value, ProviderError> {
    let body = read_body(resp).await?;
    serde_json::from_slice(&body).map_err(|e| ProviderError::Malformed(format!("invalid JSON: {e}")))
}

/// Turns a non-success response into an error, reading what both formats say about quotas:
/// Google's `details[]` (`QuotaFailure` ids, `RetryInfo.retryDelay`) and the `Retry-After` header.
pub(crate) async fn error_from(resp: reqwest::Response) -> ProviderError {
    let status = resp.status().as_u16();
    let header_delay = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: Value = match read_body(resp).await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let err = body.get("error").or_else(|| body.get(0).and_then(|v| v.get("error")));
    let message: String =
        err.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
    if status == 429 {
        let (scope, delay) = err.map(gemini::parse_quota_details).unwrap_or((QuotaScope::Unknown, None));
        return ProviderError::RateLimited { scope, retry_after: delay.or(header_delay) };
    }
    ProviderError::Status { status, message, retry_after: header_delay }
}

/// Joins a base URL and a path without doubling slashes.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}
