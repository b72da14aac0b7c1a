//! The hub's domain services, built bottom-up once at start by the composition root (`server.rs`)
//! and complete before the first request: configuration, tokens, health checks, telemetry, the
//! job supervisor, the store, the fleet, alerting, the budget, analyses, the AI gateway and the TLS
//! certificate manager. Cheap to
//! clone (one `Arc`). Adapters (HTTP, WebSocket, MCP, tools) and jobs receive this; no service
//! receives an adapter.

use std::sync::Arc;
use std::time::Instant;

use crate::alerts::Alerting;
use crate::analyses::Analyses;
use crate::budget::Budget;
use crate::checks::Checks;
use crate::component_health::Health;
use crate::config::Config;
use crate::events::EventLog;
use crate::fleet::Fleet;
use crate::lifecycle::supervisor::Supervisor;
use crate::maintenance::Maintenance;
use crate::telemetry::Telemetry;
use crate::telemetry::gateway_view::GatewayView;
use crate::tokens::TokenSet;

#[derive(Clone)]
pub struct Services(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub tokens: TokenSet,
    pub started: Instant,
    pub health: Health,
    pub telemetry: Telemetry,
    pub supervisor: Supervisor,
    /// The history database (the only SQL is inside the `store` crate).
    pub store: store::Store,
    pub fleet: Arc<Fleet>,
    pub alerting: Arc<Alerting>,
    /// Service checks: definitions, the hub's runner, states and results.
    pub checks: Arc<Checks>,
    /// Maintenance windows: what raises no alerts, and shows `maintenance`, and when.
    pub maintenance: Arc<Maintenance>,
    /// The public status page: settings and the page kept rendered.
    pub status_page: Arc<crate::status_page::StatusPage>,
    pub budget: Arc<Budget>,
    pub analyses: Arc<Analyses>,
    /// What happened recently (status changes, restarts, alerts), for "what happened?".
    pub events: Arc<EventLog>,
    /// The AI gateway: providers, router, quotas, cache and the local engine.
    pub gateway: ai::Router,
    /// The gateway's local engine, also asked directly (alert explanations).
    pub local_engine: Arc<ai::EngineBackend>,
    /// The gateway's status as the local engine sees it (refreshed by a job).
    pub gateway_view: Arc<GatewayView>,
    /// The HTTPS certificate manager (`[tls]`; does nothing when TLS is off).
    pub tls: tls::Tls,
    /// Shared state with the other hubs (Redis), when `OPENMANAGER_REDIS_URL` is set.
    pub cluster: Option<cluster::Cluster>,
}

impl std::ops::Deref for Services {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Services {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Removes a server, its history and its alerts: they end with it, without a notice (as on
    /// the other hubs of a cluster, which reload the fleet after the edit: `scaleout::changes`).
    pub async fn remove_server(&self, id: &str) -> Result<(), crate::fleet::FleetError> {
        self.fleet.remove(id).await?;
        self.alerting.forget_server(id, crate::clock::now_millis());
        Ok(())
    }
}
