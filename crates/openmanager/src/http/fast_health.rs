//! `GET /api/health` and `/health` answered before routing. Load balancers, systemd and uptime
//! checkers probe these paths all day; they send neither `Origin` nor `Accept-Encoding`, so for them
//! the layer stack (CORS, compression, routing, timeouts) has nothing to do and only costs time.
//! The answer is the same document, status and headers as through the router (request id, counts,
//! in-flight bound, `Connection: close` while handing over); a request that has either header, or
//! anything else, goes through the full stack unchanged.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tower::Service;

use super::admission::{X_REQUEST_ID, request_id};
use super::state::AppState;

#[derive(Clone)]
pub struct FastHealth<S> {
    inner: S,
    state: AppState,
}

impl<S> FastHealth<S> {
    pub fn new(inner: S, state: AppState) -> Self {
        Self { inner, state }
    }
}

/// The route template the request would have matched, if it is a plain health probe.
fn probe(req: &Request) -> Option<&'static str> {
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

fn answer(state: &AppState, req: &Request, template: &'static str) -> Response {
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
    let headers = res.headers_mut();
    // What the compression layer says on the routed path, so caches see one answer.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(X_REQUEST_ID, id);
    if state.is_draining() {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let status = res.status();
    let elapsed = start.elapsed();
    state.telemetry.stats.record(status.as_u16(), elapsed);
    state.telemetry.exporter.record_http("GET", Some(template), status.as_u16(), elapsed.as_secs_f64());
    if status != StatusCode::OK {
        tracing::warn!(status = status.as_u16(), path = template, "health probe refused");
    }
    res
}

impl<S> Service<Request> for FastHealth<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match probe(&req) {
            Some(template) => Either::Left(ready(Ok(answer(&self.state, &req, template)))),
            None => Either::Right(self.inner.call(req)),
        }
    }
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
