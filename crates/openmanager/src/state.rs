//! The one shared application state handed to every handler and middleware.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::auth::TokenSet;
use crate::config::Config;
use crate::fleet::live::LiveRing;
use crate::fleet::{Fleet, Thresholds};
use crate::health::Health;
use crate::http::limits::{ConcurrencyLimit, RateLimiter};
use crate::http::ws::hub::Hub;
use crate::lifecycle::supervisor::Supervisor;
use crate::telemetry::fleet_series::FleetSeries;
use crate::telemetry::process::ProcessMemory;
use crate::telemetry::prometheus::Exporter;
use crate::telemetry::stats::RequestStats;

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub tokens: TokenSet,
    pub started: Instant,
    pub health: Health,
    pub stats: RequestStats,
    pub exporter: Arc<Exporter>,
    pub memory: ProcessMemory,
    pub rate_limiter: RateLimiter,
    pub concurrency: ConcurrencyLimit,
    pub supervisor: Supervisor,
    pub fleet: Fleet,
    /// 1-second samples of this host for live charts.
    pub live: LiveRing,
    /// The WebSocket hub: one serialisation per update for every connection.
    pub hub: Hub,
    /// The history database (the only SQL is inside the `store` crate).
    pub store: store::Store,
    /// The AI gateway, set once at start (its local engine reads this state through a weak reference).
    pub ai: OnceLock<ai::Router>,
    /// Rules, alerts and notifications, set once at start.
    pub alerting: OnceLock<Arc<crate::alerts::Alerting>>,
    /// The MCP server's tool registry, sessions and counts (the registry also serves gateway tool calls).
    pub mcp: crate::mcp::Mcp,
    /// Analyses that took longer than a request waits.
    pub analyze_jobs: crate::http::analyze::Jobs,
    /// The free-tier budget's ledger.
    pub budget: crate::budget::Budget,
    /// Time inside the server of answers served from the AI cache (`X-Cache-Status: HIT`), from the
    /// request's arrival at the first layer to its response leaving it.
    pub cache_hits: RequestStats,
    /// Totals for `/api/metrics`'s `ai` section.
    pub ai_stats: crate::http::ai::AiTotals,
    /// `METHOD /path` of every documented route, for 404 answers; filled once the router is built.
    pub endpoints: OnceLock<Vec<String>>,
    /// The OpenAPI document as served, made once at start.
    pub openapi_json: OnceLock<String>,
    /// Prefix of generated request ids, random per process so ids from two runs do not collide.
    pub request_id_prefix: String,
    /// Open TCP connections, across every HTTP worker (`server.max_connections` permits).
    pub connections: Arc<tokio::sync::Semaphore>,
    /// Set while handing over to a successor: responses carry `Connection: close`, so keep-alive
    /// clients reconnect (to the successor) after their current request instead of being cut off.
    pub draining: AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// A reference that does not keep the state alive (for components the state itself holds).
    /// Open TCP connections right now.
    pub fn open_connections(&self) -> usize {
        self.config.server.max_connections.saturating_sub(self.connections.available_permits())
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn downgrade(&self) -> std::sync::Weak<Shared> {
        Arc::downgrade(&self.0)
    }

    pub fn new(config: Config, tokens: TokenSet, supervisor: Supervisor, store: store::Store) -> Self {
        let mut prefix = [0u8; 4];
        let _ = getrandom::fill(&mut prefix);
        let rate_limiter = RateLimiter::new(&config.rate_limit, &config.server.trusted_proxies);
        let concurrency = ConcurrencyLimit::new(config.server.max_concurrent_requests);
        let exporter = Exporter::new(crate::clock::now_millis() / 1000);
        let thresholds = Thresholds {
            warning: config.fleet.warning_threshold,
            critical: config.fleet.critical_threshold,
            offline_after_ms: (config.fleet.offline_after_seconds as i64).saturating_mul(1000),
        };
        let fleet = Fleet::new(thresholds, config.simulation.enabled.then_some(config.simulation.seed));
        let hub =
            Hub::new(config.server.max_ws_connections, std::time::Duration::from_millis(config.server.ws_interval_ms));
        let budget = crate::budget::Budget::new(&config.budget);
        let mcp = crate::mcp::Mcp::new(&config);
        let memory = ProcessMemory::default();
        memory.refresh();
        let config_max_connections = config.server.max_connections;
        let state = Self(Arc::new(Shared {
            config,
            tokens,
            started: Instant::now(),
            health: Health::default(),
            stats: RequestStats::new(),
            exporter,
            memory,
            rate_limiter,
            concurrency,
            supervisor,
            fleet,
            live: LiveRing::default(),
            hub,
            store,
            ai: OnceLock::new(),
            alerting: OnceLock::new(),
            mcp,
            analyze_jobs: Default::default(),
            cache_hits: RequestStats::new(),
            budget,
            ai_stats: Default::default(),
            endpoints: OnceLock::new(),
            openapi_json: OnceLock::new(),
            request_id_prefix: hex::encode(prefix),
            connections: Arc::new(tokio::sync::Semaphore::new(config_max_connections)),
            draining: AtomicBool::new(false),
        }));
        let weak = Arc::downgrade(&state.0);
        state.exporter.with_registry(|r| {
            r.register_collector(Box::new(FleetSeries(weak.clone())));
            r.register_collector(Box::new(crate::telemetry::alert_series::AlertSeries(weak)));
        });
        state
    }
}
