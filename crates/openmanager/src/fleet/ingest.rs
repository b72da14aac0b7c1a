//! Agent ingest as one fleet operation: a validated report registers or refreshes its agent (within
//! the fleet's cap), its samples go to the store, and the answer comes only once they are durable.
//! A retried batch is not counted twice (the store drops samples it already has).
//!
//! A compact batch (`protocol::compact`) is expanded against the agent's base, the newest sample of
//! its last stored compact batch, kept here per agent; without that base, or for an agent the hub
//! does not know, the hub asks for a resynchronisation (the agent resends the same samples whole,
//! with its identity) rather than guess.

use std::collections::HashMap;

use protocol::compact::{COMPACT_VERSION, CompactReport, expand};
use protocol::{AgentIdentity, PROTOCOL_VERSION, Report, ReportAck, Sample};

use super::model::{Live, MAX_CPU_CORES, MAX_DISK_GB, MAX_MEMORY_GB, ServerMeta, ServerType, Source, Specs};
use super::{Fleet, FleetError};
use crate::clock;

fn meta_for(report: &Report) -> ServerMeta {
    let inv = report.inventory.clone().unwrap_or_default();
    ServerMeta {
        id: report.agent.machine_id.clone(),
        name: report.agent.name.clone(),
        hostname: report.agent.hostname.clone(),
        ip: inv.ip.clone(),
        os: inv.os.clone(),
        server_type: ServerType::Other,
        role: String::new(),
        environment: "production".into(),
        provider: String::new(),
        location: String::new(),
        source: Source::Agent,
        services: Vec::new(),
        specs: Specs {
            cpu_cores: inv.cpu_cores,
            memory_gb: (inv.memory_total_bytes as f64 / 1e9 * 10.0).round() / 10.0,
            disk_gb: (inv.disk_total_bytes as f64 / 1e9 * 10.0).round() / 10.0,
        },
        maintenance: false,
    }
}

const MAX_MEMORY_BYTES: u64 = 1_000_000_000_000_000;
const MAX_DISK_BYTES: u64 = 1_000_000_000_000_000_000;
const _: () = assert!(MAX_MEMORY_BYTES as f64 / 1e9 == MAX_MEMORY_GB && MAX_DISK_BYTES as f64 / 1e9 == MAX_DISK_GB);

/// The end of year 9999 in Unix milliseconds: later timestamps are refused rather than stored.
pub const MAX_TIMESTAMP_MS: i64 = 253_402_300_799_999;

/// What the hub asks of a report beyond the protocol's bounds: names it shows are printable, and
/// timestamps are real times (the store's tiers compute with them).
fn check_report(report: &Report) -> Result<(), FleetError> {
    let agent = &report.agent;
    if agent.name.chars().any(char::is_control) {
        return Err(FleetError::invalid("agent.name", "must not contain control characters"));
    }
    if agent.hostname.chars().count() > 253 || agent.hostname.chars().any(char::is_control) {
        return Err(FleetError::invalid("agent.hostname", "must be at most 253 printable characters"));
    }
    for (i, s) in report.samples.iter().enumerate() {
        // Metric names are identifiers (`protocol::metric`): printable ASCII, no spaces.
        if let Some(name) = s.values.keys().find(|k| !k.bytes().all(|b| b.is_ascii_graphic())) {
            return Err(FleetError::invalid(
                &format!("samples[{i}].values"),
                format!("metric name {name:?} must be printable ASCII without spaces"),
            ));
        }
    }
    // The server's specs come from the inventory: the same bounds as a registration's.
    if let Some(inv) = &report.inventory {
        if inv.cpu_cores > MAX_CPU_CORES {
            return Err(FleetError::invalid("inventory.cpuCores", format!("at most {MAX_CPU_CORES}")));
        }
        // In bytes, exactly (a float would round past 2^53); `MAX_MEMORY_GB` and `MAX_DISK_GB` in bytes.
        if inv.memory_total_bytes > MAX_MEMORY_BYTES {
            return Err(FleetError::invalid("inventory.memoryTotalBytes", "at most 10^15 bytes"));
        }
        if inv.disk_total_bytes > MAX_DISK_BYTES {
            return Err(FleetError::invalid("inventory.diskTotalBytes", "at most 10^18 bytes"));
        }
    }
    if let Some(i) = report.samples.iter().position(|s| !(0..=MAX_TIMESTAMP_MS).contains(&s.timestamp_ms)) {
        return Err(FleetError::invalid(
            &format!("samples[{i}].timestampMs"),
            "must be Unix milliseconds from 1970 to the end of year 9999",
        ));
    }
    Ok(())
}

/// Per agent, the base of its next compact batch. Bounded: past [`MAX_BASES`] it is emptied, and
/// agents resynchronise once.
#[derive(Debug, Default)]
pub struct Bases(parking_lot::Mutex<HashMap<String, Sample>>);

const MAX_BASES: usize = 2 * super::MAX_SERVERS;

impl Bases {
    fn get(&self, id: &str) -> Option<Sample> {
        self.0.lock().get(id).cloned()
    }

    fn set(&self, id: &str, sample: Sample) {
        let mut map = self.0.lock();
        if map.len() >= MAX_BASES && !map.contains_key(id) {
            map.clear();
        }
        map.insert(id.to_owned(), sample);
    }
}

/// What became of a compact batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactOutcome {
    /// Durable.
    Stored,
    /// Not stored: resend whole with the identity (the base or the agent is unknown here).
    Resync(&'static str),
}

