//! `GET /api/health` and `/health` answered before routing (see `short_path`). Load balancers,
//! systemd and uptime checkers probe these paths all day; they send neither `Origin` nor
//! `Accept-Encoding`, so for them the layer stack (CORS, compression, routing, timeouts) has nothing
//! to do and only costs time. The answer is the same document, status and headers as through the
//! router (request id, counts, egress, in-flight bound, `Connection: close` while handing over);
//! a request that has either header, or anything else, goes through the full stack unchanged.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use super::admission::request_id;
use super::state::AppState;

/// The route template the request would have matched, if it is a plain health probe.
pub fn probe(req: &Request) -> Option<&'static str> {
    if req.method() != Method::GET {
        return None;
    }
    let template = match req.uri().path() {
        "/api/health" => "/api/health",
        "/health" => "/health",
        _ => return None,
    };
    let h = req.headers();
    (!h.contains_key(header::ORIGIN) && !h.contains_key(header::ACCEPT_ENCODING)).then_some(template)
}

pub fn answer(state: &AppState, req: &Request, template: &'static str) -> Response {
    let start = Instant::now();
    let id = request_id(state, req);
    let mut res = match super::limits::permit(state) {
        Ok(_permit) => match serde_json::to_vec(&super::health::body(state)) {
            Ok(json) => {
                let mut r = Response::new(Body::from(json));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            }
            Err(e) => super::error::ApiError::Internal(e.into()).into_response(),
        },
        Err(refused) => refused.into_response(),
    };
    // What the compression layer says on the routed path, so caches see one answer.
    res.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    super::short_path::finish(state, res, id, template, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_plain_health_probes_take_the_short_path() {
        assert_eq!(probe(&req(Method::GET, "/api/health", &[])), Some("/api/health"));
        assert_eq!(probe(&req(Method::GET, "/health?x=1", &[])), Some("/health"));
        assert_eq!(probe(&req(Method::GET, "/api/health", &[("origin", "https://a.example")])), None);
        assert_eq!(probe(&req(Method::GET, "/api/health", &[("accept-encoding", "gzip")])), None);
        assert_eq!(probe(&req(Method::POST, "/api/health", &[])), None);
        assert_eq!(probe(&req(Method::GET, "/api/health/ready", &[])), None);
    }
}
