//! State shared by the hubs of one cluster, in Redis (`OPENMANAGER_REDIS_URL`): per-client rate
//! limits, the AI gateway's per-provider quotas, its response cache and in-flight coalescing, the
//! alert evaluator's lease, notify-once de-duplication, and a pub/sub bus for fleet updates, alert
//! events and live samples. Nothing here depends on the hub.
//!
//! Unset, nothing of this is used: each hub keeps its state in-process as before. Set, the hub
//! makes one [`Cluster`] with [`Cluster::connect`], runs [`Cluster::run`] under its task supervisor
//! (health probe, bus subscriber, deferred releases), reads [`Cluster::health`] for
//! `checks.redis` and [`Cluster::stats`] for Prometheus, and takes each primitive from it.
//!
//! # Fallback: every call may fail, and failing is cheap
//!
//! Every primitive's call returns `Result<_, Error>`. On `Err` the caller uses its local
//! (in-process) equivalent for that call, so a hub that cannot reach Redis behaves as a hub with no
//! Redis configured: each hub enforces its own limits and quotas (N hubs may then allow up to N
//! times a limit in all), never none. While Redis is down, calls fail at once (one probe per
//! `retry_interval_ms` finds it back), so falling back costs no waiting; only the first calls after
//! Redis stops answering wait, up to `command_timeout_ms`. The outage is logged once and shown by
//! [`Cluster::health`].
//!
//! No authentication or authorisation decision reads anything from Redis: tokens, scopes and
//! sessions stay in each hub (and its store), so Redis being down, slow or wrong can never let a
//! request in that would otherwise be refused ("never fail open on auth"). What Redis shares is
//! only counting (limits, quotas), caching, who evaluates alerts, and fan-out.
//!
//! | primitive | shared behaviour | while Redis is down the hub uses |
//! |---|---|---|
//! | [`RateLimiter`] | one token bucket per client across hubs | its own governor limiter (per hub) |
//! | [`Quota`] | the sum over hubs never exceeds a provider's limits | the `ai` crate's per-engine `Budget` |
//! | [`SharedCache`] | an answer cached by one hub serves all | its own moka cache |
//! | [`Coalescer`] | one upstream call per identical request across hubs | its own in-flight map (`ai::flight`) |
//! | [`Lease`] | one alert evaluator across hubs, moved within a TTL | the last holder keeps evaluating (see [`Lease`]) |
//! | [`Dedup`] | a notification sent once across hubs | a bounded local set, written back when Redis returns |
//! | [`Bus`] | fan-out of events to every hub | local delivery only; subscribers are told they missed messages |
//!
//! # How the hub uses each primitive
//!
//! ```no_run
//! # async fn hub(cancel: tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
//! use std::time::Duration;
//! use cluster::{BusEvent, Cluster, ClusterConfig, DayWindow, Lookup, QuotaLimits, RateDecision, Reserve};
//!
//! // server.rs (the composition root), when OPENMANAGER_REDIS_URL is set:
//! let cluster = Cluster::connect(&ClusterConfig::new("rediss://default:pw@redis.example.com:6380")).await?;
//! // Under the supervisor: health probe, bus subscriber, releases queued by dropped guards.
//! let maintenance = { let c = cluster.clone(); async move { c.run(cancel, || {}).await } };
//! # drop(maintenance);
//!
//! // http/admission.rs: per client, before the local limiter.
//! match cluster.rate_limiter().check("ip:203.0.113.9", 600, 60).await {
//!     Ok(RateDecision::Allowed { .. }) => { /* serve */ }
//!     Ok(RateDecision::Limited { retry_after: _ }) => { /* 429 with Retry-After */ }
//!     Err(_) => { /* the hub's own governor limiter decides */ }
//! }
//!
//! // ai: reserve before the upstream call, settle with the reported usage after.
//! let quota = cluster.quota();
//! let day = DayWindow { start_ms: 1_767_254_400_000, end_ms: 1_767_340_800_000 }; // a Pacific day
//! let limits = QuotaLimits {
//!     requests_per_minute: Some(15),
//!     tokens_per_minute: Some(250_000),
//!     requests_per_day: Some(1_000),
//!     tokens_per_day: None,
//!     day,
//! };
//! match quota.reserve("gemini", 1, 900, &limits).await {
//!     Ok(Reserve::Granted(r)) => {
//!         // ... call the provider; it reports 1,234 tokens ...
//!         let _ = quota.settle(r, 1_234).await;
//!     }
//!     Ok(Reserve::Exhausted { window: _, retry_after: _ }) => { /* next engine in the chain, or 429 */ }
//!     Err(_) => { /* the local per-engine Budget decides */ }
//! }
//!
//! // ai: the shared response cache, and one upstream call for identical concurrent requests.
//! let key = b"sha256 of the normalised request";
//! if let Ok(Some(_answer)) = cluster.cache().get(key).await { /* serve it */ }
//! match cluster.coalescer().begin(key, Duration::from_secs(60), Duration::from_secs(30)).await {
//!     Ok(Lookup::Leader(guard)) => {
//!         let answer = b"...".to_vec(); // the upstream call
//!         let _ = cluster.cache().set(key, &answer, Duration::from_secs(300)).await;
//!         guard.publish(&answer, Duration::from_secs(5)).await?;
//!     }
//!     Ok(Lookup::Done(_answer)) => { /* another caller's answer */ }
//!     Ok(Lookup::TimedOut) | Err(_) => { /* call upstream (coalesced locally by ai::flight) */ }
//! }
//!
//! // jobs/alerts.rs: evaluate only while holding the lease (tick every ttl/3); notify once.
//! let lease = cluster.lease("alert-evaluator", Duration::from_secs(15))?;
//! let dedup = cluster.dedup(10_000);
//! let evaluate = match lease.tick().await {
//!     Ok(_) => lease.is_holder(),
//!     Err(_) => lease.held_last(), // Redis away: the last holder carries on, nobody else starts
//! };
//! if evaluate && dedup.check("alert:cpu-high:web-1:1767254400", Duration::from_secs(86_400)).await.should_send() {
//!     /* send the notification */
//! }
//! if cluster.is_up() && dedup.pending() > 0 {
//!     let _ = dedup.flush().await; // decisions taken during an outage, written back
//! }
//!
//! // http/ws: fan-out to the other hubs' WebSocket clients.
//! let fleet = cluster.channel::<serde_json::Value>("fleet")?;
//! let _ = fleet.publish(&serde_json::json!({"serverId": "web-1", "cpu": 12.5})).await;
//! let mut sub = fleet.subscribe();
//! while let Some(event) = sub.recv().await {
//!     match event {
//!         BusEvent::Message { from: _, message: _ } => { /* forward to local sockets */ }
//!         BusEvent::Missed(_) => { /* resynchronise: a full snapshot to local sockets */ }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Keys
//!
//! Every key starts with `prefix` (default `openmanager:`) and expires. Free-form parts (client
//! addresses, tokens, cache keys) are SHA-256 digests. Works with Redis 5 or later and Valkey,
//! standalone or behind a primary endpoint (Sentinel-managed, ElastiCache, Redis Cloud, Upstash);
//! Redis Cluster mode is not supported (scripts touch several keys). Memory: every key has a TTL,
//! cache entries are bounded by `max_entry_bytes`, and the other keys are a few bytes each (a
//! bucket per active client, two hashes per provider, one key per lease and per notification).
//! Size `maxmemory` for the cache; under an LRU policy, memory pressure evicts the longest-idle
//! keys first, which can include notify-once keys (a repeated notification), never a lease in use
//! (renewed every few seconds).

