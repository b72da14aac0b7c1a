//! The fleet service: every server the hub knows (simulated, this host, agents, registered by hand),
//! their latest metrics, their history, and the operations that change them. It owns its rules:
//! registration checks the cap and the name atomically and persists before answering; ingest is one
//! operation any source (the HTTP route, a scale-out peer) calls; history and series are read the
//! same way by every caller. Returns [`FleetError`]s; knows nothing of HTTP.

pub mod detail;
pub mod error;
pub mod history;
pub mod ingest;
pub mod listing;
pub mod live;
pub mod metric;
pub mod model;
pub mod registry;
pub mod request;
pub mod simulated;
pub mod sink;
pub mod status;
pub mod uptime;
pub mod wire;

use prometheus_client::metrics::counter::Counter;

pub use error::FleetError;
use history::{HistoryPage, HistoryPoint, HistoryQuery, Series};
use listing::{ListQuery, Listing};
use live::LiveRing;
use metric::Metric;
use model::{Live, ServerMeta, ServerView, Source};
pub use registry::{MAX_SERVERS, Registry, Snapshot};
use request::{NewServer, ServerPatch};
pub use status::Thresholds;

use crate::clock;

/// The id of the hub's own host in the fleet.
pub const SELF_ID: &str = "self";
/// The store's key-value prefix of persisted server descriptions.
const KV_PREFIX: &str = "fleet/";

/// Counters the ingest path keeps for Prometheus (shared with the exporter's registry).
#[derive(Clone, Default)]
pub struct IngestCounters {
    pub reports: Counter,
    pub samples: Counter,
    pub duplicates: Counter,
}

pub struct Fleet {
    registry: Registry,
    store: store::Store,
    live: LiveRing,
    counters: IngestCounters,
    /// Where stored samples go next (remote write, the cluster bus).
    sinks: sink::Sinks,
    /// The bases of agents' compact batches.
    bases: ingest::Bases,
    /// Raised after an edit by hand (register, modify, remove).
    changed: crate::changes::Changed,
    /// Servers' past daily uptime, read once a day.
    uptime: uptime::UptimeCache,
}

fn kv_key(id: &str) -> String {
    format!("{KV_PREFIX}{id}")
}

impl Fleet {
    pub fn new(
        thresholds: Thresholds,
        simulation: Option<u64>,
        store: store::Store,
        counters: IngestCounters,
        maintenance: std::sync::Arc<crate::maintenance::Maintenance>,
    ) -> Self {
        Self {
            registry: Registry::new(thresholds, simulation).with_maintenance(maintenance),
            store,
            live: LiveRing::default(),
            counters,
            sinks: sink::Sinks::default(),
            bases: Default::default(),
            changed: Default::default(),
            uptime: Default::default(),
        }
    }

