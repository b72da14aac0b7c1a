//! The checks service: service checks (HTTP, TCP, ping, DNS, TLS; the `probe` crate) defined through
//! the API with their validation and limits, saved store-first (`persist`), run by the hub's runner
//! (the job in `jobs/checks.rs` drives it) or by agents, and their results: each (check, place) has an
//! up/down state machine, results go into the history tiers (`history`), uptime is summarised per
//! window, and every change of state is published on a bounded broadcast for the adapters
//! (`check_update` on the WebSocket).

pub mod guard;
pub mod history;
pub mod persist;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc};

use crate::clock;
use crate::config::ChecksConfig;
use crate::tokens::TokenSet;
use crate::validation::{FieldError, from_value, new_id};
use history::{CheckHistory, CheckHistoryQuery};
use wire::{CheckSpec, CheckStatus, CheckView, StateView, Uptime};

/// Check updates kept for a slow subscriber before it misses some (it re-reads the list).
const EVENT_BUFFER: usize = 256;

/// Why a checks operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ChecksError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid `{}`", .0.first().map(|e| e.field.as_str()).unwrap_or("body"))]
    Invalid(Vec<FieldError>),
    /// Run-now requests are queued past their bound, or the hub does not run checks.
    #[error("{0}")]
    Unavailable(String),
    #[error("store failure")]
    Store(#[source] anyhow::Error),
}

impl From<store::Error> for ChecksError {
    fn from(e: store::Error) -> Self {
        Self::Store(e.into())
    }
}

fn invalid(field: &str, reason: &str) -> ChecksError {
    ChecksError::Invalid(vec![FieldError::new(field, reason)])
}

/// A check's state changed (or a result arrived): what `check_update` carries.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckUpdate {
    pub id: String,
    pub name: String,
    /// The check's overall state, then the place this result came from.
    pub state: StateView,
    pub location: StateView,
    /// Whether the status changed with this result.
    pub changed: bool,
}

/// One check as kept.
struct Entry {
    spec: CheckSpec,
    check: Arc<probe::Check>,
}

/// One (check, place): its state machine and newest result.
#[derive(Default)]
struct Slot {
    state: probe::CheckState,
    last: Option<probe::CheckResult>,
}

/// Results counted since start, for Prometheus.
#[derive(Debug, Default)]
pub struct ResultCounts {
    pub results: std::sync::atomic::AtomicU64,
    pub dropped: std::sync::atomic::AtomicU64,
}

pub struct Checks {
    checks: RwLock<BTreeMap<String, Entry>>,
    slots: Mutex<HashMap<(String, String), Slot>>,
    uptime: RwLock<HashMap<String, Uptime>>,
    runner: probe::Runner<probe::Prober>,
    /// The runner's results; the consuming job locks it, so a restarted job takes it up again.
    results: tokio::sync::Mutex<mpsc::Receiver<probe::CheckResult>>,
    store: store::Store,
    /// Held by edits: store and runner change together, one edit at a time.
    edits: tokio::sync::Mutex<()>,
    events: broadcast::Sender<CheckUpdate>,
    config: ChecksConfig,
    maintenance: Arc<crate::maintenance::Maintenance>,
    changed: crate::changes::Changed,
    pub counts: ResultCounts,
}

impl Checks {
    /// The checks saved in the store, handed to a new runner (not yet running: see `jobs::checks`).
    pub async fn load(
        store: &store::Store,
        config: &ChecksConfig,
        maintenance: Arc<crate::maintenance::Maintenance>,
    ) -> anyhow::Result<Self> {
        let prober = probe::Prober::new(probe::ProberConfig::default())?;
        let mut rc = probe::RunnerConfig::new(probe::HUB);
        rc.max_concurrent = config.max_concurrent;
        rc.max_checks = config.max_checks;
        let (runner, results) = probe::Runner::new(prober, rc);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let me = Self {
            checks: RwLock::default(),
            slots: Mutex::default(),
            uptime: RwLock::default(),
            runner,
            results: tokio::sync::Mutex::new(results),
            store: store.clone(),
            edits: tokio::sync::Mutex::new(()),
            events,
            config: config.clone(),
            maintenance,
            changed: Default::default(),
            counts: ResultCounts::default(),
        };
        for spec in persist::load(store).await? {
            let id = spec.id.clone().unwrap_or_default();
            match spec.to_def().validate() {
                Ok(check) => me.apply(&id, spec, check),
                Err(e) => tracing::warn!(check = id, errors = ?e, "skipping a stored check that no longer validates"),
            }
        }
        Ok(me)
    }

