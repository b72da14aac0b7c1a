//! The status page's job: every minute (and at once after a change of settings) it gathers the
//! listed servers' and checks' states, their daily uptime and their alerts, builds the page and
//! hands it to the status page service, which serves it from memory.

use std::time::Duration;

use crate::alerts::{AlertFilter, AlertState};
use crate::checks::wire::CheckStatus;
use crate::fleet::model::Status;
use crate::services::Services;
use crate::status_page::page::{self, Incident, ItemInput, ItemKind, ItemStatus};

const EVERY: Duration = Duration::from_secs(60);
/// Alerts read for incidents (newest first).
const MAX_ALERTS: usize = 500;

pub fn start(services: &Services) {
    let s = services.clone();
    services.supervisor.spawn_periodic("status-page", EVERY, move || {
        let s = s.clone();
        async move { refresh(&s).await }
    });
}

/// Builds and publishes the page now (nothing while it is off).
pub async fn refresh(s: &Services) -> anyhow::Result<()> {
    let settings = s.status_page.settings();
    if !settings.enabled {
        return Ok(());
    }
    let now = crate::clock::now_millis();
    let alerts = s.alerting.list(&AlertFilter::default(), None, MAX_ALERTS).map(|(a, _)| a).unwrap_or_default();
    let mut inputs = Vec::new();
    let mut incidents = Vec::new();
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
        let status = if s.maintenance.active(now).servers.contains(id) { ItemStatus::Maintenance } else { status };
        let mine: Vec<_> = alerts.iter().filter(|a| &a.server_id == id && a.state != AlertState::Pending).collect();
        incidents.extend(mine.iter().map(|a| incident(a, &v.name)));
        inputs.push(ItemInput {
            name: v.name.clone(),
            kind: ItemKind::Server,
            status,
            daily: Vec::new(),
            incident_starts: mine.iter().map(|a| a.started_at).collect(),
        });
    }
    for id in &settings.checks {
        let Ok(c) = s.checks.get(id, now) else { continue };
        let status = match c.state.status {
            CheckStatus::Up => ItemStatus::Up,
            CheckStatus::Down => ItemStatus::Down,
            CheckStatus::Maintenance => ItemStatus::Maintenance,
            CheckStatus::Pending | CheckStatus::Unknown => ItemStatus::Unknown,
        };
        let subject = crate::alerts::rule::check_subject(id);
        let mine: Vec<_> = alerts.iter().filter(|a| a.server_id == subject && a.state != AlertState::Pending).collect();
        incidents.extend(mine.iter().map(|a| incident(a, &c.spec.name)));
        inputs.push(ItemInput {
            name: c.spec.name.clone(),
            kind: ItemKind::Check,
            status,
            daily: s.checks.daily_uptime(id, page::DAYS, now).await?,
            incident_starts: mine.iter().map(|a| a.started_at).collect(),
        });
    }
    let page = page::build(&settings.title, &inputs, incidents, now);
    s.status_page.publish(&page);
    Ok(())
}

/// An alert as an incident: the rule's name and the item's display name (never the alert's text,
/// which may quote values or hosts).
fn incident(a: &crate::alerts::Alert, name: &str) -> Incident {
    let resolved = a.state == AlertState::Resolved;
    Incident {
        title: format!("{}: {}", name, a.rule_name),
        status: if resolved { "resolved" } else { "open" }.to_string(),
        started: crate::clock::millis_rfc3339(a.started_at),
        resolved: a.resolved_at.map(crate::clock::millis_rfc3339),
        notes: Vec::new(),
    }
}