    /// Edits by hand through this hub (register, modify, remove), as they are stored.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<()> {
        self.changed.subscribe()
    }

    /// Servers again from the store (another hub registered, changed or removed some): stored
    /// descriptions replace this hub's, servers gone from the store go (agents and servers
    /// registered by hand only; simulated servers and this host are not stored). Returns the
    /// removed ids.
    pub async fn reload(&self) -> Result<Vec<String>, FleetError> {
        let mut stored: std::collections::HashMap<String, ServerMeta> = std::collections::HashMap::new();
        for key in self.store.kv_keys(KV_PREFIX).await? {
            let Some(value) = self.store.get_kv(&key).await? else { continue };
            if let Ok(meta) = serde_json::from_value::<ServerMeta>(value) {
                stored.insert(meta.id.clone(), meta);
            }
        }
        let mut removed = Vec::new();
        for view in self.views() {
            let kept_by_hand = matches!(self.registry.source_of(&view.id), Some(Source::Agent | Source::Static));
            if kept_by_hand && !stored.contains_key(&view.id) && self.registry.remove(&view.id).is_ok() {
                removed.push(view.id);
            }
        }
        for (id, meta) in stored {
            if self.registry.meta(&id).as_ref() != Some(&meta)
                && let Err(e) = self.registry.upsert(meta)
            {
                tracing::warn!(server = id, error = %e, "cannot list a server another hub stored");
            }
        }
        Ok(removed)
    }

    /// Another hub's newest reading of a server it serves (an agent reporting there): listed here
    /// too, with the same description. An id this hub knows as another kind of server (simulated,
    /// its own host) is left alone.
    pub fn apply_remote(&self, meta: ServerMeta, live: Live) {
        if !matches!(meta.source, Source::Agent | Source::Static)
            || !matches!(self.registry.source_of(&meta.id), Some(Source::Agent | Source::Static) | None)
        {
            return;
        }
        let id = meta.id.clone();
        if self.registry.meta(&id).as_ref() != Some(&meta)
            && let Err(e) = self.registry.upsert(meta)
        {
            tracing::debug!(server = id, error = %e, "cannot list another hub's server");
            return;
        }
        self.registry.update(&id, live, None);
    }

    /// Registers a sink for every sample stored from now on.
    pub fn add_sink(&self, s: std::sync::Arc<dyn sink::SampleSink>) {
        self.sinks.add(s);
    }

    /// Servers registered by hand and agents seen before, from the store. Returns how many.
    pub async fn restore(&self) -> Result<usize, FleetError> {
        let mut n = 0;
        for key in self.store.kv_keys(KV_PREFIX).await? {
            let Some(value) = self.store.get_kv(&key).await? else { continue };
            match serde_json::from_value::<ServerMeta>(value) {
                Ok(meta) => match self.registry.upsert(meta) {
                    Ok(()) => n += 1,
                    Err(e) => tracing::warn!(key, error = %e, "skipping a stored server"),
                },
                Err(e) => tracing::warn!(key, error = %e, "skipping an unreadable server record"),
            }
        }
        Ok(n)
    }

    /// The in-memory registry, for reads (snapshots, sources, thresholds).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// 1-second samples of servers that report that often (this host), for live charts.
    pub fn live(&self) -> &LiveRing {
        &self.live
    }

    pub fn snapshots(&self, now_ms: i64) -> Vec<Snapshot> {
        self.registry.snapshots(now_ms)
    }

    pub fn get(&self, id: &str, now_ms: i64) -> Option<Snapshot> {
        self.registry.get(id, now_ms)
    }

    pub fn simulation_seed(&self) -> Option<u64> {
        self.registry.simulation_seed()
    }

    /// Every server now as the API lists it.
    pub fn views(&self) -> Vec<ServerView> {
        self.snapshots(clock::now_millis()).into_iter().map(|s| s.view).collect()
    }

    /// A page of the fleet with the summary of everything the filters match.
    pub fn list(&self, q: &ListQuery, paginate: bool) -> Result<Listing, FleetError> {
        q.validate().map_err(FleetError::Invalid)?;
        Ok(listing::list(self.views().into_iter().map(ServerView::at_display_precision), q, paginate))
    }

    /// One server's detail (system info, interfaces, processes, cores, disks).
    pub fn detail(&self, id: &str) -> Result<detail::ServerDetail, FleetError> {
        let snap = self.get(id, clock::now_millis()).ok_or_else(|| FleetError::NotFound(id.into()))?;
        Ok(detail::ServerDetail::of(&snap, self.simulation_seed()))
    }

    fn view(&self, id: &str) -> Result<ServerView, FleetError> {
        self.get(id, clock::now_millis()).map(|s| s.view).ok_or_else(|| FleetError::NotFound(id.into()))
    }

    async fn persist(&self, meta: &ServerMeta) -> Result<(), FleetError> {
        let value = serde_json::to_value(meta).map_err(|e| FleetError::Store(e.into()))?;
        self.store.put_kv(&kv_key(&meta.id), &value).await?;
        Ok(())
    }

    /// Registers a server by hand (`unknown` until data arrives). The name and the cap are checked
    /// under the registry's lock; the record is in the store before the answer.
    pub async fn register(&self, body: NewServer) -> Result<ServerView, FleetError> {
        body.validate().map_err(FleetError::Invalid)?;
        let meta = self.registry.register(body.into_meta())?;
        if let Err(e) = self.persist(&meta).await {
            let _ = self.registry.remove(&meta.id);
            return Err(e);
        }
        self.changed.notify();
        self.view(&meta.id)
    }

    /// Changes a registered server's description.
    pub async fn modify(&self, id: &str, patch: ServerPatch) -> Result<ServerView, FleetError> {
        patch.validate().map_err(FleetError::Invalid)?;
        let before = self.registry.meta(id);
        let meta = self.registry.modify(id, |m| patch.apply(m))?;
        if let Err(e) = self.persist(&meta).await {
            if let Some(before) = before {
                let _ = self.registry.modify(id, |m| *m = before);
            }
            return Err(e);
        }
        self.changed.notify();
        self.view(id)
    }

    /// Removes a server and its history.
    pub async fn remove(&self, id: &str) -> Result<(), FleetError> {
        if self.registry.is_simulated(id) {
            return Err(FleetError::Simulated(id.into()));
        }
        if self.registry.meta(id).is_none() {
            return Err(FleetError::NotFound(id.into()));
        }
        self.store.delete_kv(&kv_key(id)).await?;
        self.store.delete_server(id).await?;
        self.registry.remove(id)?;
        self.changed.notify();
        Ok(())
    }

    /// This host's reading from the self-monitor: its description (when re-read), latest values,
    /// and a point in the live ring.
    pub fn record_self(&self, meta: Option<ServerMeta>, live: Live, inventory: Option<protocol::Inventory>) {
        if let Some(meta) = meta
            && let Err(e) = self.registry.upsert(meta)
        {
            tracing::warn!(error = %e, "cannot list this host in the fleet");
        }
        self.registry.update(SELF_ID, live, inventory);
        self.live.push(SELF_ID, live);
    }

    /// Stores one of this host's averaged points without waiting; a full queue drops it rather than
    /// stalling the self-monitor.
    pub fn store_self_point(&self, sample: protocol::Sample) {
        let mut s = store::Sample::new(SELF_ID, sample.timestamp_ms);
        s.values = sample.values;
        let values = (!self.sinks.is_empty()).then(|| (s.timestamp_ms, s.values.clone()));
        match self.store.submit(vec![s]) {
            Err(e) => tracing::debug!(error = %e, "self sample not stored"),
            Ok(_) => {
                if let (Some((ts, values)), Some(meta)) = (values, self.registry.meta(SELF_ID)) {
                    self.sinks.stored(&meta, ts, &values);
                }
            }
        }
    }

    /// A server's history page, as `/api/metrics/history` answers it.
    pub async fn history(&self, q: HistoryQuery) -> Result<HistoryPage, FleetError> {
        let now = clock::now_millis();
        let window = q.window(now).map_err(FleetError::Invalid)?;
        let server_id = match q.server_id {
            Some(id) => id,
            None => {
                let all = self.snapshots(now);
                let pick = all.iter().find(|s| s.view.source == Source::Local).or(all.first());
                pick.map(|s| s.view.id.clone()).ok_or_else(|| FleetError::NotFound("any server".into()))?
            }
        };
        let source = self.registry.source_of(&server_id).ok_or_else(|| FleetError::NotFound(server_id.clone()))?;
        let only = q.metric;
        if let (Source::Simulated, Some(seed)) = (source, self.simulation_seed()) {
            let step = history::step_for(window.to - window.from);
            let start = match q.cursor.as_deref() {
                Some(c) => {
                    c.parse::<i64>().map_err(|_| FleetError::invalid("cursor", "not a cursor from this endpoint"))?
                }
                None => window.from.div_euclid(step) * step,
            };
            let end = window.to.min(start.saturating_add(step.saturating_mul(window.limit as i64 - 1)));
            let lives = simulated::history(&server_id, start, end, step, seed);
            let next = (end < window.to.div_euclid(step) * step).then(|| (end + step).to_string());
            let points = lives.iter().map(|l| HistoryPoint::new(l.at_ms, |m| m.of_live(l), only)).collect();
            return Ok(HistoryPage { server_id, points, resolution_seconds: (step / 1000) as u64, next_cursor: next });
        }
        let metrics: Vec<&str> = match only {
            Some(m) => m.store_names().to_vec(),
            None => Metric::HISTORY.iter().flat_map(|m| m.store_names().iter().copied()).collect(),
        };
        let page =
            self.store.history(&server_id, &metrics, window.from, window.to, window.limit, q.cursor.as_deref()).await?;
        let points = page
            .points
            .iter()
            .map(|p| HistoryPoint::new(p.timestamp_ms, |m| m.of_named(|n| p.values.get(n).map(|s| s.avg)), only))
            .collect();
        Ok(HistoryPage {
            server_id,
            points,
            resolution_seconds: page.resolution_seconds,
            next_cursor: page.next_cursor,
        })
    }

    /// `metrics` of server `id` from `from_ms` to `to_ms`, at most `max_points` each, oldest first:
    /// the one series read behind the assistant, analyses and tools. The resolution is the store's
    /// for the span, or coarser when that would give more than `max_points` (the newest points are
    /// never cut off).
    pub async fn series(
        &self,
        id: &str,
        metrics: &[Metric],
        from_ms: i64,
        to_ms: i64,
        max_points: usize,
    ) -> Result<Vec<(Metric, Series)>, FleetError> {
        let source = self.registry.source_of(id).ok_or_else(|| FleetError::NotFound(id.into()))?;
        if let (Source::Simulated, Some(seed)) = (source, self.simulation_seed()) {
            let step = history::step_within(to_ms - from_ms, max_points);
            let lives = simulated::history(id, from_ms, to_ms, step, seed);
            return Ok(history::from_lives(&lives, metrics));
        }
        let names: Vec<&str> = metrics.iter().flat_map(|m| m.store_names().iter().copied()).collect();
        let mut page = self.store.history(id, &names, from_ms, to_ms, max_points, None).await?;
        // A page that did not reach the end has too many points at this tier: take a coarser one.
        let mut coarser = [store::Tier::M1, store::Tier::M10, store::Tier::H1].into_iter();
        while page.next_cursor.is_some() {
            let Some(tier) = coarser.find(|t| *t > page.tier) else { break };
            page = self.store.history_at(tier, id, &names, from_ms, to_ms, max_points, None).await?;
        }
        Ok(metrics
            .iter()
            .map(|m| {
                let points = page
                    .points
                    .iter()
                    .filter_map(|p| m.of_named(|n| p.values.get(n).map(|s| s.avg)).map(|v| (p.timestamp_ms, v)))
                    .collect();
                (*m, points)
            })
            .collect())
    }

    /// Uptime (0-1) of server `id` by UTC day start over the `days` days up to `now`, from its
    /// stored samples ([`uptime`]). Simulated servers have none: nothing of theirs is stored.
    pub async fn daily_uptime(&self, id: &str, days: i64, now: i64) -> Result<Vec<(i64, f64)>, FleetError> {
        match self.registry.source_of(id) {
            None => Err(FleetError::NotFound(id.into())),
            Some(Source::Simulated) => Ok(Vec::new()),
            Some(_) => Ok(self.uptime.daily(&self.store, id, days, now).await?),
        }
    }

    /// Firing-alert counts shown in each server's `alerts` field.
    pub fn set_alert_counts(&self, counts: std::collections::HashMap<String, u32>) {
        self.registry.set_alert_counts(counts);
    }
}
