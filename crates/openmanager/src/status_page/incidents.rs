//! The status page's incidents: opened when a listed check goes down (resolved when it comes back)
//! and when an alert of a listed item fires (resolved with it), with operator notes added through
//! `POST /api/status-page/incidents/{id}/notes`. Saved store-first in the key-value table
//! (`status_page/incident/<id>`), so notes and past incidents survive a restart; bounded in number
//! (the oldest resolved ones go first) and in notes per incident.
//!
//! [`reconcile`] is pure: the job hands it what it sees (the incidents that are open now, and the
//! items it could see) and gets back what changed, which [`Incidents::apply`] saves.

use std::collections::HashSet;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::{self, ItemKind};
use crate::validation::{FieldError, new_id};

/// Incidents kept (open and resolved); past this the oldest resolved one is deleted.
pub const MAX_INCIDENTS: usize = 200;
/// Notes on one incident.
pub const MAX_NOTES: usize = 20;
/// Characters in one note.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Incidents the public page shows (newest first).
pub const PAGE_INCIDENTS: usize = 50;
const PREFIX: &str = "status_page/incident/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = IncidentCause)]
pub enum Cause {
    /// A listed check was down.
    Check,
    /// An alert of a listed server or check fired.
    Alert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Resolved,
}

/// An operator's note on an incident, shown on the public page (escaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = StatusIncidentNote)]
pub struct Note {
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    pub text: String,
}

/// An incident as kept and as the admin API shows it (`GET /api/status-page/incidents`). The
/// public page shows only its title, status, times and notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StatusIncident)]
pub struct Incident {
    pub id: String,
    pub cause: Cause,
    pub item_kind: ItemKind,
    /// The server or check id it belongs to.
    pub item_id: String,
    /// What opened it, so the job finds it again: `<checkId>@<down since, ms>` or the alert's id.
    pub key: String,
    pub title: String,
    pub status: IncidentStatus,
    #[schema(value_type = String, format = DateTime)]
    pub started: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, nullable = false)]
    pub resolved: Option<jiff::Timestamp>,
    #[serde(default)]
    pub notes: Vec<Note>,
}

/// An incident the job sees open now (a check down, an alert firing) or an alert it sees resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub key: String,
    pub cause: Cause,
    pub item_kind: ItemKind,
    pub item_id: String,
    pub title: String,
    pub started_ms: i64,
    /// When it ended, if it has.
    pub resolved_ms: Option<i64>,
}

/// `POST /api/status-page/incidents/{id}/notes`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// 1-1000 printable characters, not only spaces.
    #[schema(
        max_length = 1000,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid `{}`", .0.first().map(|e| e.field.as_str()).unwrap_or("body"))]
    Invalid(Vec<FieldError>),
    #[error("store failure")]
    Store(#[source] anyhow::Error),
}

impl From<store::Error> for IncidentError {
    fn from(e: store::Error) -> Self {
        Self::Store(e.into())
    }
}

fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// What [`reconcile`] decided: incidents to save (new or changed) and ids to delete.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub save: Vec<Incident>,
    pub delete: Vec<String>,
}

