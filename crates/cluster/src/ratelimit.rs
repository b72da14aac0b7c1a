//! Per-client rate limits shared by every hub: one token bucket per key (a client address, a token's
//! digest), kept in Redis as GCRA's single "theoretical arrival time" and updated by one script, so
//! hubs never race and the refill uses Redis' clock (hubs' clocks may differ).
//!
//! Fallback: on `Err` the hub checks its own in-process limiter (`http::limits::RateLimiter`, governor)
//! instead, so while Redis is down each hub allows the configured rate on its own (N hubs: up to N
//! times the rate in all). The limit never disappears.

use std::time::Duration;

use crate::Cluster;
use crate::error::{Error, Result};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Go ahead; this many more requests would be allowed right now.
    Allowed { remaining: u32 },
    /// Over the limit: the next request is allowed after this long (answer 429 with it).
    Limited { retry_after: Duration },
}

/// GCRA: the bucket is the time at which it would be full again (`tat`, µs of Redis' clock). A
/// request costs one emission interval `T = 60 s / limit`; it is allowed when `tat + T` is at most
/// `burst * T` ahead of now. The key lives until the bucket is full again.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((now - allow_at) / interval)}
";

/// Rate limits by key; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    cluster: Cluster,
    script: redis::Script,
}

impl RateLimiter {
    pub(crate) fn new(cluster: Cluster) -> Self {
        Self { cluster, script: redis::Script::new(SCRIPT) }
    }

    /// Takes one request from `key`'s bucket: `limit_per_minute` requests a minute on average, at
    /// most `burst` at once (a full bucket). `key` is any string (it is stored as a digest): use one
    /// per client and kind of limit, e.g. `ip:203.0.113.9` or `token:<digest>`. A key's limits
    /// should not change between calls (a change applies from the next refill).
    pub async fn check(&self, key: &str, limit_per_minute: u32, burst: u32) -> Result<RateDecision> {
        if limit_per_minute == 0 {
            return Err(Error::InvalidInput("limit_per_minute must be at least 1".into()));
        }
        let interval_us = 60_000_000u64.div_ceil(u64::from(limit_per_minute));
        let key = self.cluster.inner.keys.hashed("rl", key.as_bytes());
        let mut inv = self.script.prepare_invoke();
        inv.key(key).arg(interval_us).arg(burst.max(1));
        let (allowed, n): (i64, i64) = self.cluster.inner.conn.script(&inv).await?;
        Ok(if allowed == 1 {
            RateDecision::Allowed { remaining: u32::try_from(n.max(0)).unwrap_or(u32::MAX) }
        } else {
            RateDecision::Limited { retry_after: Duration::from_micros(u64::try_from(n.max(1)).unwrap_or(1)) }
        })
    }
}