    /// The hub's runner, for the job that runs it.
    pub fn runner(&self) -> &probe::Runner<probe::Prober> {
        &self.runner
    }

    pub fn results(&self) -> &tokio::sync::Mutex<mpsc::Receiver<probe::CheckResult>> {
        &self.results
    }

    pub fn subscribe(&self) -> broadcast::Receiver<CheckUpdate> {
        self.events.subscribe()
    }

    /// Checks created, changed or deleted through this hub, as they are stored.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<()> {
        self.changed.subscribe()
    }

    /// Definitions again from the store (another hub edited them): new and changed checks are
    /// scheduled (a changed one starts its states again), deleted ones stop. Their history is the
    /// editing hub's to delete.
    pub async fn reload(&self) -> Result<(), ChecksError> {
        let _edit = self.edits.lock().await;
        let stored = persist::load(&self.store).await?;
        let ids: Vec<String> = stored.iter().filter_map(|s| s.id.clone()).collect();
        let gone: Vec<String> = self.checks.read().keys().filter(|id| !ids.contains(id)).cloned().collect();
        for id in &gone {
            self.runner.remove(id);
            self.checks.write().remove(id);
            self.slots.lock().retain(|(c, _), _| c != id);
            self.uptime.write().remove(id);
        }
        for spec in stored {
            let id = spec.id.clone().unwrap_or_default();
            let same = self
                .checks
                .read()
                .get(&id)
                .is_some_and(|e| serde_json::to_value(&e.spec).ok() == serde_json::to_value(&spec).ok());
            if same {
                continue;
            }
            match spec.to_def().validate() {
                Ok(check) => {
                    let places: Vec<String> = spec.run_on.iter().map(|p| p.0.clone()).collect();
                    self.slots.lock().retain(|(c, place), _| c != &id || places.contains(place));
                    self.apply(&id, spec, check);
                }
                Err(e) => tracing::warn!(check = id, errors = ?e, "skipping a stored check that no longer validates"),
            }
        }
        Ok(())
    }

    pub fn hub_enabled(&self) -> bool {
        self.config.enabled
    }

    /// Keeps `check` and hands it to the runner when it runs on the hub.
    fn apply(&self, id: &str, spec: CheckSpec, check: probe::Check) {
        let check = Arc::new(check);
        if self.config.enabled
            && let Err(e) = self.runner.upsert((*check).clone())
        {
            tracing::warn!(check = id, error = %e, "the hub's runner refused a check");
        }
        self.checks.write().insert(id.to_string(), Entry { spec, check });
    }

    /// Every check, by id.
    pub fn list(&self, now_ms: i64) -> Vec<CheckView> {
        let checks = self.checks.read();
        checks.iter().map(|(id, e)| self.view(id, e, now_ms)).collect()
    }

    pub fn get(&self, id: &str, now_ms: i64) -> Result<CheckView, ChecksError> {
        let checks = self.checks.read();
        let e = checks.get(id).ok_or_else(|| ChecksError::NotFound(format!("check `{id}`")))?;
        Ok(self.view(id, e, now_ms))
    }

    /// The definitions, as agents receive them (header values included: agents run the checks).
    pub fn defs_for(&self, location: &str) -> Vec<probe::CheckDef> {
        self.checks.read().values().filter(|e| e.check.runs_on(location)).map(|e| e.check.def().clone()).collect()
    }

    /// The checks of `location` with their hash (under one lock, so the two agree), for an agent's
    /// acknowledgement.
    pub fn defs_and_hash(&self, location: &str) -> (Vec<probe::CheckDef>, String) {
        let checks = self.checks.read();
        let defs: Vec<probe::CheckDef> =
            checks.values().filter(|e| e.check.runs_on(location)).map(|e| e.check.def().clone()).collect();
        (defs, set_hash(location, checks.values().filter(|e| e.check.runs_on(location)).map(|e| e.check.def())))
    }

    /// The hash of the checks `location` runs (what an agent holding them repeats in its reports,
    /// so the hub sends the list only when it changed). Hashed from the definitions as serialized,
    /// without copying them.
    pub fn hash_for(&self, location: &str) -> String {
        let checks = self.checks.read();
        set_hash(location, checks.values().filter(|e| e.check.runs_on(location)).map(|e| e.check.def()))
    }

    fn view(&self, id: &str, e: &Entry, now_ms: i64) -> CheckView {
        let (state, locations) = self.states(id, e, now_ms);
        let uptime = self.uptime.read().get(id).copied().unwrap_or_default();
        CheckView { spec: e.spec.masked(), state, locations, uptime }
    }

    /// A check's overall state and its places' states at `now_ms`.
    fn states(&self, id: &str, e: &Entry, now_ms: i64) -> (StateView, Vec<StateView>) {
        let policy = probe::Policy::for_check(&e.check);
        let slots = self.slots.lock();
        let mut key = (id.to_string(), String::new());
        let mut locations: Vec<StateView> = Vec::with_capacity(e.check.def().run_on.len());
        for place in &e.check.def().run_on {
            place.clone_into(&mut key.1);
            locations.push(state_view(slots.get(&key), policy, place, now_ms));
        }
        drop(slots);
        let mut state = overall(&locations, e.spec.enabled);
        // A window in effect: the results are still taken and stored, the status says why they fail.
        if self.maintenance.check_in_maintenance(id, now_ms) {
            state.status = CheckStatus::Maintenance;
            for l in &mut locations {
                l.status = CheckStatus::Maintenance;
            }
        }
        (state, locations)
    }

    /// Creates a check: every field checked (and no hub token in it), saved, then scheduled.
    pub async fn create(&self, mut body: Map<String, Value>, tokens: &TokenSet) -> Result<CheckView, ChecksError> {
        body.entry("id").or_insert_with(|| Value::String(new_id("check")));
        // No timeout given: one that fits the interval (a 10 s interval would refuse the plain 10 s).
        if !body.contains_key("timeoutMs")
            && let Some(interval) = body.get("intervalSeconds").and_then(Value::as_u64)
            && let Ok(interval) = u32::try_from(interval)
        {
            body.insert("timeoutMs".into(), probe::default_timeout_ms(interval).into());
        }
        let spec: CheckSpec = from_value(Value::Object(body)).map_err(ChecksError::Invalid)?;
        let id = spec.id.clone().unwrap_or_default();
        let check = self.validate(&spec, tokens)?;
        let _edit = self.edits.lock().await;
        {
            let checks = self.checks.read();
            if checks.contains_key(&id) {
                return Err(ChecksError::Conflict(format!("a check with id `{id}` already exists")));
            }
            if checks.len() >= self.config.max_checks {
                let max = self.config.max_checks;
                return Err(ChecksError::Conflict(format!(
                    "at most {max} checks (checks.max_checks); delete one first"
                )));
            }
        }
        persist::save(&self.store, &id, &spec).await?;
        self.apply(&id, spec, check);
        self.changed.notify();
        self.get(&id, clock::now_millis())
    }

    /// Changes a check: the fields sent replace the check's (`id` cannot change). Header values sent
    /// back as `<hidden>` keep the stored ones.
    pub async fn update(
        &self,
        id: &str,
        patch: Map<String, Value>,
        tokens: &TokenSet,
    ) -> Result<CheckView, ChecksError> {
        if patch.get("id").is_some_and(|v| v.as_str() != Some(id)) {
            return Err(invalid("id", "cannot be changed"));
        }
        let _edit = self.edits.lock().await;
        let before = {
            let checks = self.checks.read();
            checks.get(id).map(|e| e.spec.clone()).ok_or_else(|| ChecksError::NotFound(format!("check `{id}`")))?
        };
        let mut merged = serde_json::to_value(&before).map_err(|e| ChecksError::Store(e.into()))?;
        if let Some(obj) = merged.as_object_mut() {
            obj.extend(patch);
        }
        let mut spec: CheckSpec = from_value(merged).map_err(ChecksError::Invalid)?;
        spec.unmask_from(&before);
        let check = self.validate(&spec, tokens)?;
        persist::save(&self.store, id, &spec).await?;
        // Places no longer listed lose their state; a changed definition starts its states again.
        let places: Vec<String> = spec.run_on.iter().map(|p| p.0.clone()).collect();
        self.slots.lock().retain(|(c, place), _| c != id || places.contains(place));
        self.apply(id, spec, check);
        self.changed.notify();
        self.get(id, clock::now_millis())
    }

    /// Deletes a check, its state and its history.
    pub async fn delete(&self, id: &str) -> Result<(), ChecksError> {
        let _edit = self.edits.lock().await;
        let places = {
            let checks = self.checks.read();
            let e = checks.get(id).ok_or_else(|| ChecksError::NotFound(format!("check `{id}`")))?;
            e.check.def().run_on.clone()
        };
        persist::delete(&self.store, id).await?;
        self.runner.remove(id);
        self.checks.write().remove(id);
        self.slots.lock().retain(|(c, _), _| c != id);
        self.uptime.write().remove(id);
        self.changed.notify();
        for place in places {
            if let Err(e) = self.store.delete_server(&history::series(id, &place)).await {
                tracing::warn!(check = id, error = %e, "could not delete a deleted check's history");
            }
        }
        Ok(())
    }

    fn validate(&self, spec: &CheckSpec, tokens: &TokenSet) -> Result<probe::Check, ChecksError> {
        let mut errors: Vec<FieldError> = match spec.to_def().validate() {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| FieldError::new(e.field, e.reason)).collect(),
        };
        errors.extend(guard::hub_tokens(spec, tokens));
        if !errors.is_empty() {
            return Err(ChecksError::Invalid(errors));
        }
        spec.to_def().validate().map_err(|_| invalid("body", "invalid check"))
    }

    /// Runs a check on the hub now and waits for its result (recorded as any other).
    pub async fn run_now(&self, id: &str) -> Result<CheckView, ChecksError> {
        let runs_here = {
            let checks = self.checks.read();
            let e = checks.get(id).ok_or_else(|| ChecksError::NotFound(format!("check `{id}`")))?;
            e.check.runs_on(probe::HUB)
        };
        if !runs_here {
            return Err(ChecksError::Conflict(format!(
                "check `{id}` does not run on the hub (runOn); its agents run it at their next interval"
            )));
        }
        if !self.config.enabled {
            return Err(ChecksError::Unavailable("the hub runs no checks (checks.enabled = false)".into()));
        }
        let rx = self.runner.run_now(id).map_err(|e| match e {
            probe::RunnerError::NotFound(_) => ChecksError::NotFound(format!("check `{id}`")),
            other => ChecksError::Unavailable(other.to_string()),
        })?;
        // The result also goes through the results channel; record it here too so the answer shows
        // it (recording the same result twice is a no-op: the state ignores a result not newer).
        if let Ok(result) = rx.await {
            self.record(&result);
            if let Err(e) = self.store.write(vec![self.sample(&result)]).await {
                tracing::warn!(check = id, error = %e, "could not store a check result");
            }
        }
        self.get(id, clock::now_millis())
    }

    /// The store sample of `result` ([`history::sample`]), without `up` when the check was in a
    /// maintenance window when the result was taken.
    pub fn sample(&self, result: &probe::CheckResult) -> store::Sample {
        history::sample(result, self.maintenance.check_in_maintenance(&result.check_id, result.at))
    }

    /// Takes one result (from the hub's runner or an agent): updates the place's state and
    /// publishes the update. Returns whether it was kept (results of unknown checks or places are
    /// dropped). The caller stores it ([`Checks::sample`]).
    pub fn record(&self, result: &probe::CheckResult) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let now = clock::now_millis();
        let checks = self.checks.read();
        let Some(entry) = checks.get(&result.check_id).filter(|e| e.check.runs_on(&result.location)) else {
            self.counts.dropped.fetch_add(1, Relaxed);
            return false;
        };
        self.counts.results.fetch_add(1, Relaxed);
        let policy = probe::Policy::for_check(&entry.check);
        let changed = {
            let mut slots = self.slots.lock();
            let slot = slots.entry((result.check_id.clone(), result.location.clone())).or_default();
            let newer = slot.last.as_ref().is_none_or(|l| result.at > l.at);
            let transition = slot.state.observe(policy, result.outcome.up, result.at);
            if newer {
                slot.last = Some(result.clone());
            }
            transition.is_some()
        };
        // The update is built only for someone listening (a WebSocket session, the status page's
        // job), and from the states alone: the full view would copy the whole definition per result.
        if self.events.receiver_count() == 0 {
            return true;
        }
        let (state, locations) = self.states(&result.check_id, entry, now);
        if let Some(location) = locations.into_iter().find(|l| l.location == result.location) {
            let update =
                CheckUpdate { id: result.check_id.clone(), name: entry.spec.name.clone(), state, location, changed };
            let _ = self.events.send(update);
        }
        true
    }

    /// Takes an agent's check results (labelled with where they ran: `agent:<serverId>`, whatever
    /// the agent said), stores them, and returns how many it took. Results of checks that no longer
    /// run there are dropped (counted in the answer: the agent must not resend them).
    pub async fn ingest(&self, server_id: &str, mut results: Vec<probe::CheckResult>) -> Result<u32, ChecksError> {
        if results.is_empty() {
            return Ok(0);
        }
        let location = probe::agent_location(server_id);
        let taken = results.len() as u32;
        // Oldest first, so each place's state machine sees them in order.
        results.sort_by_key(|r| r.at);
        let samples: Vec<store::Sample> = results
            .iter_mut()
            .filter_map(|r| {
                r.location.clone_from(&location);
                self.record(r).then(|| self.sample(r))
            })
            .collect();
        if !samples.is_empty() {
            self.store.write(samples).await.map_err(|e| match e.kind() {
                store::ErrorKind::Busy | store::ErrorKind::Unavailable | store::ErrorKind::DiskFull => {
                    ChecksError::Unavailable(format!("the store cannot take check results now: {e}"))
                }
                _ => ChecksError::Store(e.into()),
            })?;
        }
        Ok(taken)
    }

    /// Every check's places with their newest result, for Prometheus.
    pub fn latest(&self) -> Vec<(String, String, probe::CheckResult)> {
        let checks = self.checks.read();
        let slots = self.slots.lock();
        let mut out = Vec::new();
        for (id, e) in checks.iter() {
            for place in &e.check.def().run_on {
                if let Some(last) = slots.get(&(id.clone(), place.clone())).and_then(|s| s.last.clone()) {
                    out.push((id.clone(), e.spec.name.clone(), last));
                }
            }
        }
        out
    }

    /// Recomputes every check's uptime windows from the history tiers (a job calls this every few
    /// minutes; the list answers from the copy).
    pub async fn refresh_uptime(&self, now_ms: i64) -> Result<(), ChecksError> {
        let targets: Vec<(String, Vec<String>)> =
            self.checks.read().iter().map(|(id, e)| (id.clone(), e.check.def().run_on.clone())).collect();
        for (id, places) in targets {
            let mut windows = [None; 4];
            for (i, days) in history::WINDOWS_DAYS.iter().enumerate() {
                let mut values = Vec::new();
                for place in &places {
                    if let Some(u) = history::uptime(&self.store, &history::series(&id, place), *days, now_ms).await? {
                        values.push(u);
                    }
                }
                if !values.is_empty() {
                    let mean = values.iter().sum::<f64>() / values.len() as f64;
                    windows[i] = Some((mean * 10_000.0).round() / 100.0);
                }
            }
            let uptime = Uptime { h24: windows[0], d7: windows[1], d30: windows[2], d90: windows[3] };
            if self.checks.read().contains_key(&id) {
                self.uptime.write().insert(id, uptime);
            }
        }
        Ok(())
    }

    /// A check's uptime (0-1) per UTC day over the last `days`, the mean of its places.
    pub async fn daily_uptime(&self, id: &str, days: i64, now_ms: i64) -> Result<Vec<(i64, f64)>, ChecksError> {
        let places = {
            let checks = self.checks.read();
            checks.get(id).map(|e| e.check.def().run_on.clone()).unwrap_or_default()
        };
        let mut by_day: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
        for place in places {
            for (day, u) in history::daily(&self.store, &history::series(id, &place), days, now_ms).await? {
                let e = by_day.entry(day).or_default();
                e.0 += u;
                e.1 += 1;
            }
        }
        Ok(by_day.into_iter().map(|(d, (sum, n))| (d, sum / n as f64)).collect())
    }

    /// A check's history at one place.
    pub async fn history(&self, id: &str, q: CheckHistoryQuery, now_ms: i64) -> Result<CheckHistory, ChecksError> {
        let places = {
            let checks = self.checks.read();
            let e = checks.get(id).ok_or_else(|| ChecksError::NotFound(format!("check `{id}`")))?;
            e.check.def().run_on.clone()
        };
        let window = q.window(now_ms).map_err(ChecksError::Invalid)?;
        let location = match &q.location {
            Some(l) if places.contains(l) => l.clone(),
            Some(_) => return Err(invalid("where", "must be one of the check's `runOn` places")),
            None => places.first().cloned().unwrap_or_else(|| probe::HUB.to_string()),
        };
        let series = history::series(id, &location);
        let metrics = [history::UP, history::LATENCY, history::STATUS_CODE, history::CERT_DAYS];
        let page = self
            .store
            .history(&series, &metrics, window.from, window.to, window.limit, q.cursor.as_deref())
            .await
            .map_err(|e| match e.kind() {
                store::ErrorKind::InvalidInput => invalid("cursor", "unknown or expired cursor; start again"),
                _ => ChecksError::Store(e.into()),
            })?;
        Ok(CheckHistory {
            check_id: id.to_string(),
            location,
            points: history::points(&page),
            resolution_seconds: page.resolution_seconds,
            next_cursor: page.next_cursor,
        })
    }
}

