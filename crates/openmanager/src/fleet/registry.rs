//! The in-memory registry: every server the hub knows, from four sources (`self`, `agent`, `static`,
//! `simulated`), their latest metrics and detail, and the status rules of API.md. Simulated servers
//! are computed at read time (pure function of time), so the registry holds only the other three.
//! No IO: the [`super::Fleet`] service persists what changes here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use parking_lot::RwLock;
use protocol::Inventory;

use super::error::FleetError;
use super::model::{Live, ServerMeta, ServerView, Source, Status};
use super::simulated;
use super::status::Thresholds;

/// One registered server.
#[derive(Debug, Clone)]
pub struct Entry {
    pub meta: ServerMeta,
    pub live: Option<Live>,
    pub detail: Option<Arc<Inventory>>,
}

/// Most servers the registry holds (agents and static), so a flood of registrations cannot grow
/// memory without bound.
pub const MAX_SERVERS: usize = 10_000;

pub struct Registry {
    thresholds: Thresholds,
    /// Seed of the simulated fleet, or `None` when the simulation is off.
    simulation: Option<u64>,
    entries: RwLock<BTreeMap<String, Entry>>,
    /// Firing alerts per server, set by the alerting loop after each evaluation.
    alert_counts: RwLock<HashMap<String, u32>>,
    /// Windows whose servers show `maintenance` while they are in effect (read at each snapshot,
    /// so a window starts and ends on time without a job; `None` in unit tests).
    maintenance: Option<Arc<crate::maintenance::Maintenance>>,
}

/// A server as served by the API: the list item and, for the detail route, what else is known.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub view: ServerView,
    pub live: Option<Live>,
    pub detail: Option<Arc<Inventory>>,
}

impl Registry {
    pub fn new(thresholds: Thresholds, simulation: Option<u64>) -> Self {
        Self { thresholds, simulation, entries: RwLock::default(), alert_counts: RwLock::default(), maintenance: None }
    }

    /// The same, with servers covered by a window in effect shown as `maintenance`.
    pub fn with_maintenance(mut self, maintenance: Arc<crate::maintenance::Maintenance>) -> Self {
        self.maintenance = Some(maintenance);
        self
    }

    /// The servers in a maintenance window at `now_ms` (read once per listing, not per server).
    fn scheduled(&self, now_ms: i64) -> HashSet<String> {
        self.maintenance.as_ref().map(|m| m.active(now_ms).servers).unwrap_or_default()
    }

