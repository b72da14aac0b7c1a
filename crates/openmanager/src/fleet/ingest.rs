//! Agent ingest as one fleet operation: a validated report registers or refreshes its agent (within
//! the fleet's cap), its samples go to the store, and the answer comes only once they are durable.
//! A retried batch is not counted twice (the store drops samples it already has).

use protocol::{PROTOCOL_VERSION, Report, ReportAck};

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

impl Fleet {
    /// Takes an agent's batch; resolves once it is durable.
    pub async fn ingest(&self, report: Report) -> Result<ReportAck, FleetError> {
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
        if existing.as_ref() != Some(&meta) {
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
            let live = Live::from_values(s.timestamp_ms.min(clock::now_millis()), &s.values);
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
        })
    }
}