mod bus;
mod cache;
mod coalesce;
mod config;
mod conn;
mod dedup;
mod error;
mod health;
mod keys;
mod lease;
mod quota;
mod ratelimit;
mod run;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use bus::{Bus, BusEvent, Channel, Missed, Subscriber};
pub use cache::SharedCache;
pub use coalesce::{Coalescer, LeaderGuard, Lookup};
pub use config::{ClusterConfig, ConfigError, mask_url};
pub use dedup::{Dedup, Verdict};
pub use error::{Error, ErrorKind, Result};
pub use health::Health;
pub use lease::{Lease, LeaseState};
pub use quota::{DayWindow, Quota, QuotaLimits, QuotaUsage, QuotaWindow, Reservation, Reserve};
pub use ratelimit::{RateDecision, RateLimiter};
pub use stats::Stats;

use conn::Conn;
use keys::Keys;

/// The handle: cheap to clone, shared by every part of the hub.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Conn,
    keys: Keys,
    hub_id: Arc<str>,
    /// This handle's own random id: what tells "my own message" and "my lease" apart, so two hubs
    /// configured with the same `hub_id` by mistake still hear each other and never share a lease.
    /// `<hub_id>|<instance>` is the owner string of leases.
    owner: Arc<str>,
    config: ClusterConfig,
    bus: bus::Hub,
    deferred: run::Deferred,
}

