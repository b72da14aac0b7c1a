//! Several hubs behind one address (`OPENMANAGER_REDIS_URL`): the hub's side of the `cluster`
//! crate. With no Redis configured nothing here runs and every hub keeps its state in-process.
//!
//! - [`fleet_bus`]: every agent sample a hub stores is published (coalesced, newest per server)
//!   on the `fleet` channel; each hub applies the others' updates to its registry, so a WebSocket
//!   on any hub sees every agent, whichever hub the agent reports to.
//! - [`alert_lease`]: the alert engine evaluates on the hub holding the `alert-evaluator` lease;
//!   notifications are de-duplicated across hubs by rule, server and state change.
//! - [`alert_bus`]: the evaluator's alert events and every hub's acknowledgements on the `alerts`
//!   channel, so every hub lists and pushes the same alerts.
//! - [`changes`]: "changed: <kind>" after each edit, on which the other hubs reload that kind
//!   (servers, alert rules, silences and channels, checks, maintenance windows) from the store.
//! - [`ai_quota`]: the AI gateway's per-provider quotas (minute and day windows) shared, so the
//!   sum over every hub stays within each provider's limits.
//! - [`ai_cache`]: the AI gateway's answer cache and in-flight coalescing shared, so the same
//!   question asked on two hubs calls the upstream once.
//! - `checks.redis` in `/api/health`: `ok`, or why each hub fell back to its local state.
//!
//! Nothing here decides authentication: tokens and scopes stay in each hub, so Redis being down,
//! slow or wrong never lets a request in.

pub mod ai_cache;
pub mod ai_quota;
pub mod alert_bus;
pub mod alert_lease;
pub mod changes;
pub mod fleet_bus;

use std::sync::Arc;

use anyhow::Context;

use crate::component_health::Check;
use crate::services::Services;

/// Connects to Redis when configured (`None` otherwise). An unreachable Redis is not an error:
/// the cluster starts down and comes up when Redis answers; a configuration that cannot work is.
pub async fn connect(config: &crate::config::Config) -> anyhow::Result<Option<cluster::Cluster>> {
    if !config.redis.is_enabled() {
        return Ok(None);
    }
    let c = cluster::Cluster::connect(&config.redis).await.context("cannot set up Redis")?;
    tracing::info!(url = %c.url(), hub_id = c.hub_id(), up = c.is_up(), "scale-out through Redis");
    Ok(Some(c))
}

/// Starts the maintenance task, the health check, the fleet bus and the alert lease.
pub fn start(services: &Services) -> anyhow::Result<()> {
    let Some(c) = services.cluster.clone() else { return Ok(()) };
    let run = c.clone();
    services.supervisor.spawn("redis", move |ctx| {
        let c = run.clone();
        async move {
            let beat = ctx.heartbeat.clone();
            c.run(ctx.cancel, move || beat.beat()).await;
            Ok(())
        }
    });
    let h = c.clone();
    // Not critical: a hub without Redis still serves, on its local limits (degraded, said so).
    services.health.register("redis", false, move || match h.health() {
        cluster::Health::Up { .. } => Check::Ok,
        cluster::Health::Down { reason, .. } => Check::Failing(format!("down, using local state: {reason}")),
    });
    services.gateway.set_shared_quota(Arc::new(ai_quota::ClusterQuota(c.quota())));
    let ttl = services.gateway.cache_ttl();
    services.gateway.set_shared_answers(Arc::new(ai_cache::ClusterAnswers { coalescer: c.coalescer(), ttl }));
    fleet_bus::start(services, &c)?;
    changes::start(services, &c)?;
    let bus = alert_bus::start(services, &c)?;
    alert_lease::start(services, Arc::new(c.lease("alert-evaluator", alert_lease::TTL)?), c.dedup(10_000), bus);
    Ok(())
}
