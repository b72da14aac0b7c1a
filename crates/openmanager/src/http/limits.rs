//! Load limits: a per-client token-bucket rate limit (per IP, and per token when one is sent) and a
//! bound on requests in flight. Both answer with the envelope and `Retry-After` instead of queueing.

use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::DefaultKeyedRateLimiter;
use governor::clock::Clock;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use super::state::AppState;
use crate::config::RateLimitConfig;

/// Past this many tracked clients, stale ones are pruned on the request path too, not only by the
/// periodic job, so a flood of source addresses cannot grow memory without bound.
const MAX_TRACKED_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Key {
    Ip(IpAddr),
    Token(u64),
}

pub struct RateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<Key>>,
    trusted_proxies: Vec<IpAddr>,
    hasher: std::collections::hash_map::RandomState,
}

impl RateLimiter {
    pub fn new(config: &RateLimitConfig, trusted_proxies: &[IpAddr]) -> Self {
        // The bucket holds at least one second's worth: a client under its rate whose requests
        // arrive a few at once (several connections, scheduling jitter between worker threads) is
        // then never refused, while the rate over any minute stays as configured.
        let burst = config.burst.max(config.per_minute.div_ceil(60));
        let limiter = match (config.enabled, NonZeroU32::new(config.per_minute), NonZeroU32::new(burst)) {
            (true, Some(rate), Some(burst)) => {
                Some(governor::RateLimiter::keyed(governor::Quota::per_minute(rate).allow_burst(burst)))
            }
            _ => None,
        };
        Self { limiter, trusted_proxies: trusted_proxies.to_vec(), hasher: Default::default() }
    }