impl Cluster {
    /// Checks `config`, builds the client (rustls with the `ring` provider for `rediss://`) and
    /// tries Redis once. An unreachable Redis is not an error: the cluster starts down (logged once,
    /// [`health`](Self::health) says why) and comes up when Redis answers. Fails only on a
    /// configuration that cannot work (the error names the key, never the password). Must be called
    /// inside a tokio runtime, which then carries the connections' tasks (the hub's main runtime).
    pub async fn connect(config: &ClusterConfig) -> Result<Cluster, ConfigError> {
        config.validate()?;
        let conn = Conn::new(config)?;
        let hub_id: Arc<str> =
            if config.hub_id.is_empty() { Arc::from(random_hub_id()) } else { Arc::from(config.hub_id.as_str()) };
        let owner: Arc<str> = Arc::from(format!("{hub_id}|{}", random_token()));
        let cluster = Cluster {
            inner: Arc::new(Inner {
                conn,
                keys: Keys::new(&config.prefix),
                hub_id,
                owner,
                bus: bus::Hub::new(config.bus_queue),
                deferred: run::Deferred::new(),
                config: config.clone(),
            }),
        };
        let _ = cluster.inner.conn.probe(config.connections).await;
        Ok(cluster)
    }

    /// This hub's id on the bus and in leases.
    pub fn hub_id(&self) -> &str {
        &self.inner.hub_id
    }

    /// Up, or down with the reason and since when. Reads memory only (no IO).
    pub fn health(&self) -> Health {
        self.inner.conn.health.get()
    }

    /// Whether Redis is usable now (one atomic load).
    pub fn is_up(&self) -> bool {
        self.inner.conn.health.is_up()
    }

    /// Counters for Prometheus.
    pub fn stats(&self) -> Stats {
        let mut s = self.inner.conn.counters.snapshot(self.is_up());
        s.bus_connected = self.inner.bus.is_connected();
        s
    }

    /// The masked URL, for logs and status pages.
    pub fn url(&self) -> String {
        mask_url(&self.inner.config.url)
    }

    /// One PING (gated like every call: fails at once while Redis is down, between probes).
    pub async fn ping(&self) -> Result<()> {
        self.inner.conn.query::<()>(&redis::cmd("PING")).await
    }

    /// Per-client rate limits shared by every hub.
    pub fn rate_limiter(&self) -> RateLimiter {
        RateLimiter::new(self.clone())
    }

    /// Per-provider request and token quotas shared by every hub.
    pub fn quota(&self) -> Quota {
        Quota::new(self.clone())
    }

    /// A byte cache shared by every hub.
    pub fn cache(&self) -> SharedCache {
        SharedCache::new(self.clone())
    }

    /// One leader per key across hubs; the others wait for its result.
    pub fn coalescer(&self) -> Coalescer {
        Coalescer::new(self.clone())
    }

    /// The lease on role `name` (e.g. `alert-evaluator`), held for `ttl` after each renewal.
    pub fn lease(&self, name: &str, ttl: Duration) -> Result<Lease> {
        Lease::new(self.clone(), name, ttl)
    }

    /// "Only the first hub to ask" decisions, with a local fallback of at most `local_capacity`
    /// keys while Redis is down.
    pub fn dedup(&self, local_capacity: usize) -> Dedup {
        Dedup::new(self.clone(), local_capacity)
    }

    /// The bus (typed channels by name).
    pub fn bus(&self) -> Bus {
        Bus::new(self.clone())
    }

    /// A typed bus channel (`[A-Za-z0-9.:-]`, not starting with `_`, which is reserved).
    pub fn channel<T: Serialize + DeserializeOwned>(&self, name: &str) -> Result<Channel<T>> {
        self.bus().channel(name)
    }

    /// The maintenance task, for the hub's supervisor: probes Redis (every `retry_interval_ms`
    /// while down, `probe_interval_ms` while up), keeps the bus subscribed (resubscribing after a
    /// reconnection and telling subscribers they missed messages), and carries out releases queued
    /// by dropped guards. Calls `heartbeat` at least every 5 s. Returns when `cancel` fires; a second
    /// concurrent call returns at once.
    pub async fn run<B: Fn() + Send + Sync>(&self, cancel: tokio_util::sync::CancellationToken, heartbeat: B) {
        run::run(self, cancel, &heartbeat).await;
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("url", &self.url()).field("hub_id", &self.hub_id()).finish()
    }
}

/// `hub-` and 12 random hex digits.
fn random_hub_id() -> String {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    format!("hub-{}", hex::encode(b))
}

/// A random token (lock owners), 16 hex digits.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// A TTL in whole milliseconds for PX/PEXPIRE, at least 1.
pub(crate) fn ttl_ms(ttl: Duration) -> Result<u64> {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return Err(Error::InvalidInput("a TTL must be at least 1 ms".into()));
    }
    // Redis refuses expiries past ~2^63 ms; nothing here needs more than a year.
    Ok(ms.min(366 * 86_400_000))
}
