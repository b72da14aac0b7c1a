//! `GET /ws`: the live stream of API.md. Authenticates before the upgrade (header, `?token=`, or the
//! `bearer.<token>` subprotocol, since browsers cannot set headers) and bounds connections and
//! message sizes; the hub and sessions do the rest.

pub mod hub;
pub mod session;

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::authorize::check;
use super::error::ApiError;
use super::limits::presented_token;
use crate::http::state::AppState;
use crate::tokens::Scope;

/// Largest message a client may send (subscriptions are small).
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Unsent bytes a connection may hold when its client reads slowly; past it the send fails and the
/// connection is dropped.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    // CONNECT too: over HTTPS, browsers open WebSockets on the HTTP/2 connection they already have
    // (RFC 8441 extended CONNECT, which the workers announce), not with an HTTP/1.1 GET.
    Router::new().route("/ws", get(upgrade).connect(upgrade))
}

#[derive(Deserialize)]
struct WsQuery {
    token: Option<String>,
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

async fn upgrade(
    State(state): State<AppState>,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let from_protocol = subprotocol_token(&headers);
    let token = presented_token(&headers).map(str::to_owned).or(q.token).or(from_protocol.clone());
    if let Err(e) = check(&state, Scope::Read, token.as_deref()) {
        return e.into_response();
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")).into_response(),
    };
    let Ok(permit) = state.hub.connections.clone().try_acquire_owned() else {
        return ApiError::Unavailable { message: "too many WebSocket connections".into(), retry_after: Some(5) }
            .into_response();
    };
    let ws = match from_protocol {
        Some(t) => ws.protocols([format!("bearer.{t}")]),
        None => ws,
    };
    // tungstenite's 128 KiB default buffers would cost 256 KiB per client: 250 MB for a thousand
    // browsers. Client messages are small, and ours are flushed as soon as they are written.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            session::run(socket, state).await;
            drop(permit);
        })
}