/// Compares what is kept with what the job sees at `now_ms`: a seen incident not kept is opened
/// (or kept as resolved, for an alert seen already resolved); a kept open one is resolved when seen
/// resolved, or when its item was `watched` (listed and visible) and it is no longer seen at all
/// (a check back up, an alert gone with its rule). Past [`MAX_INCIDENTS`] the oldest resolved ones
/// are deleted; a new incident that finds only open ones is not kept.
pub fn reconcile(
    kept: &[Incident],
    seen: &[Seen],
    watched: &HashSet<(ItemKind, String)>,
    now_ms: i64,
    mut make_id: impl FnMut() -> String,
) -> Changes {
    let mut out = Changes::default();
    let mut all: Vec<Incident> = kept.to_vec();
    for s in seen {
        match all.iter_mut().find(|i| i.key == s.key && i.item_kind == s.item_kind) {
            Some(i) => {
                if i.status == IncidentStatus::Open
                    && let Some(r) = s.resolved_ms
                {
                    i.status = IncidentStatus::Resolved;
                    i.resolved = Some(ts(r));
                    out.save.push(i.clone());
                }
            }
            None => all.push(Incident {
                id: make_id(),
                cause: s.cause,
                item_kind: s.item_kind,
                item_id: s.item_id.clone(),
                key: s.key.clone(),
                title: s.title.clone(),
                status: if s.resolved_ms.is_some() { IncidentStatus::Resolved } else { IncidentStatus::Open },
                started: ts(s.started_ms),
                resolved: s.resolved_ms.map(ts),
                notes: Vec::new(),
            }),
        }
    }
    for i in all.iter_mut() {
        let gone = !seen.iter().any(|s| s.key == i.key && s.item_kind == i.item_kind);
        if i.status == IncidentStatus::Open && gone && watched.contains(&(i.item_kind, i.item_id.clone())) {
            i.status = IncidentStatus::Resolved;
            i.resolved = Some(ts(now_ms));
            out.save.push(i.clone());
        }
    }
    let new: Vec<Incident> = all.iter().filter(|i| !kept.iter().any(|k| k.id == i.id)).cloned().collect();
    // Room: the oldest resolved go first; new ones beyond what is left are dropped.
    let mut kept_ids: Vec<&Incident> = all.iter().filter(|i| kept.iter().any(|k| k.id == i.id)).collect();
    let mut excess = (kept_ids.len() + new.len()).saturating_sub(MAX_INCIDENTS);
    kept_ids.sort_by_key(|i| i.started);
    for i in kept_ids.iter().filter(|i| i.status == IncidentStatus::Resolved) {
        if excess == 0 {
            break;
        }
        out.delete.push(i.id.clone());
        excess -= 1;
    }
    out.save.retain(|i| !out.delete.contains(&i.id));
    let room = new.len().saturating_sub(excess);
    out.save.extend(new.into_iter().take(room));
    out
}

/// The kept incidents, with the edits that change them.
pub struct Incidents {
    list: RwLock<Vec<Incident>>,
    store: store::Store,
    edits: tokio::sync::Mutex<()>,
}

impl Incidents {
    pub async fn load(store: &store::Store) -> Result<Self, IncidentError> {
        let mut list = Vec::new();
        for key in store.kv_keys(PREFIX).await? {
            let Some(value) = store.get_kv(&key).await? else { continue };
            match serde_json::from_value::<Incident>(value) {
                Ok(i) => list.push(i),
                Err(e) => tracing::warn!(key, error = %e, "skipping an unreadable incident"),
            }
        }
        Ok(Self { list: RwLock::new(list), store: store.clone(), edits: tokio::sync::Mutex::new(()) })
    }