impl Fleet {
    /// Takes an agent's compact batch; resolves once it is durable or a resync is needed.
    pub async fn ingest_compact(&self, c: CompactReport) -> Result<CompactOutcome, FleetError> {
        if c.v != COMPACT_VERSION {
            return Err(FleetError::invalid(
                "v",
                format!("compact version {} is not supported (this hub speaks {COMPACT_VERSION})", c.v),
            ));
        }
        let base = match c.base {
            None => None,
            Some(ts) => match self.bases.get(&c.id) {
                Some(s) if s.timestamp_ms == ts => Some(s),
                _ => return Ok(CompactOutcome::Resync("base")),
            },
        };
        let samples = expand(base.as_ref(), &c.s).map_err(|e| FleetError::invalid("s", e.0))?;
        let refresh = c.agent.is_some();
        let agent = match c.agent {
            Some(a) if a.machine_id != c.id => return Err(FleetError::invalid("agent.machineId", "must equal id")),
            Some(a) => a,
            None => match self.registry.meta(&c.id) {
                Some(m) if m.source == Source::Agent => {
                    AgentIdentity { machine_id: m.id, name: m.name, hostname: m.hostname, agent_version: String::new() }
                }
                _ => return Ok(CompactOutcome::Resync("agent")),
            },
        };
        let newest = samples.iter().max_by_key(|s| s.timestamp_ms).cloned();
        let report = Report {
            version: PROTOCOL_VERSION,
            agent,
            samples,
            inventory: c.inv,
            checks_version: 0,
            check_results: Vec::new(),
            checks_hash: None,
        };
        // At most an hour: an agent cannot keep itself `online` for long by saying so.
        let quiet_ms = i64::from(c.quiet.unwrap_or(0).min(3600)) * 1000;
        self.ingest_with(report, refresh, quiet_ms).await?;
        if let Some(s) = newest {
            self.bases.set(&c.id, s);
        }
        Ok(CompactOutcome::Stored)
    }

    /// Takes an agent's batch; resolves once it is durable.
    pub async fn ingest(&self, report: Report) -> Result<ReportAck, FleetError> {
        self.ingest_with(report, true, 0).await
    }

    /// `refresh_meta` is false for a compact batch without the identity: the server keeps its meta.
    /// `quiet_ms`: see [`Live::quiet_ms`].
    async fn ingest_with(&self, report: Report, refresh_meta: bool, quiet_ms: i64) -> Result<ReportAck, FleetError> {
        report.validate().map_err(|e| FleetError::invalid("report", e.0))?;
        check_report(&report)?;
        let id = report.agent.machine_id.clone();
        let mut meta = meta_for(&report);
        match self.registry.source_of(&id) {
            Some(Source::Agent) | None => {}
            Some(_) => return Err(FleetError::NotAnAgent(id)),
        }
        // Keep what an operator set by hand (type, role, maintenance...) across reports.
        let existing = self.registry.meta(&id);
        if let Some(e) = &existing {
            meta.server_type = e.server_type;
            meta.role.clone_from(&e.role);
            meta.environment.clone_from(&e.environment);
            meta.provider.clone_from(&e.provider);
            meta.location.clone_from(&e.location);
            meta.services.clone_from(&e.services);
            meta.maintenance = e.maintenance;
        }
        if refresh_meta && existing.as_ref() != Some(&meta) {
            // The cap is checked before anything is stored, under the registry's lock.
            self.registry.upsert(meta.clone())?;
            if let Err(e) = self.persist(&meta).await {
                if existing.is_none() {
                    let _ = self.registry.remove(&id);
                }
                return Err(e);
            }
        }

        let sent = report.samples.len() as u64;
        let newest = report.samples.iter().max_by_key(|s| s.timestamp_ms).cloned();
        let samples: Vec<store::Sample> = report
            .samples
            .into_iter()
            .map(|s| store::Sample { server: id.clone(), timestamp_ms: s.timestamp_ms, values: s.values })
            .collect();
        // Kept for the sinks only when there are some (they get the samples once stored).
        let forward = (!self.sinks.is_empty()).then(|| samples.clone());
        let outcome = self.store.submit(samples)?.wait().await?;
        // A batch that was all duplicates was forwarded when it was first stored.
        if let Some(samples) = forward.filter(|_| outcome.inserted > 0) {
            for s in &samples {
                self.sinks.stored(&meta, s.timestamp_ms, &s.values);
            }
        }
        if outcome.late > 0 {
            tracing::warn!(agent = %id, late = outcome.late, "samples older than the rolled-up history were dropped");
        }
        self.counters.samples.inc_by(outcome.inserted);
        self.counters.duplicates.inc_by(outcome.duplicates + outcome.late);
        self.counters.reports.inc();

        if let Some(s) = newest {
            // A clock far ahead would keep the server "online" forever; trust it only up to now.
            let mut live = Live::from_values(s.timestamp_ms.min(clock::now_millis()), &s.values);
            live.quiet_ms = quiet_ms;
            self.registry.update(&id, live, report.inventory);
        }
        debug_assert_eq!(outcome.inserted + outcome.duplicates + outcome.late, sent);
        Ok(ReportAck {
            version: PROTOCOL_VERSION,
            accepted: outcome.inserted as u32,
            duplicates: (outcome.duplicates + outcome.late) as u32,
            server_id: id,
            check_results: 0,
            checks: None,
            checks_hash: None,
        })
    }
}
