//! The outermost layer after CORS: admits the request (rate limit, in-flight bound), gives every
//! request an `X-Request-Id`, times it, counts it (for `/api/metrics` and Prometheus), logs it
//! (debug; errors at warn/error with the id), and makes sure every error leaves as the JSON envelope
//! even when it came from a layer that only knows a status.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::error::{ErrorDetail, envelope};
use super::state::AppState;
use crate::telemetry::prometheus::method_label;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A client's id is echoed if it is short printable ASCII; otherwise one is made.
pub fn request_id(state: &AppState, req: &Request) -> HeaderValue {
    if let Some(v) = req.headers().get(&X_REQUEST_ID)
        && !v.is_empty()
        && v.len() <= 128
        && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    {
        return v.clone();
    }
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{}-{n:08x}", state.request_id_prefix))
        .unwrap_or(HeaderValue::from_static("unknown"))
}

pub async fn admission(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let id = request_id(&state, &req);
    req.headers_mut().insert(X_REQUEST_ID, id.clone());
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let uri = req.uri().clone();

    let mut res = match super::limits::admit(&state, peer, &req) {
        Ok(_permit) => match super::limits::shared_keys(&state, peer, &req) {
            None => next.run(req).await,
            Some(keys) => match super::limits::admit_shared(&state, keys).await {
                Ok(()) => next.run(req).await,
                Err(refused) => axum::response::IntoResponse::into_response(refused),
            },
        },
        Err(refused) => axum::response::IntoResponse::into_response(refused),
    };
    let status = res.status();
    if status.as_u16() >= 400 && !is_json(&res) {
        res = rewrap(res);
    }
    let elapsed = start.elapsed();
    let rid = id.to_str().unwrap_or_default();
    let ms = elapsed.as_secs_f64() * 1000.0;
    if let Some(ErrorDetail(detail)) = res.extensions_mut().remove::<ErrorDetail>() {
        tracing::error!(request_id = rid, %method, path = uri.path(), status = status.as_u16(), ms, error = detail, "request failed");
    } else if status.is_server_error() {
        tracing::warn!(request_id = rid, %method, path = uri.path(), status = status.as_u16(), ms, "request failed");
    } else {
        tracing::debug!(request_id = rid, %method, path = uri.path(), status = status.as_u16(), ms, "request");
    }
    res.headers_mut().insert(X_REQUEST_ID, id);
    // Handing over: this connection's next request should go to the successor. hyper closes the
    // connection after a response that says so, and the client knows not to reuse it, which a
    // keep-alive connection closed while idle cannot promise. Not on a WebSocket upgrade.
    if state.is_draining() && status != StatusCode::SWITCHING_PROTOCOLS {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let t = &state.telemetry;
    t.stats.record(status.as_u16(), elapsed);
    if res.headers().get("x-cache-status").is_some_and(|v| v == "HIT") {
        t.cache_hits.record(status.as_u16(), elapsed);
    }
    let template = route.as_ref().map(MatchedPath::as_str);
    t.exporter.record_http(method_label(&method), template, status.as_u16(), elapsed.as_secs_f64());
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("application/problem+json"))
}

/// Replaces a non-JSON error body (from axum or tower-http) by the envelope, keeping headers such
/// as `Allow` and `Retry-After`, but not those that described the old body (its encoding, length):
/// the envelope leaves uncompressed.
fn rewrap(res: Response) -> Response {
    let (parts, _) = res.into_parts();
    let message = match parts.status {
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed for this route".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => "request body is too large".to_string(),
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut fresh = envelope(parts.status, &message);
    for (name, value) in parts.headers.iter() {
        let describes_body = [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_ENCODING];
        if !describes_body.contains(name) {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}
