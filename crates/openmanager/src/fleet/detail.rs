//! The detail of one server (`GET /api/servers/{id}`): the list item plus system info, interfaces,
//! top processes, per-core CPU and disks. Agents and this host send these; for simulated servers
//! they are derived from the simulated sample, so the demo's detail page agrees with its list.

use serde::Serialize;
use utoipa::ToSchema;

use super::Snapshot;
use super::model::{ServerView, Source};
use protocol::{Disk, Interface, Process};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    pub os: String,
    pub kernel: String,
    pub uptime: u64,
    pub processes: u64,
    /// 1, 5 and 15 minutes.
    pub load_average: [f64; 3],
    pub last_update: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkInfo {
    #[schema(value_type = Vec<super::wire::InterfaceBody>)]
    pub interfaces: Vec<Interface>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerDetail {
    #[serde(flatten)]
    pub server: ServerView,
    pub system_info: SystemInfo,
    pub network_info: NetworkInfo,
    #[schema(value_type = Vec<super::wire::ProcessBody>)]
    pub top_processes: Vec<Process>,
    /// Percent per core.
    pub cpu_cores: Vec<f64>,
    #[schema(value_type = Vec<super::wire::DiskBody>)]
    pub disks: Vec<Disk>,
}

impl ServerDetail {
    pub fn of(snap: &Snapshot, seed: Option<u64>) -> Self {
        let live = snap.live.unwrap_or_default();
        let view = snap.view.clone();
        let system_info = SystemInfo {
            os: view.os.clone(),
            kernel: snap.detail.as_ref().map(|d| d.kernel.clone()).unwrap_or_default(),
            uptime: live.uptime_secs,
            processes: live.processes,
            load_average: live.load,
            last_update: view.last_update.clone(),
        };
        match (&snap.detail, view.source) {
            (Some(d), _) => Self {
                system_info,
                network_info: NetworkInfo { interfaces: d.interfaces.clone() },
                top_processes: d.top_processes.clone(),
                cpu_cores: d.cpu_cores_percent.clone(),
                disks: d.disks.clone(),
                server: view,
            },
            (None, Source::Simulated) => simulated_detail(view, system_info, seed.unwrap_or(0)),
            (None, _) => Self {
                system_info,
                network_info: NetworkInfo { interfaces: Vec::new() },
                top_processes: Vec::new(),
                cpu_cores: Vec::new(),
                disks: Vec::new(),
                server: view,
            },
        }
    }
}

/// A small deterministic spread in [-1, 1] from a few integers (no RNG state).
fn spread(a: u64, b: u64) -> f64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x % 2001) as f64 / 1000.0 - 1.0
}

fn simulated_detail(view: ServerView, system_info: SystemInfo, seed: u64) -> ServerDetail {
    let key = view.id.bytes().fold(seed, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let cores = view.specs.cpu_cores.max(1) as u64;
    let cpu_cores = (0..cores)
        .map(|i| ((view.cpu * (1.0 + 0.15 * spread(key, i))).clamp(0.0, 100.0) * 10.0).round() / 10.0)
        .collect();
    let total_disk = (view.specs.disk_gb * 1e9) as u64;
    let disks = vec![Disk {
        mount: "/".into(),
        used_bytes: (total_disk as f64 * view.disk / 100.0) as u64,
        total_bytes: total_disk,
        percent: view.disk,
    }];
    let interfaces = vec![Interface {
        name: "eth0".into(),
        rx_bytes: (view.network_in * system_info.uptime as f64) as u64,
        tx_bytes: (view.network_out * system_info.uptime as f64) as u64,
        rx_errors: 0,
        tx_errors: 0,
    }];
    // The server's own services are its busiest processes; they share its CPU.
    let n = view.services.len().max(1) as f64;
    let memory_total = view.specs.memory_gb * 1e9 * view.memory / 100.0;
    let mut top_processes: Vec<Process> = view
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let share = (1.0 + 0.5 * spread(key, 100 + i as u64)) / n;
            Process {
                pid: 1000 + (key % 5000) as u32 + i as u32 * 7,
                name: s.name.clone(),
                cpu: ((view.cpu * share) * 10.0).round() / 10.0,
                memory_bytes: (memory_total * share * 0.8) as u64,
            }
        })
        .collect();
    top_processes.sort_by(|a, b| b.cpu.total_cmp(&a.cpu));
    top_processes.truncate(5);
    ServerDetail {
        system_info,
        network_info: NetworkInfo { interfaces },
        top_processes,
        cpu_cores,
        disks,
        server: view,
    }
}
