//! The status page's job: every minute (at once after a change of settings or of maintenance
//! windows, and when a listed check goes down or comes back) it gathers the listed servers' and
//! checks' states, their daily uptime and their alerts, brings the incidents in line with them,
//! builds the page and hands it to the status page service, which serves it from memory.

use std::collections::HashSet;
use std::time::Duration;

use crate::alerts::{Alert, AlertFilter, AlertState};
use crate::checks::wire::CheckStatus;
use crate::fleet::model::Status;
use crate::services::Services;
use crate::status_page::incidents::{Cause, Seen};
use crate::status_page::page::{self, ItemInput, ItemKind, ItemStatus};

const EVERY: Duration = Duration::from_secs(60);
/// Least time between two rebuilds caused by check changes.
const REBUILD_GAP: Duration = Duration::from_secs(1);
/// Alerts read for incidents (newest first).
const MAX_ALERTS: usize = 500;

pub fn start(services: &Services) {
    let s = services.clone();
    services.supervisor.spawn_periodic("status-page", EVERY, move || {
        let s = s.clone();
        async move { refresh(&s).await }
    });
    // A listed check going down or coming back opens or resolves its incident now, not at the
    // next minute. At most one rebuild a second, however often checks change.
    let s = services.clone();
    services.supervisor.spawn("status-page-checks", move |ctx| {
        let s = s.clone();
        async move {
            let mut updates = s.checks.subscribe();
            loop {
                let update = tokio::select! {
                    u = updates.recv() => u,
                    _ = ctx.cancel.cancelled() => return Ok(()),
                };
                let listed = match update {
                    Ok(u) => u.changed && s.status_page.lists_check(&u.id),
                    // Missed some: rebuild to be sure.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                };
                ctx.heartbeat.beat();
                if listed {
                    if let Err(e) = refresh(&s).await {
                        tracing::warn!(error = format!("{e:#}"), "cannot rebuild the status page");
                    }
                    tokio::time::sleep(REBUILD_GAP).await;
                }
            }
        }
    });
}

/// Builds and publishes the page now (nothing while it is off): first brings the incidents in line
/// with the listed items' checks and alerts (saved), then builds the page from them.
pub async fn refresh(s: &Services) -> anyhow::Result<()> {
    let settings = s.status_page.settings();
    if !settings.enabled {
        return Ok(());
    }
    let now = crate::clock::now_millis();
    let alerts = s.alerting.list(&AlertFilter::default(), None, MAX_ALERTS).map(|(a, _)| a).unwrap_or_default();
    let mut inputs = Vec::new();
    let mut seen = Vec::new();
    // Listed items that exist (their incidents are shown), and those whose state is known, so an
    // incident of theirs no longer seen has ended (a check still pending after a restart has not
    // said so yet).
    let mut listed = HashSet::new();
    let mut watched = HashSet::new();
    let views = s.fleet.views();
    for id in &settings.servers {
        // Unknown ids are skipped: the page shows what exists and was listed, nothing else.
        let Some(v) = views.iter().find(|v| &v.id == id) else { continue };
        let status = match v.status {
            Status::Online => ItemStatus::Up,
            Status::Warning | Status::Critical => ItemStatus::Degraded,
            Status::Offline => ItemStatus::Down,
            Status::Maintenance => ItemStatus::Maintenance,
            Status::Unknown => ItemStatus::Unknown,
        };
        listed.insert((ItemKind::Server, id.clone()));
        watched.insert((ItemKind::Server, id.clone()));
        seen.extend(alert_incidents(&alerts, id, ItemKind::Server, id, &v.name));
        let daily = s.fleet.daily_uptime(id, page::DAYS, now).await?;
        inputs.push((ItemKind::Server, id.clone(), v.name.clone(), status, daily));
    }
    for id in &settings.checks {
        let Ok(c) = s.checks.get(id, now) else { continue };
        let status = match c.state.status {
            CheckStatus::Up => ItemStatus::Up,
            CheckStatus::Down => ItemStatus::Down,
            CheckStatus::Maintenance => ItemStatus::Maintenance,
            CheckStatus::Pending | CheckStatus::Unknown => ItemStatus::Unknown,
        };
        listed.insert((ItemKind::Check, id.clone()));
        if !matches!(c.state.status, CheckStatus::Pending | CheckStatus::Unknown) {
            watched.insert((ItemKind::Check, id.clone()));
        }
        if c.state.status == CheckStatus::Down {
            // One incident per down period: keyed by when this one began.
            let since = c.state.since.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok());
            let since = since.map_or(now, |t| t.as_millisecond());
            seen.push(Seen {
                key: format!("{id}@{since}"),
                cause: Cause::Check,
                item_kind: ItemKind::Check,
                item_id: id.clone(),
                title: format!("{} is down", c.spec.name),
                started_ms: since,
                resolved_ms: None,
            });
        }
        let subject = crate::alerts::rule::check_subject(id);
        seen.extend(alert_incidents(&alerts, &subject, ItemKind::Check, id, &c.spec.name));
        let daily = s.checks.daily_uptime(id, page::DAYS, now).await?;
        inputs.push((ItemKind::Check, id.clone(), c.spec.name.clone(), status, daily));
    }
    s.status_page.incidents.update(&seen, &watched, now).await?;
    let shown = s.status_page.incidents.public(&listed);
    let inputs: Vec<ItemInput> = inputs
        .into_iter()
        .map(|(kind, id, name, status, daily)| ItemInput {
            incident_starts: shown.iter().filter(|i| i.0 == kind && i.1 == id).map(|i| i.3).collect(),
            name,
            kind,
            status,
            daily,
        })
        .collect();
    let incidents = shown.into_iter().map(|i| i.2).collect();
    let page = page::build(&settings.title, &inputs, incidents, now);
    s.status_page.publish(&page);
    Ok(())
}

/// The fired alerts of one item (`subject`: a server id or `check:<id>`) as incidents: the rule's
/// name and the item's display name (never the alert's text, which may quote values or hosts).
fn alert_incidents(alerts: &[Alert], subject: &str, kind: ItemKind, id: &str, name: &str) -> Vec<Seen> {
    alerts
        .iter()
        .filter(|a| a.server_id == subject && a.state != AlertState::Pending)
        .map(|a| Seen {
            key: a.id.clone(),
            cause: Cause::Alert,
            item_kind: kind,
            item_id: id.to_string(),
            title: format!("{}: {}", name, a.rule_name),
            started_ms: a.fired_at.unwrap_or(a.started_at),
            resolved_ms: if a.state == AlertState::Resolved { a.resolved_at.or(Some(a.started_at)) } else { None },
        })
        .collect()
}
