//! Edits made through one hub reach the others: after an edit is stored, the hub publishes
//! "changed: <kind>" on the `changes` channel, and every other hub reloads that kind from the
//! shared store (servers, alert rules with silences and channels, checks, maintenance windows).
//! So a server deleted on one hub goes from every hub, and the hub that evaluates alerts or runs
//! checks uses what was edited elsewhere, without a restart. The message carries no content: the
//! store is the one truth, so a missed message (Redis away) is repaired by reloading everything.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::alerts::Change;
use crate::services::Services;

const CHANNEL: &str = "changes";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Servers,
    Alerting,
    Checks,
    Maintenance,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub kind: Kind,
}

/// One local signal: `Some(())` for a change (or lagged signals: something changed), `None` once
/// the service is gone.
fn signal(r: Result<(), RecvError>) -> Option<()> {
    match r {
        Ok(()) | Err(RecvError::Lagged(_)) => Some(()),
        Err(RecvError::Closed) => None,
    }
}

async fn next_alerting(rx: &mut Receiver<Change>) -> Option<()> {
    loop {
        match rx.recv().await {
            Ok(Change::Edited) | Err(RecvError::Lagged(_)) => return Some(()),
            // Acknowledgements travel on the `alerts` channel.
            Ok(Change::Acknowledged { .. }) => continue,
            Err(RecvError::Closed) => return None,
        }
    }
}

/// Reloads `kind` from the store; a failure is logged (the next change or resync tries again).
async fn reload(s: &Services, kind: Kind) {
    let now = crate::clock::now_millis();
    let result = match kind {
        Kind::Servers => s
            .fleet
            .reload()
            .await
            .map(|removed| {
                for id in removed {
                    // Its alerts end with it, as its history did.
                    s.alerting.forget_server(&id, now);
                }
            })
            .map_err(anyhow::Error::from),
        Kind::Alerting => s.alerting.reload(now).await.map_err(anyhow::Error::from),
        Kind::Checks => s.checks.reload().await.map_err(anyhow::Error::from),
        Kind::Maintenance => s.maintenance.reload().await.map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => tracing::debug!(?kind, "reloaded after an edit on another hub"),
        Err(e) => tracing::warn!(?kind, error = %e, "cannot reload after an edit on another hub"),
    }
}

pub fn start(services: &Services, c: &cluster::Cluster) -> anyhow::Result<()> {
    let channel = std::sync::Arc::new(c.channel::<Changed>(CHANNEL)?);
    let (s, ch) = (services.clone(), channel.clone());
    services.supervisor.spawn("changes-publish", move |ctx| {
        let (s, ch) = (s.clone(), ch.clone());
        async move {
            let mut servers = s.fleet.subscribe_changes();
            let mut alerting = s.alerting.subscribe_changes();
            let mut checks = s.checks.subscribe_changes();
            let mut maintenance = s.maintenance.subscribe_changes();
            loop {
                let (kind, open) = tokio::select! {
                    r = servers.recv() => (Kind::Servers, signal(r)),
                    r = next_alerting(&mut alerting) => (Kind::Alerting, r),
                    r = checks.recv() => (Kind::Checks, signal(r)),
                    r = maintenance.recv() => (Kind::Maintenance, signal(r)),
                    _ = ctx.cancel.cancelled() => return Ok(()),
                };
                if open.is_none() {
                    return Ok(());
                }
                // Redis away: the others miss it, and reload everything when their bus is back.
                let _ = ch.publish(&Changed { kind }).await;
            }
        }
    });
    let s = services.clone();
    services.supervisor.spawn("changes-apply", move |ctx| {
        let (s, ch) = (s.clone(), channel.clone());
        async move {
            let mut sub = ch.subscribe();
            loop {
                let event = tokio::select! {
                    e = sub.recv() => e,
                    _ = ctx.cancel.cancelled() => return Ok(()),
                };
                match event {
                    Some(cluster::BusEvent::Message { message, .. }) => reload(&s, message.kind).await,
                    Some(cluster::BusEvent::Missed(m)) => {
                        tracing::debug!(?m, "missed edits from other hubs; reloading everything");
                        for kind in [Kind::Servers, Kind::Alerting, Kind::Checks, Kind::Maintenance] {
                            reload(&s, kind).await;
                        }
                    }
                    None => return Ok(()),
                }
                ctx.heartbeat.beat();
            }
        }
    });
    Ok(())
}