    /// Replaces the firing-alert counts shown in each server's `alerts` field.
    pub fn set_alert_counts(&self, counts: HashMap<String, u32>) {
        *self.alert_counts.write() = counts;
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    pub fn simulation_seed(&self) -> Option<u64> {
        self.simulation
    }

    /// Adds or replaces a server's description (self, restored servers). Replacing always works;
    /// adding past [`MAX_SERVERS`] is refused, checked under the same lock as the insert.
    pub fn upsert(&self, meta: ServerMeta) -> Result<(), FleetError> {
        let mut e = self.entries.write();
        let full = e.len() >= MAX_SERVERS;
        match e.get_mut(&meta.id) {
            Some(entry) => entry.meta = meta,
            None if full => return Err(FleetError::Full(MAX_SERVERS)),
            None => {
                e.insert(meta.id.clone(), Entry { meta, live: None, detail: None });
            }
        }
        Ok(())
    }

    /// Records the latest metrics (and detail, when sent) of a registered server.
    pub fn update(&self, id: &str, live: Live, detail: Option<Inventory>) -> bool {
        let mut e = self.entries.write();
        let Some(entry) = e.get_mut(id) else { return false };
        // Batches may arrive out of order after a replay; keep the newest reading.
        if entry.live.is_none_or(|l| l.at_ms <= live.at_ms) {
            entry.live = Some(live);
        }
        if let Some(d) = detail {
            entry.detail = Some(Arc::new(d));
        }
        true
    }

    fn name_taken(&self, entries: &BTreeMap<String, Entry>, name: &str, except: Option<&str>) -> bool {
        let simulated = self.simulation.is_some() && simulated::is_simulated(name);
        simulated
            || entries.values().any(|e| e.meta.name.eq_ignore_ascii_case(name) && Some(e.meta.id.as_str()) != except)
    }

    /// Registers a static server; its id is its name.
    pub fn register(&self, meta: ServerMeta) -> Result<ServerMeta, FleetError> {
        let mut e = self.entries.write();
        if self.name_taken(&e, &meta.name, None) || e.contains_key(&meta.id) {
            return Err(FleetError::Duplicate(meta.name));
        }
        if e.len() >= MAX_SERVERS {
            return Err(FleetError::Full(MAX_SERVERS));
        }
        e.insert(meta.id.clone(), Entry { meta: meta.clone(), live: None, detail: None });
        Ok(meta)
    }

    /// Changes a registered server's description with `f`; refuses simulated ones and duplicate names.
    pub fn modify(&self, id: &str, f: impl FnOnce(&mut ServerMeta)) -> Result<ServerMeta, FleetError> {
        if self.is_simulated(id) {
            return Err(FleetError::Simulated(id.into()));
        }
        let mut e = self.entries.write();
        let mut meta = e.get(id).map(|x| x.meta.clone()).ok_or_else(|| FleetError::NotFound(id.into()))?;
        f(&mut meta);
        if self.name_taken(&e, &meta.name, Some(id)) {
            return Err(FleetError::Duplicate(meta.name));
        }
        if let Some(entry) = e.get_mut(id) {
            entry.meta = meta.clone();
        }
        Ok(meta)
    }

    pub fn remove(&self, id: &str) -> Result<ServerMeta, FleetError> {
        if self.is_simulated(id) {
            return Err(FleetError::Simulated(id.into()));
        }
        self.entries.write().remove(id).map(|x| x.meta).ok_or_else(|| FleetError::NotFound(id.into()))
    }

    /// The description of a registered (non-simulated) server.
    pub fn meta(&self, id: &str) -> Option<ServerMeta> {
        self.entries.read().get(id).map(|e| e.meta.clone())
    }

    pub fn is_simulated(&self, id: &str) -> bool {
        self.simulation.is_some() && simulated::is_simulated(id)
    }

    pub fn source_of(&self, id: &str) -> Option<Source> {
        if self.is_simulated(id) {
            return Some(Source::Simulated);
        }
        self.entries.read().get(id).map(|e| e.meta.source)
    }

    /// Every server at `now_ms`, simulated first (the web app's order), then by id.
    pub fn snapshots(&self, now_ms: i64) -> Vec<Snapshot> {
        let mut out = Vec::new();
        let scheduled = self.scheduled(now_ms);
        if let Some(seed) = self.simulation {
            for meta in simulated::metas() {
                let live = simulated::live(&meta.id, now_ms, seed);
                out.push(self.snapshot(&meta, live, None, now_ms, &scheduled));
            }
        }
        for entry in self.entries.read().values() {
            out.push(self.snapshot(&entry.meta, entry.live, entry.detail.clone(), now_ms, &scheduled));
        }
        out
    }

    pub fn get(&self, id: &str, now_ms: i64) -> Option<Snapshot> {
        if let Some(seed) = self.simulation
            && simulated::is_simulated(id)
        {
            let meta = simulated::metas().into_iter().find(|m| m.id == id)?;
            let live = simulated::live(id, now_ms, seed);
            return Some(self.snapshot(&meta, live, None, now_ms, &self.scheduled(now_ms)));
        }
        let scheduled = self.scheduled(now_ms);
        let e = self.entries.read();
        let entry = e.get(id)?;
        Some(self.snapshot(&entry.meta, entry.live, entry.detail.clone(), now_ms, &scheduled))
    }

    fn snapshot(
        &self,
        meta: &ServerMeta,
        live: Option<Live>,
        detail: Option<Arc<Inventory>>,
        now_ms: i64,
        scheduled: &HashSet<String>,
    ) -> Snapshot {
        let status = if scheduled.contains(&meta.id) {
            Status::Maintenance
        } else {
            self.thresholds.status(meta, live.as_ref(), now_ms)
        };
        let alerts = self.alert_counts.read().get(&meta.id).copied().unwrap_or(0);
        Snapshot { view: ServerView::new(meta, live.as_ref(), status, alerts), live, detail }
    }

    /// Number of registered (non-simulated) servers.
    pub fn registered(&self) -> usize {
        self.entries.read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::listing::Summary;
    use crate::fleet::model::Status;
    use crate::fleet::request::NewServer;

    fn fleet(sim: bool) -> Registry {
        Registry::new(Thresholds::default(), sim.then_some(42))
    }

    fn static_server(name: &str) -> ServerMeta {
        serde_json::from_str::<NewServer>(&format!(r#"{{"name": "{name}"}}"#)).unwrap().into_meta()
    }

    #[test]
    fn simulated_fleet_is_listed_and_protected() {
        let f = fleet(true);
        let all = f.snapshots(1_704_067_200_000);
        assert_eq!(all.len(), 10);
        assert!(all.iter().all(|s| s.view.source == Source::Simulated && s.live.is_some()));
        assert!(matches!(f.register(static_server("web-01")), Err(FleetError::Duplicate(n)) if n == "web-01"));
        assert!(matches!(f.remove("web-01"), Err(FleetError::Simulated(_))));
        assert!(fleet(false).snapshots(0).is_empty());
    }

    #[test]
    fn static_servers_are_unknown_until_data_then_offline_when_silent() {
        let f = fleet(false);
        f.register(static_server("db-9")).unwrap();
        assert_eq!(f.get("db-9", 1000).unwrap().view.status, Status::Unknown);
        let live = Live { at_ms: 1000, cpu: Some(95.0), memory: Some(10.0), ..Live::default() };
        assert!(f.update("db-9", live, None));
        assert_eq!(f.get("db-9", 2000).unwrap().view.status, Status::Critical);
        let offline_at = 1000 + Thresholds::default().offline_after_ms + 1;
        assert_eq!(f.get("db-9", offline_at).unwrap().view.status, Status::Offline);
        // A source that said it batches (an agent's `quiet`) stays online that much longer.
        assert!(f.update("db-9", Live { at_ms: 1001, quiet_ms: 20_000, ..live }, None));
        assert_eq!(f.get("db-9", offline_at).unwrap().view.status, Status::Critical);
        assert_eq!(f.get("db-9", offline_at + 20_001).unwrap().view.status, Status::Offline);
        assert!(matches!(f.register(static_server("DB-9")), Err(FleetError::Duplicate(n)) if n == "DB-9"));
        let renamed = f.modify("db-9", |m| m.name = "db-10".into()).unwrap();
        assert_eq!((renamed.id.as_str(), renamed.name.as_str()), ("db-9", "db-10"));
        f.remove("db-9").unwrap();
        assert!(f.get("db-9", 0).is_none());
    }

    #[test]
    fn summary_counts_by_status() {
        let f = fleet(true);
        let snaps = f.snapshots(1_704_067_200_000 + 40 * 60 * 1000); // critical phase of the first hour
        let views: Vec<&ServerView> = snaps.iter().map(|s| &s.view).collect();
        let s = Summary::of(&views, usize::MAX);
        assert_eq!(s.total_servers, 10);
        assert_eq!(s.healthy_count + s.warning_count + s.critical_count + s.offline_count, 10);
        assert!(s.critical_count >= 1, "{s:?}");
        assert_eq!(s.critical_servers.len(), s.critical_count);
    }
}
