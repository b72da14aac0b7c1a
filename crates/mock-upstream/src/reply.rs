//! Pieces shared by both wire formats: reply text split into stream deltas, token estimates, bodies
//! that can be cut mid-way, and the scripted latency.

use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};

/// The answer given when nothing is scripted; names the model so tests can see which one answered.
pub fn default_reply(model: &str) -> String {
    format!("Mock reply from {model}: all systems nominal.")
}

/// Splits a reply into stream deltas, one word each (with its trailing space), so concatenating the
/// deltas gives the text back exactly.
pub fn deltas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for ch in text.chars() {
        if !ch.is_whitespace() && in_space && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        in_space = ch.is_whitespace();
        current.push(ch);
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// A rough token count (about four characters a token), never zero, so usage numbers look real and
/// are the same for the same input.
pub fn tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4).max(1)
}

/// Waits the scripted latency, if any.
pub async fn delay(latency_ms: Option<u64>) {
    if let Some(ms) = latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// An SSE response of already-framed events. With `cut_after`, only that many events are sent and the
/// body then fails, which makes the server drop the connection without finishing the response.
pub fn sse(events: Vec<String>, cut_after: Option<usize>) -> Response {
    body_response("text/event-stream", events, cut_after)
}

/// A 200 JSON response; with `cut_after`, the body is sent in halves and dropped after the first.
pub fn json(value: &serde_json::Value, cut_after: Option<usize>) -> Response {
    let text = value.to_string();
    match cut_after {
        None => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Some(_) => {
            let half = text.len() / 2;
            let first = text.get(..half).unwrap_or_default().to_owned();
            body_response("application/json", vec![first], Some(1))
        }
    }
}

/// A 200 whose body claims to be JSON but is not.
pub fn malformed_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], "{\"candidates\": [{\"content\": ").into_response()
}

fn body_response(content_type: &'static str, events: Vec<String>, cut_after: Option<usize>) -> Response {
    let mut items: Vec<Result<String, std::io::Error>> = events.into_iter().map(Ok).collect();
    let body = match cut_after {
        None => Body::from_stream(stream::iter(items)),
        Some(n) => {
            items.truncate(n);
            // The pause lets hyper flush the events already produced (it writes when the body is
            // pending); failing at once would drop them and even the headers along with the connection.
            let cut = stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "scripted cut"))
            });
            Body::from_stream(stream::iter(items).chain(cut))
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if content_type == "text/event-stream"
        && let Ok(value) = "no-cache".parse()
    {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// One SSE event carrying a JSON payload.
pub fn data(value: &serde_json::Value) -> String {
    format!("data: {value}\n\n")
}

/// Unix seconds now (OpenAI's `created`).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_rebuild_the_text() {
        let text = "Mock reply from m: all  systems nominal.";
        let parts = deltas(text);
        assert_eq!(parts.concat(), text);
        assert_eq!(parts[0], "Mock ");
        assert_eq!(parts.len(), 7);
        assert_eq!(deltas(""), vec![String::new()]);
    }
}
