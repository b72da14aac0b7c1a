//! The MCP server (Model Context Protocol) at `/api/mcp` and `/mcp`, on the official SDK's
//! Streamable HTTP transport: sessions for the 2025 revisions, stateless 2026-07-28. The routes sit
//! behind the same token auth as the rest of the API; the SDK checks `Origin` against
//! `ALLOWED_ORIGINS` (a present, unlisted one is 403) and `Host` against loopback plus
//! `mcp.allowed_hosts`. Sessions are bounded in number and closed when idle.

pub mod front;
pub mod handler;
pub mod query;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::tokens::Scope;

/// Counts for `GET /api/mcp/status`.
#[derive(Debug, Default)]
pub struct McpStats {
    calls: AtomicU64,
    errors: AtomicU64,
    last_used_ms: AtomicI64,
}

impl McpStats {
    pub fn record_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.last_used_ms.store(crate::clock::now_millis(), Ordering::Relaxed);
    }
    pub fn record_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
    pub fn last_used_ms(&self) -> Option<i64> {
        Some(self.last_used_ms.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }
}

/// What the MCP routes share.
pub struct Mcp {
    pub stats: Arc<McpStats>,
    pub sessions: Arc<LocalSessionManager>,
    pub max_sessions: usize,
}

impl Mcp {
    pub fn new(config: &crate::config::Config) -> Self {
        let mut sessions = LocalSessionManager::default();
        sessions.session_config.keep_alive = Some(Duration::from_secs(config.mcp.session_idle_seconds));
        Self {
            stats: Arc::new(McpStats::default()),
            sessions: Arc::new(sessions),
            max_sessions: config.mcp.max_sessions,
        }
    }

    pub async fn session_count(&self) -> usize {
        self.sessions.sessions.read().await.len()
    }
}

/// `/api/mcp` and `/mcp` (the SDK's Streamable HTTP service, bounded sessions), the older query
/// form and the status; all need a `read` token. Streams, so no request timeout.
pub fn router(state: &AppState) -> axum::Router<AppState> {
    use axum::middleware::from_fn_with_state;
    use axum::routing::{get, post};
    let mcp = Arc::new(Mcp::new(&state.config));
    let auth = from_fn_with_state((state.clone(), Scope::Read), crate::http::authorize::authorize);
    let mut r = axum::Router::new()
        .route("/mcp/query", post(query::query))
        .route("/api/mcp/query", post(query::query))
        .route("/api/mcp/status", get(query::status));
    if state.config.mcp.enabled {
        let service = service(state, &mcp);
        let front = from_fn_with_state(state.config.server.max_body_bytes, front::front);
        let sdk = axum::Router::new()
            .route_service("/api/mcp", service.clone())
            .route_service("/mcp", service)
            .route_layer(front);
        r = r.merge(sdk);
    }
    r.route_layer(from_fn_with_state(mcp.clone(), bound_sessions)).route_layer(auth).layer(axum::Extension(mcp))
}

/// The Streamable HTTP service for the routes.
pub fn service(state: &AppState, mcp: &Mcp) -> StreamableHttpService<handler::Handler, LocalSessionManager> {
    let (tools, stats) = (state.tools.clone(), mcp.stats.clone());
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(state.config.mcp.allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(state.config.server.allowed_origins.iter().cloned())
        .enforce_origin_validation()
        .with_max_request_body_bytes(state.config.server.max_body_bytes)
        .with_cancellation_token(state.supervisor.token().child_token());
    StreamableHttpService::new(
        move || Ok(handler::Handler { tools: tools.clone(), stats: stats.clone() }),
        mcp.sessions.clone(),
        config,
    )
}

/// Refuses a new session (a POST without `Mcp-Session-Id` that is not a stateless 2026-07-28
/// request) when the table is full, so a client that never closes its sessions cannot grow memory
/// without bound.
pub async fn bound_sessions(State(mcp): State<Arc<Mcp>>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let stateless = h.get("mcp-protocol-version").and_then(|v| v.to_str().ok()).is_some_and(|v| v >= "2026-07-28");
    let opening = req.method() == axum::http::Method::POST && !h.contains_key("mcp-session-id") && !stateless;
    if opening && mcp.session_count().await >= mcp.max_sessions {
        return ApiError::Unavailable {
            message: format!("too many MCP sessions (at most {}); close one or retry later", mcp.max_sessions),
            retry_after: Some(30),
        }
        .into_response();
    }
    next.run(req).await
}