/// SHA-256 (first 16 bytes, hex) of the place and its definitions in order (by id), as JSON.
fn set_hash<'a>(location: &str, defs: impl Iterator<Item = &'a probe::CheckDef>) -> String {
    use sha2::Digest;
    /// Feeds serde's output straight into the hash.
    struct Hasher(sha2::Sha256);
    impl std::io::Write for Hasher {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Hasher(sha2::Sha256::new());
    h.0.update(location.as_bytes());
    for d in defs {
        h.0.update(b"\n");
        // Serializing a definition into memory cannot fail; were it to, the hash differs from the
        // agent's and the list is sent, which is always correct.
        let _ = serde_json::to_writer(&mut h, d);
    }
    hex::encode(&h.0.finalize()[..16])
}

/// A place's state as answers show it.
fn state_view(slot: Option<&Slot>, policy: probe::Policy, place: &str, now_ms: i64) -> StateView {
    let mut view = StateView {
        status: CheckStatus::Pending,
        latency_ms: None,
        status_code: None,
        cert_days_left: None,
        error: None,
        checked_at: None,
        since: None,
        location: place.to_string(),
    };
    let Some(slot) = slot else { return view };
    view.status = slot.state.status_at(policy, now_ms).into();
    view.since = slot.state.since.map(clock::millis_rfc3339);
    if let Some(last) = &slot.last {
        view.latency_ms = Some(last.outcome.latency_ms);
        view.status_code = last.outcome.status_code;
        view.cert_days_left = last.outcome.cert_days_left;
        view.error.clone_from(&last.outcome.error);
        view.checked_at = Some(clock::millis_rfc3339(last.at));
    }
    view
}

/// The state of the whole check: the worst place's (down > unknown > pending > up); a disabled check
/// shows its newest state as it is.
fn overall(locations: &[StateView], _enabled: bool) -> StateView {
    let rank = |s: CheckStatus| match s {
        CheckStatus::Down => 0,
        CheckStatus::Maintenance => 1,
        CheckStatus::Unknown => 2,
        CheckStatus::Pending => 3,
        CheckStatus::Up => 4,
    };
    locations.iter().min_by_key(|l| rank(l.status)).cloned().unwrap_or(StateView {
        status: CheckStatus::Unknown,
        latency_ms: None,
        status_code: None,
        cert_days_left: None,
        error: None,
        checked_at: None,
        since: None,
        location: probe::HUB.to_string(),
    })
}
