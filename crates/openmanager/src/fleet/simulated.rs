//! The demo fleet from the `simulation` crate, seen through the fleet's model. Its values are a pure
//! function of (server, time, seed), so nothing here is stored: every read computes the moment asked.

use super::model::{Live, ServerMeta, ServerType, Service, Source, Specs};

/// The ten simulated servers' descriptions.
pub fn metas() -> Vec<ServerMeta> {
    simulation::fleet().iter().map(meta).collect()
}

fn meta(s: &simulation::SimServer) -> ServerMeta {
    ServerMeta {
        id: s.id.to_string(),
        name: s.name.to_string(),
        hostname: s.hostname.to_string(),
        ip: s.ip.to_string(),
        os: s.os.to_string(),
        server_type: server_type(s.server_type),
        role: s.role.to_string(),
        environment: s.environment.to_string(),
        provider: s.provider.to_string(),
        location: s.location.to_string(),
        source: Source::Simulated,
        services: s
            .services
            .iter()
            .map(|svc| Service {
                name: svc.name.to_string(),
                status: match svc.status {
                    simulation::ServiceStatus::Running => "running".into(),
                    simulation::ServiceStatus::Stopped => "stopped".into(),
                },
                port: svc.port,
            })
            .collect(),
        specs: Specs {
            cpu_cores: s.specs.cpu_cores,
            memory_gb: f64::from(s.specs.memory_gb),
            disk_gb: f64::from(s.specs.disk_gb),
        },
        maintenance: false,
    }
}

fn server_type(t: simulation::ServerType) -> ServerType {
    match t {
        simulation::ServerType::Web => ServerType::Web,
        simulation::ServerType::Api => ServerType::Api,
        simulation::ServerType::Database => ServerType::Database,
        simulation::ServerType::Cache => ServerType::Cache,
        simulation::ServerType::Monitoring => ServerType::Monitoring,
        simulation::ServerType::Backup => ServerType::Backup,
        simulation::ServerType::Security => ServerType::Security,
    }
}

/// The metrics of simulated server `id` at `at_ms`.
pub fn live(id: &str, at_ms: i64, seed: u64) -> Option<Live> {
    let server = simulation::server(id)?;
    Some(to_live(&simulation::sample(server, at_ms, seed)))
}

pub fn to_live(s: &simulation::SimSample) -> Live {
    Live {
        at_ms: s.timestamp,
        cpu: Some(s.cpu),
        memory: Some(s.memory),
        disk: Some(s.disk),
        net_in: s.network_in as f64,
        net_out: s.network_out as f64,
        load: [s.load1, s.load5, s.load15],
        uptime_secs: s.uptime_seconds,
        processes: u64::from(s.process_count),
        quiet_ms: 0,
    }
}

/// Samples of `id` from `from_ms` to `to_ms` every `step_ms`, oldest first.
pub fn history(id: &str, from_ms: i64, to_ms: i64, step_ms: i64, seed: u64) -> Vec<Live> {
    match simulation::server(id) {
        Some(server) => simulation::history(server, from_ms, to_ms, step_ms, seed).map(|s| to_live(&s)).collect(),
        None => Vec::new(),
    }
}

/// Whether `id` is one of the simulated servers.
pub fn is_simulated(id: &str) -> bool {
    simulation::server(id).is_some()
}
