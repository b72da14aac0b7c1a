//! `GET /ws`: the live stream of API.md. Authenticates before the upgrade (header, `?token=`, or the
//! `bearer.<token>` subprotocol, since browsers cannot set headers) and bounds connections and
//! message sizes; the hub and sessions do the rest. The upgrade is done here rather than by axum's
//! extractor so that `permessage-deflate` can be negotiated (see `deflate.rs`).

pub mod deflate;
pub mod hub;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::authorize::check;
use super::error::ApiError;
use super::limits::presented_token;
use crate::http::state::AppState;
use crate::tokens::Scope;

/// Largest message a client may send (subscriptions are small).
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Unsent bytes a connection may hold when its client reads slowly, at least; past it the send
/// fails and the connection is dropped. A connection's bound is raised to the largest message the
/// bytes-in-flight budget admits (`server.ws_max_unsent_bytes`): tungstenite buffers each frame
/// whole, so a bound under one message (a full `server_update` of thousands of servers, sent to a
/// client without `permessage-deflate`, is over a megabyte) reset every such client. Memory stays
/// bounded by that budget, which every send reserves first.
const MIN_WRITE_BUFFER: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    // CONNECT too: over HTTPS, browsers open WebSockets on the HTTP/2 connection they already have
    // (RFC 8441 extended CONNECT, which the workers announce), not with an HTTP/1.1 GET.
    Router::new().route("/ws", get(upgrade).connect(upgrade))
}

#[derive(Deserialize)]
struct WsQuery {
    token: Option<String>,
    /// The topics to start with, comma-separated (may be empty); absent: every topic but `live`, as
    /// clients that never subscribe always had.
    topics: Option<String>,
}

/// The `bearer.<token>` value among the offered subprotocols.
fn subprotocol_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix("bearer.").map(str::to_owned))
}

/// What a valid upgrade request carries.
struct Handshake {
    /// `Sec-WebSocket-Key` of an HTTP/1.1 upgrade; none for an HTTP/2 extended CONNECT.
    key: Option<HeaderValue>,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

fn contains_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The checks axum's extractor makes: HTTP/1.1 `GET` with `Upgrade: websocket`, or HTTP/2 `CONNECT`
/// with the `websocket` protocol (RFC 8441), version 13.
fn handshake(req: &mut Request) -> Result<Handshake, String> {
    let headers = req.headers();
    let key = if req.version() <= Version::HTTP_11 {
        if req.method() != Method::GET {
            return Err("the method must be GET".into());
        }
        if !contains_token(headers, header::CONNECTION, "upgrade") {
            return Err("`Connection` must include `upgrade`".into());
        }
        if !contains_token(headers, header::UPGRADE, "websocket") {
            return Err("`Upgrade` must be `websocket`".into());
        }
        Some(headers.get(header::SEC_WEBSOCKET_KEY).cloned().ok_or("`Sec-WebSocket-Key` is missing")?)
    } else {
        if req.method() != Method::CONNECT {
            return Err("the method must be CONNECT".into());
        }
        if req.extensions().get::<hyper::ext::Protocol>().is_none_or(|p| p.as_str() != "websocket") {
            return Err("the `:protocol` must be `websocket`".into());
        }
        None
    };
    if headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
        return Err("`Sec-WebSocket-Version` must be 13".into());
    }
    let on_upgrade =
        req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>().ok_or("the connection cannot be upgraded")?;
    Ok(Handshake { key, on_upgrade })
}

async fn upgrade(State(state): State<AppState>, Query(q): Query<WsQuery>, mut req: Request) -> Response {
    let headers = req.headers().clone();
    let from_protocol = subprotocol_token(&headers);
    let token = presented_token(&headers).map(str::to_owned).or(q.token).or(from_protocol.clone());
    if let Err(e) = check(&state, Scope::Read, token.as_deref()) {
        return e.into_response();
    }
    let topics = match q.topics.as_deref().map(session::parse_topics).transpose() {
        Ok(t) => t,
        Err(e) => return ApiError::BadRequest(e).into_response(),
    };
    let hs = match handshake(&mut req) {
        Ok(hs) => hs,
        Err(e) => return ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")).into_response(),
    };
    let Ok(permit) = state.hub.connections.clone().try_acquire_owned() else {
        return ApiError::Unavailable { message: "too many WebSocket connections".into(), retry_after: Some(5) }
            .into_response();
    };
    let deflate = deflate::offered(&headers);
    let mut res = match &hs.key {
        Some(key) => {
            let mut res = StatusCode::SWITCHING_PROTOCOLS.into_response();
            let h = res.headers_mut();
            h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
                h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
            }
            res
        }
        None => StatusCode::OK.into_response(),
    };
    if let Some(t) = &from_protocol
        && let Ok(v) = HeaderValue::from_str(&format!("bearer.{t}"))
    {
        res.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    if deflate {
        res.headers_mut().insert(header::SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static(deflate::AGREED));
    }
    // tungstenite's 128 KiB default buffers would cost 256 KiB per client: 250 MB for a thousand
    // browsers. Client messages are small, and ours are flushed as soon as they are written.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(state.hub.unsent.limit().max(MIN_WRITE_BUFFER))
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE));
    tokio::spawn(async move {
        let Ok(upgraded) = hs.on_upgrade.await else { return };
        let wire = Arc::new(deflate::Wire::default());
        let io = deflate::DeflateIo::new(TokioIo::new(upgraded), deflate, MAX_CLIENT_MESSAGE, wire.clone());
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        session::run(session::Client { socket, deflate, wire }, topics, state).await;
        drop(permit);
    });
    res
}