    /// Seconds to wait if the client at `ip` (sending `token`, if any) is over its rate.
    fn check(&self, ip: IpAddr, token: Option<&str>) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if limiter.len() > MAX_TRACKED_KEYS {
            limiter.retain_recent();
        }
        let mut keys = vec![Key::Ip(ip)];
        if let Some(t) = token {
            let mut h = self.hasher.build_hasher();
            h.write(t.as_bytes());
            keys.push(Key::Token(h.finish()));
        }
        for key in keys {
            if let Err(not_until) = limiter.check_key(&key) {
                // The limiter's own clock: a new `DefaultClock` calibrates a TSC clock (quanta), which cost
                // a third of the CPU of every refused request under a flood.
                let wait = not_until.wait_time_from(limiter.clock().now());
                return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
            }
        }
        Ok(())
    }

    /// Forgets clients whose buckets are full again; run periodically.
    pub fn prune(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the nearest address in
    /// `X-Forwarded-For` that is not itself a trusted proxy. IPv6 clients are grouped by /64, the
    /// block one subscriber usually holds.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut ip = peer.to_canonical();
        if self.trusted_proxies.contains(&ip) {
            let forwarded =
                headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
            for hop in forwarded.rsplit(',') {
                match hop.trim().parse::<IpAddr>() {
                    Ok(addr) => {
                        ip = addr.to_canonical();
                        if !self.trusted_proxies.contains(&ip) {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        match ip {
            IpAddr::V6(v6) => {
                let seg = v6.segments();
                IpAddr::from([seg[0], seg[1], seg[2], seg[3], 0, 0, 0, 0])
            }
            v4 => v4,
        }
    }
}

/// Health probes are never limited: a supervisor must always be able to ask.
pub fn is_exempt(path: &str) -> bool {
    path == "/health" || path == "/api/health" || path.starts_with("/api/health/")
}

/// The token a request carries, if any, from `Authorization: Bearer`, `X-API-Key`, or
/// `x-goog-api-key` (what Google's SDKs send, so they work against the Google AI proxy with only
/// their base URL changed).
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = v.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim());
    }
    ["x-api-key", "x-goog-api-key"].iter().find_map(|h| headers.get(*h)).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// A bound on requests being handled at once; beyond it the answer is 503 at once.
pub struct ConcurrencyLimit(Arc<Semaphore>);

impl ConcurrencyLimit {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }
}

/// Admission: the per-client rate limit (health exempt), then the in-flight bound. Called by the
/// observe layer rather than being a layer of its own, since every layer costs a boxed future on
/// the hot path. The permit is held until the response is produced.
pub fn admit(state: &AppState, peer: SocketAddr, req: &Request) -> Result<OwnedSemaphorePermit, ApiError> {
    if !is_exempt(req.uri().path()) {
        let ip = state.rate_limiter.client_ip(peer.ip(), req.headers());
        if let Err(retry_after) = state.rate_limiter.check(ip, presented_token(req.headers())) {
            state.telemetry.exporter.rate_limited.inc();
            return Err(ApiError::RateLimited { retry_after });
        }
    }
    permit(state)
}

/// With several hubs on Redis: the keys of the per-client limits counted across every hub (read
/// before the request moves on; `None` when nothing is shared for it).
pub fn shared_keys(state: &AppState, peer: SocketAddr, req: &Request) -> Option<Vec<String>> {
    let cluster = state.cluster.as_ref()?;
    if !state.config.rate_limit.enabled || is_exempt(req.uri().path()) || !cluster.is_up() {
        return None;
    }
    let ip = state.rate_limiter.client_ip(peer.ip(), req.headers());
    let mut keys = vec![format!("ip:{ip}")];
    if let Some(t) = presented_token(req.headers()) {
        // Stored as a digest by the cluster crate; never in clear.
        keys.push(format!("token:{t}"));
    }
    Some(keys)
}

/// The shared limits for `keys` (after this hub's own limiter let the request in). Redis away or
/// slow: this hub's limiter alone decided, never looser than no sharing (N hubs may then allow up
/// to N times the rate).
pub async fn admit_shared(state: &AppState, keys: Vec<String>) -> Result<(), ApiError> {
    let (Some(cluster), cfg) = (&state.cluster, &state.config.rate_limit) else { return Ok(()) };
    let burst = cfg.burst.max(cfg.per_minute.div_ceil(60));
    let limiter = cluster.rate_limiter();
    for key in keys {
        if let Ok(cluster::RateDecision::Limited { retry_after }) = limiter.check(&key, cfg.per_minute, burst).await {
            state.telemetry.exporter.rate_limited.inc();
            return Err(ApiError::RateLimited { retry_after: retry_after.as_secs_f64().ceil().max(1.0) as u64 });
        }
    }
    Ok(())
}

/// A place under the in-flight bound (also taken by health probes answered before routing).
pub fn permit(state: &AppState) -> Result<OwnedSemaphorePermit, ApiError> {
    state.concurrency.0.clone().try_acquire_owned().map_err(|_| ApiError::Unavailable {
        message: "the server is at its request limit".into(),
        retry_after: Some(1),
    })
}

/// Bounds a request's handling time (`server.request_timeout_ms`); applied to every route group except
/// streams, where a long life is the point.
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ms = state.config.server.request_timeout_ms;
    match tokio::time::timeout(std::time::Duration::from_millis(ms), next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::Timeout(ms).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32, trusted: &[&str]) -> RateLimiter {
        let trusted: Vec<IpAddr> = trusted.iter().map(|s| s.parse().unwrap()).collect();
        RateLimiter::new(&RateLimitConfig { enabled: true, per_minute, burst }, &trusted)
    }

    #[test]
    fn burst_then_refused_with_retry_after() {
        let l = limiter(60, 3, &[]);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(ip, None).is_ok());
        }
        let wait = l.check(ip, None).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        // Another client is unaffected.
        assert!(l.check("10.0.0.2".parse().unwrap(), None).is_ok());
    }

    #[test]
    fn a_client_under_its_rate_is_never_refused() {
        // 100,000 a minute with a small configured burst: simultaneous arrivals from many
        // connections (here 1,600 at once, under a second's worth) all pass.
        let l = limiter(100_000, 10, &[]);
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..1_600 {
            assert!(l.check(ip, None).is_ok(), "request {i} refused");
        }
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 127.0.0.1".parse().unwrap());
        let l = limiter(60, 3, &["127.0.0.1"]);
        assert_eq!(l.client_ip("127.0.0.1".parse().unwrap(), &h), "203.0.113.9".parse::<IpAddr>().unwrap());
        let untrusting = limiter(60, 3, &[]);
        assert_eq!(untrusting.client_ip("127.0.0.1".parse().unwrap(), &h), "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn ipv6_grouped_by_64() {
        let l = limiter(60, 3, &[]);
        let a = l.client_ip("2001:db8:1:2:aaaa::1".parse().unwrap(), &HeaderMap::new());
        let b = l.client_ip("2001:db8:1:2:bbbb::2".parse().unwrap(), &HeaderMap::new());
        assert_eq!(a, b);
    }

    #[test]
    fn tokens_from_either_header() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(presented_token(&h), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "xyz".parse().unwrap());
        assert_eq!(presented_token(&h), Some("xyz"));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(presented_token(&h), None);
    }
}
