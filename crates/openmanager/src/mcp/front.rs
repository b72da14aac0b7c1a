//! What stands in front of the SDK's Streamable HTTP service: malformed JSON is a JSON-RPC parse
//! error (400) whatever the SDK would say, the SDK's plain-text refusals become JSON-RPC errors that
//! say what to do (the usual first mistakes: no `Accept` for both kinds, no `initialize` first, an
//! expired session), and ending a session answers 200, which the official SDKs expect (they log
//! "Session termination failed: 202" otherwise).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
/// The SDK's refusals are short lines; more is not read.
const MAX_REFUSAL: usize = 4096;

fn rpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

fn is_json(value: Option<&HeaderValue>) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"))
}

/// What to tell a client the SDK refused, from the SDK's own text.
fn advice(status: StatusCode, text: &str) -> String {
    let text = text.trim();
    match status {
        StatusCode::NOT_ACCEPTABLE => format!(
            "{text}. Send `Accept: application/json, text/event-stream`: the server answers a request with either \
             JSON or an event stream."
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            format!("{text}. Send the JSON-RPC message with `Content-Type: application/json`.")
        }
        StatusCode::NOT_FOUND if text.contains("Session") => format!(
            "{text}: the session ended or expired. Send `initialize` again and use the `Mcp-Session-Id` it returns."
        ),
        StatusCode::BAD_REQUEST if text.contains("Session ID is required") || text.contains("MCP-Protocol-Version") => {
            format!(
                "{text}. Start with an `initialize` request; then send the `Mcp-Session-Id` and `MCP-Protocol-Version` \
                 headers it gives you on every later request (or use protocol revision 2026-07-28, which needs no \
                 session)."
            )
        }
        _ => text.to_string(),
    }
}

/// The layer. `max_body` bounds what is read to check the JSON.
pub async fn front(State(max_body): State<usize>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let req = if method == Method::POST && is_json(req.headers().get(header::CONTENT_TYPE)) {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, max_body).await {
            Ok(b) => b,
            Err(_) => {
                let why = format!("the request body is larger than {max_body} bytes");
                return rpc_error(StatusCode::PAYLOAD_TOO_LARGE, INVALID_REQUEST, &why);
            }
        };
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
            return rpc_error(StatusCode::BAD_REQUEST, PARSE_ERROR, &format!("parse error: {e}"));
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    let mut res = next.run(req).await;
    if method == Method::DELETE && res.status() == StatusCode::ACCEPTED {
        *res.status_mut() = StatusCode::OK;
        return res;
    }
    let status = res.status();
    if !status.is_client_error() || is_json(res.headers().get(header::CONTENT_TYPE)) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, MAX_REFUSAL).await.unwrap_or_default();
    let mut fresh = rpc_error(status, INVALID_REQUEST, &advice(status, &String::from_utf8_lossy(&text)));
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_says_what_to_do() {
        assert!(advice(StatusCode::NOT_ACCEPTABLE, "Not Acceptable").contains("text/event-stream"));
        assert!(advice(StatusCode::BAD_REQUEST, "Bad Request: Session ID is required").contains("initialize"));
        assert!(advice(StatusCode::NOT_FOUND, "Not Found: Session not found").contains("`initialize` again"));
        assert_eq!(advice(StatusCode::BAD_REQUEST, "other"), "other");
    }
}
