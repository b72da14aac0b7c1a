//! The HTTP adapter's state: the domain services (reached through `Deref`), the assistant and tools
//! that the adapters share, and what only the HTTP layer needs (admission limits, the
//! WebSocket hub, the connection bound, request ids, the hand-over flag). Built complete by the
//! composition root; immutable afterwards (flags are atomics).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::connections::{Bounds, ConnectionTable};
use super::limits::{ConcurrencyLimit, RateLimiter};
use super::ws::hub::Hub;
use crate::assistant::Assistant;
use crate::services::Services;
use crate::tools::Tools;

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub services: Services,
    pub assistant: Arc<Assistant>,
    pub tools: Arc<Tools>,
    /// The WebSocket hub: one serialisation per update for every connection.
    pub hub: Hub,
    pub rate_limiter: RateLimiter,
    pub concurrency: ConcurrencyLimit,
    /// Open connections across every HTTP worker, with the per-address and total bounds.
    pub connections: ConnectionTable,
    /// Prefix of generated request ids, random per process so ids from two runs do not collide.
    pub request_id_prefix: String,
    /// Set while handing over to a successor: responses carry `Connection: close`, so keep-alive
    /// clients reconnect (to the successor) after their current request instead of being cut off.
    pub draining: AtomicBool,
    /// Recent answers of the polled reads that clients may name as compression dictionaries.
    pub dictionaries: super::dictionary::store::Dictionaries,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::ops::Deref for Shared {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

impl AppState {
    pub fn new(services: Services) -> Self {
        let config = &services.config;
        let mut prefix = [0u8; 4];
        let _ = getrandom::fill(&mut prefix);
        let tools = Arc::new(Tools::new(services.clone()));
        let connections = ConnectionTable::new(Bounds {
            total: config.server.max_connections,
            per_ip: config.server.max_connections_per_ip,
        });
        services.telemetry.exporter.with_registry(|r| {
            let (shed, refused) = (connections.shed_count.clone(), connections.refused_count.clone());
            r.register("openmanager_connections_shed", "Idle connections closed to make room", shed);
            r.register("openmanager_connections_refused", "Connections refused because every one was busy", refused);
        });
        let ms = std::time::Duration::from_millis;
        let server = &config.server;
        let hub = Hub::new(
            server.max_ws_connections,
            ms(server.ws_interval_ms),
            server.ws_max_unsent_bytes,
            ms(server.ws_stall_timeout_ms),
        )
        .with_overview_interval(ms(config.fleet.overview_interval_ms))
        .with_meter(services.budget.egress.clone());
        let egress = services.budget.egress.family();
        services.telemetry.exporter.with_registry(|r| {
            r.register(
                "openmanager_egress_bytes",
                "Bytes the hub sent, by route group, WebSocket topic or outbound request kind",
                egress,
            );
        });
        Self(Arc::new(Shared {
            assistant: Arc::new(Assistant::new(services.clone(), tools.clone())),
            tools,
            hub,
            rate_limiter: RateLimiter::new(&config.rate_limit, &config.server.trusted_proxies),
            concurrency: ConcurrencyLimit::new(config.server.max_concurrent_requests),
            connections,
            request_id_prefix: hex::encode(prefix),
            draining: AtomicBool::new(false),
            dictionaries: super::dictionary::store::Dictionaries::new(Default::default()),
            services,
        }))
    }

    /// Open TCP connections right now.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
}