    /// Every kept incident, newest first.
    pub fn list(&self) -> Vec<Incident> {
        let mut all = self.list.read().clone();
        all.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.id.cmp(&a.id)));
        all
    }

    /// Brings the kept incidents in line with what the job sees (see [`reconcile`]); saved first.
    pub async fn update(
        &self,
        seen: &[Seen],
        watched: &HashSet<(ItemKind, String)>,
        now_ms: i64,
    ) -> Result<(), IncidentError> {
        let _edit = self.edits.lock().await;
        let kept = self.list.read().clone();
        let changes = reconcile(&kept, seen, watched, now_ms, || new_id("inc"));
        for id in &changes.delete {
            self.store.delete_kv(&format!("{PREFIX}{id}")).await?;
            self.list.write().retain(|i| &i.id != id);
        }
        for i in changes.save {
            self.save(&i).await?;
            let mut list = self.list.write();
            match list.iter_mut().find(|k| k.id == i.id) {
                Some(k) => *k = i,
                None => list.push(i),
            }
        }
        Ok(())
    }

    async fn save(&self, i: &Incident) -> Result<(), IncidentError> {
        let value = serde_json::to_value(i).map_err(|e| IncidentError::Store(e.into()))?;
        self.store.put_kv(&format!("{PREFIX}{}", i.id), &value).await?;
        Ok(())
    }

    /// Adds an operator's note (at most [`MAX_NOTES`] per incident, [`MAX_NOTE_CHARS`] each).
    pub async fn add_note(&self, id: &str, note: NewNote, now_ms: i64) -> Result<Incident, IncidentError> {
        let mut e = Vec::new();
        crate::validation::check_name("text", &note.text, MAX_NOTE_CHARS, &mut e);
        if !e.is_empty() {
            return Err(IncidentError::Invalid(e));
        }
        let _edit = self.edits.lock().await;
        let mut incident = self
            .list
            .read()
            .iter()
            .find(|i| i.id == id)
            .cloned()
            .ok_or_else(|| IncidentError::NotFound(format!("incident `{id}`")))?;
        if incident.notes.len() >= MAX_NOTES {
            return Err(IncidentError::Conflict(format!("at most {MAX_NOTES} notes on an incident")));
        }
        incident.notes.push(Note { at: ts(now_ms), text: note.text });
        self.save(&incident).await?;
        if let Some(k) = self.list.write().iter_mut().find(|k| k.id == id) {
            *k = incident.clone();
        }
        Ok(incident)
    }

    /// The incidents of `listed` items as the public page shows them, newest first, at most
    /// [`PAGE_INCIDENTS`]; and each item's incident start times (for the daily bars).
    pub fn public(&self, listed: &HashSet<(ItemKind, String)>) -> Vec<(ItemKind, String, page::Incident, i64)> {
        self.list()
            .into_iter()
            .filter(|i| listed.contains(&(i.item_kind, i.item_id.clone())))
            .take(PAGE_INCIDENTS)
            .map(|i| {
                let started_ms = i.started.as_millisecond();
                let shown = page::Incident {
                    title: i.title,
                    status: match i.status {
                        IncidentStatus::Open => "open",
                        IncidentStatus::Resolved => "resolved",
                    }
                    .to_string(),
                    started: crate::clock::millis_rfc3339(started_ms),
                    resolved: i.resolved.map(|r| crate::clock::millis_rfc3339(r.as_millisecond())),
                    notes: i
                        .notes
                        .into_iter()
                        .map(|n| page::IncidentNote {
                            at: crate::clock::millis_rfc3339(n.at.as_millisecond()),
                            text: n.text,
                        })
                        .collect(),
                };
                (i.item_kind, i.item_id, shown, started_ms)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn seen(key: &str, started: i64, resolved: Option<i64>) -> Seen {
        Seen {
            key: key.into(),
            cause: Cause::Check,
            item_kind: ItemKind::Check,
            item_id: "c1".into(),
            title: "API is down".into(),
            started_ms: started,
            resolved_ms: resolved,
        }
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("inc-{n}")
        }
    }

    #[test]
    fn opens_then_resolves_when_no_longer_seen() {
        let watched = HashSet::from([(ItemKind::Check, "c1".to_string())]);
        let c = reconcile(&[], &[seen("c1@1000", 1000, None)], &watched, 2000, ids());
        assert_eq!(c.save.len(), 1);
        assert_eq!(c.save[0].status, IncidentStatus::Open);
        let kept = c.save;
        // Seen again: nothing changes.
        assert_eq!(reconcile(&kept, &[seen("c1@1000", 1000, None)], &watched, 3000, ids()), Changes::default());
        // Not seen while watched: resolved now.
        let c = reconcile(&kept, &[], &watched, 4000, ids());
        assert_eq!(c.save[0].status, IncidentStatus::Resolved);
        assert_eq!(c.save[0].resolved, Some(ts(4000)));
        // Not seen and not watched (unlisted, or deleted): left as it is.
        assert_eq!(reconcile(&kept, &[], &HashSet::new(), 4000, ids()), Changes::default());
    }

    #[test]
    fn alerts_seen_resolved_resolve_at_their_time() {
        let watched = HashSet::new();
        let kept = reconcile(&[], &[seen("a1", 1000, None)], &watched, 1000, ids()).save;
        let c = reconcile(&kept, &[seen("a1", 1000, Some(5000))], &watched, 9000, ids());
        assert_eq!((c.save[0].status, c.save[0].resolved), (IncidentStatus::Resolved, Some(ts(5000))));
    }

    #[test]
    fn bounded_dropping_the_oldest_resolved() {
        let mut next = ids();
        let kept: Vec<Incident> = (0..MAX_INCIDENTS as i64)
            .map(|n| {
                let mut i = reconcile(&[], &[seen(&format!("k{n}"), n, Some(n + 1))], &HashSet::new(), 0, &mut next)
                    .save
                    .remove(0);
                i.id = format!("old-{n}");
                i
            })
            .collect();
        let c = reconcile(&kept, &[seen("new", 10_000, None)], &HashSet::new(), 10_000, ids());
        assert_eq!(c.delete, vec!["old-0".to_string()]);
        assert_eq!(c.save.len(), 1);
        assert_eq!(c.save[0].key, "new");
    }
}
