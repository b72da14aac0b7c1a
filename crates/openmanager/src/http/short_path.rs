//! Requests answered before routing: plain health probes (`fast_health`) and public GETs of the
//! status page while it is on (`status_page::answer`). Both are asked for all day, or in bursts by
//! anyone, and answer from memory; for them the layer stack (CORS, boxed middleware futures,
//! routing, compression) is most of the cost. Each answer is the one the router would give (the
//! same function builds it) and gets what the stack would add: the rate limit where it applies,
//! a place under the in-flight bound, `X-Request-Id`, the request counts (`/api/metrics`,
//! Prometheus), the egress count of its route group, and `Connection: close` while handing over.
//! Anything else, or any request these cannot take whole (an `Origin` for CORS, a missing peer
//! address, limits shared across hubs, the page off so the router's 404 answers), goes through the
//! full stack unchanged.
//!
//! A request for `/` on the status page's own domain (`status_page.domain`) is a request for
//! `/status`, whichever path then answers it.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tower::Service;

use super::admission::{X_REQUEST_ID, request_id};
use super::state::AppState;
use crate::budget::egress::route_group;

#[derive(Clone)]
pub struct ShortPath<S> {
    inner: S,
    state: AppState,
    /// `status_page.domain`, parsed once.
    status_domain: Option<std::sync::Arc<str>>,
}

impl<S> ShortPath<S> {
    pub fn new(inner: S, state: AppState) -> Self {
        let status_domain = state.config.status_page.domain().map(Into::into);
        Self { inner, state, status_domain }
    }
}

/// Whether `req` names `domain` as its host (`Host`, or the HTTP/2 authority), whatever the port
/// and letter case.
fn for_domain(req: &Request, domain: &str) -> bool {
    let host = match req.uri().host() {
        Some(h) => h,
        None => match req.headers().get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(h) => h
                .rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(name, _)| name),
            None => return false,
        },
    };
    host.trim_end_matches('.').eq_ignore_ascii_case(domain)
}

/// `/` on the status page's domain becomes `/status` (the query kept).
fn to_status_page(req: &mut Request) {
    let uri = match req.uri().query() {
        Some(q) => format!("/status?{q}"),
        None => "/status".to_string(),
    };
    if let Ok(uri) = uri.parse() {
        *req.uri_mut() = uri;
    }
}

/// The route template of a public GET of the status page (`/status.json` is the JSON form).
fn status_page(req: &Request) -> Option<&'static str> {
    if req.method() != Method::GET || req.headers().contains_key(header::ORIGIN) {
        return None;
    }
    match req.uri().path() {
        "/status" => Some("/status"),
        "/status.json" => Some("/status.json"),
        _ => None,
    }
}

/// The status page's answer, or `None` when the router must answer (see the module's doc).
fn answer_status(state: &AppState, req: &Request, template: &'static str) -> Option<Response> {
    let start = Instant::now();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>()?.0;
    if super::limits::shared_keys(state, peer, req).is_some() {
        return None;
    }
    let page = state.status_page.rendered()?;
    let id = request_id(state, req);
    let res = match super::limits::admit(state, peer, req) {
        Ok(_permit) => super::status_page::answer(&page, req.headers(), template == "/status.json"),
        Err(refused) => refused.into_response(),
    };
    Some(finish(state, res, id, template, start))
}

/// What the admission and egress layers add to an answer on the routed path.
pub fn finish(
    state: &AppState,
    mut res: Response,
    id: HeaderValue,
    template: &'static str,
    start: Instant,
) -> Response {
    let headers = res.headers_mut();
    headers.insert(X_REQUEST_ID, id);
    if state.is_draining() {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let status = res.status();
    // Whole bodies from memory: counted now rather than as they are sent.
    let body = http_body::Body::size_hint(res.body()).exact().unwrap_or(0);
    state.budget.egress.add_route(route_group(template), super::egress::head_bytes(res.headers()) + body);
    let elapsed = start.elapsed();
    state.telemetry.stats.record(status.as_u16(), elapsed);
    state.telemetry.exporter.record_http("GET", Some(template), status.as_u16(), elapsed.as_secs_f64());
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        tracing::warn!(status = status.as_u16(), path = template, "request refused");
    }
    res
}

impl<S> Service<Request> for ShortPath<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if let Some(domain) = &self.status_domain
            && req.uri().path() == "/"
            && for_domain(&req, domain)
        {
            to_status_page(&mut req);
        }
        if let Some(template) = super::fast_health::probe(&req) {
            return Either::Left(ready(Ok(super::fast_health::answer(&self.state, &req, template))));
        }
        if let Some(template) = status_page(&req)
            && let Some(res) = answer_status(&self.state, &req, template)
        {
            return Either::Left(ready(Ok(res)));
        }
        Either::Right(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(method: Method, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_public_gets_of_the_page_are_candidates() {
        assert_eq!(status_page(&req(Method::GET, "/status", &[])), Some("/status"));
        assert_eq!(
            status_page(&req(Method::GET, "/status.json?x=1", &[("accept-encoding", "br")])),
            Some("/status.json")
        );
        assert_eq!(status_page(&req(Method::GET, "/status", &[("origin", "https://a.example")])), None);
        assert_eq!(status_page(&req(Method::HEAD, "/status", &[])), None);
        assert_eq!(status_page(&req(Method::POST, "/status.json", &[])), None);
        assert_eq!(status_page(&req(Method::GET, "/status/", &[])), None);
        assert_eq!(status_page(&req(Method::GET, "/api/status-page", &[])), None);
    }

    #[test]
    fn the_status_domain_is_told_by_host_or_authority_whatever_the_port_and_case() {
        let d = "status.example.com";
        assert!(for_domain(&req(Method::GET, "/", &[("host", "status.example.com")]), d));
        assert!(for_domain(&req(Method::GET, "/", &[("host", "Status.Example.com:10000")]), d));
        assert!(for_domain(&req(Method::GET, "https://status.example.com./", &[]), d));
        assert!(!for_domain(&req(Method::GET, "/", &[("host", "hub.example.com")]), d));
        assert!(!for_domain(&req(Method::GET, "/", &[("host", "104.154.205.25:10000")]), d));
        assert!(!for_domain(&req(Method::GET, "/", &[]), d));
        let mut r = req(Method::GET, "/?lang=ko", &[("host", d)]);
        to_status_page(&mut r);
        assert_eq!(r.uri(), "/status?lang=ko");
    }
}
