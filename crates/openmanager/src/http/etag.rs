//! `ETag`, `304 Not Modified` and `Cache-Control` for the read endpoints the web app polls
//! (`/api/servers`, `/api/metrics`, `/api/metrics/history`, `/api/alerts`, `/api/budget`). Egress is the
//! free tier's tightest limit: a poll whose answer did not change costs a header, not a body.
//!
//! The tag is a hash of the JSON answer without its time of answering (the envelope's `timestamp`
//! and `data.timestamp`, which differ on every call), so "unchanged" means the data is unchanged; a
//! client that gets 304 keeps the answer it has. The tag is weak (`W/`): the compression layer
//! outside this one sends the same data in several encodings.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use sha2::{Digest, Sha256};

/// Larger answers pass untagged (none of these routes answers more; buffering is bounded).
const MAX_TAGGED: u64 = 4 * 1024 * 1024;

/// The `Cache-Control` of a tagged route, or `None` for routes left alone.
fn policy(method: &Method, path: &str) -> Option<&'static str> {
    if method != Method::GET {
        return None;
    }
    // History pages of past windows rarely change; a minute in the browser's cache is harmless.
    if path == "/api/metrics/history" {
        return Some("private, max-age=15");
    }
    // Live data: the browser may keep it but must ask (with `If-None-Match`) before using it.
    let live = ["/api/servers", "/api/metrics", "/api/alerts", "/api/budget"];
    live.iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
        .then_some("private, no-cache")
}

/// Whether this is one of the polled reads (tagged here; offered as dictionaries by
/// `dictionary`).
pub fn polled(method: &Method, path: &str) -> bool {
    policy(method, path).is_some()
}

/// The weak tag of a JSON body, its time of answering left out.
fn tag(body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            if let Some(m) = v.as_object_mut() {
                m.remove("timestamp");
                if let Some(d) = m.get_mut("data").and_then(|d| d.as_object_mut()) {
                    d.remove("timestamp");
                }
            }
            hasher.update(v.to_string().as_bytes());
        }
        Err(_) => hasher.update(body),
    }
    // 64 bits: a tag only has to tell one answer of one resource from its next few (a false
    // match would cost a client one poll's change), and every byte is in every polled answer.
    format!("W/\"{}\"", hex::encode(&hasher.finalize()[..8]))
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header).
fn matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if_none_match.split(',').any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

pub async fn conditional(req: Request, next: Next) -> Response {
    let Some(cache) = policy(req.method(), req.uri().path()) else { return next.run(req).await };
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let res = next.run(req).await;
    if res.status() != StatusCode::OK || res.body().size_hint().upper().is_none_or(|n| n > MAX_TAGGED) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_TAGGED as usize).await else {
        return super::error::envelope(StatusCode::SERVICE_UNAVAILABLE, "the answer could not be read").into_response();
    };
    let etag = tag(&bytes);
    let Ok(etag_value) = HeaderValue::from_str(&etag) else { return Response::from_parts(parts, Body::from(bytes)) };
    parts.headers.insert(header::ETAG, etag_value.clone());
    parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if if_none_match.is_some_and(|inm| matches(&inm, &etag)) {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        let h = res.headers_mut();
        h.insert(header::ETAG, etag_value);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        return res;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Outside compression: a polled answer goes out whole, with `Content-Length`, rather than as
/// chunks. The compressed stream would otherwise be sent chunked: a `Transfer-Encoding` header and
/// the chunks' framing cost about 40 bytes on every poll, more than a tenth of a small answer. The
/// body is already in memory inside compression (see `conditional`), so collecting its compressed
/// form adds at most that much again, within the same bound.
pub async fn whole(req: Request, next: Next) -> Response {
    if policy(req.method(), req.uri().path()).is_none() {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    // Only what `conditional` tagged (or `dictionary` offered: it drops the tag), so was in memory
    // already: a stream passes as it comes.
    let tagged = res.headers().contains_key(header::ETAG) || res.headers().contains_key("use-as-dictionary");
    if res.status() != StatusCode::OK || !tagged || res.body().size_hint().exact().is_some() {
        return res;
    }
    let (parts, body) = res.into_parts();
    match axum::body::to_bytes(body, MAX_TAGGED as usize).await {
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
        Err(_) => {
            super::error::envelope(StatusCode::SERVICE_UNAVAILABLE, "the answer could not be read").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_ignores_the_time_of_answering_only() {
        let a = tag(br#"{"success":true,"data":{"x":1,"timestamp":"a"},"timestamp":"t1"}"#);
        let b = tag(br#"{"success":true,"data":{"x":1,"timestamp":"b"},"timestamp":"t2"}"#);
        let c = tag(br#"{"success":true,"data":{"x":2},"timestamp":"t2"}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(matches(&format!("\"x\", {}", a.trim_start_matches("W/")), &a));
        assert!(!matches("\"other\"", &a));
    }

    #[test]
    fn only_the_polled_reads_are_tagged() {
        assert_eq!(policy(&Method::GET, "/api/servers"), Some("private, no-cache"));
        assert_eq!(policy(&Method::GET, "/api/servers/web-01"), Some("private, no-cache"));
        assert_eq!(policy(&Method::GET, "/api/metrics/history"), Some("private, max-age=15"));
        assert_eq!(policy(&Method::GET, "/api/serversx"), None);
        assert_eq!(policy(&Method::POST, "/api/servers"), None);
        assert_eq!(policy(&Method::GET, "/api/ai/query"), None);
    }
}
