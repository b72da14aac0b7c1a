//! The evaluation's fixed world: the simulated fleet at 2026-01-15T08:40Z (seed 42) plus four servers of
//! other sources, and fixed alerts, silences, events, budget, gateway and checks. The checks compute
//! their expected values from this world; the engine sees it only through `Facts`.

use std::collections::BTreeMap;

/// 2026-01-15T08:40:00Z, a Thursday: 17:40 in Seoul, during the demo's `api-storm` incident.
pub const NOW: i64 = 1_768_466_400_000;
/// The hub's zone in this world: Korea (UTC+9).
pub const OFFSET_SECS: i32 = 9 * 3600;
pub const SEED: u64 = 42;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;
/// The five metric series every server has: `cpu`, `memory`, `disk` (percent), `network` (bytes/s
/// in + out) and `load1`.
pub const METRICS: [&str; 5] = ["cpu", "memory", "disk", "network", "load1"];
const JAN15: i64 = NOW - 8 * HOUR - 40 * MIN;

/// UTC time on 2026-01-15 (negative days for earlier dates).
pub fn at(day_offset: i64, h: i64, m: i64) -> i64 {
    JAN15 + day_offset * DAY + h * HOUR + m * MIN
}

#[derive(Debug, Clone)]
pub struct Srv {
    pub id: String,
    pub name: String,
    pub server_type: String,
    pub status: String,
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub net_in: f64,
    pub net_out: f64,
    pub load: [f64; 3],
    pub uptime_secs: u64,
    pub environment: String,
    pub location: String,
    pub provider: String,
    pub source: String,
    pub cores: u32,
    pub memory_gb: f64,
    pub disk_gb: f64,
    pub firing: u32,
}

#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub name: String,
    pub cpu: f64,
    pub memory_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Alrt {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub server_id: String,
    pub severity: String,
    pub metric: String,
    pub op: String,
    pub threshold: f64,
    pub value: f64,
    pub state: String,
    pub started: i64,
    pub fired: Option<i64>,
    pub resolved: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    pub silenced: bool,
    pub window_secs: u64,
    pub processes: Vec<Proc>,
    pub evidence: Vec<(i64, f64)>,
}

#[derive(Debug, Clone)]
pub struct Sil {
    pub id: String,
    pub rule_id: Option<String>,
    pub server_id: Option<String>,
    pub severity: Option<String>,
    pub starts: i64,
    pub ends: i64,
    pub comment: String,
    pub created_by: String,
}

#[derive(Debug, Clone)]
pub struct Ev {
    pub at: i64,
    pub kind: String,
    pub server_id: Option<String>,
    pub check: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Eng {
    pub name: String,
    pub kind: String,
    pub health: String,
    pub circuit: String,
    pub day_used: u32,
    pub day_limit: Option<u32>,
    pub requests: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Chk {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub status: String,
    pub latency_ms: Option<f64>,
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    pub cert_days: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Budget {
    pub month: String,
    pub egress_mtd: u64,
    pub egress_projected: u64,
    pub egress_limit: u64,
    pub egress_hub: u64,
    pub vm_used: f64,
    pub vm_limit: f64,
    pub disk_used: u64,
    pub disk_limit: u64,
    pub cpu_avg: f64,
    pub cpu_sustained: f64,
    /// (provider, requests today, daily limit)
    pub ai: Vec<(String, u32, Option<u32>)>,
}

#[derive(Debug, Clone)]
pub struct World {
    pub servers: Vec<Srv>,
    pub alerts: Vec<Alrt>,
    pub silences: Vec<Sil>,
    pub events: Vec<Ev>,
    pub budget: Budget,
    pub engines: Vec<Eng>,
    pub chain: Vec<String>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub queries: u64,
    pub checks: Vec<Chk>,
    /// (server id, metric) -> points in time order: every minute for the last day, every 10 minutes for
    /// the week before.
    pub series: BTreeMap<(String, String), Vec<(i64, f64)>>,
}

/// One instant of a non-simulated server: cpu, memory, disk, net in, net out, load1.
type Reading = [f64; 6];

fn wave(t: i64, period: i64) -> f64 {
    (std::f64::consts::TAU * (t.rem_euclid(period)) as f64 / period as f64).sin()
}

/// The hub itself: quiet, restarted at 07:30 for an upgrade.
fn hub(t: i64) -> Option<Reading> {
    let cpu = 6.5 + 1.5 * wave(t, DAY) + 0.8 * wave(t, 7 * MIN);
    Some([cpu, 41.0 + 2.0 * wave(t, DAY), 33.0 + 0.02 * ((t - NOW) / DAY) as f64, 180_000.0, 95_000.0, cpu / 100.0])
}

/// A batch worker whose agent stopped reporting at 06:25.
fn worker(t: i64) -> Option<Reading> {
    (t <= at(0, 6, 25)).then(|| [12.0 + 3.0 * wave(t, HOUR), 35.5, 71.3, 40_000.0, 22_000.0, 0.5])
}

/// An edge proxy under a load test since 07:40: CPU climbs to about 86% by 08:00 and stays there.
fn edge(t: i64) -> Option<Reading> {
    let start = at(0, 7, 40);
    let cpu = if t < start {
        55.0 + 5.0 * wave(t, 2 * HOUR)
    } else {
        let ramp = ((t - start) as f64 / (20 * MIN) as f64).min(1.0);
        55.0 + 31.4 * ramp + if ramp >= 1.0 { 0.4 * wave(t, 9 * MIN) } else { 0.0 }
    };
    Some([cpu, 62.0 + 0.5 * wave(t, HOUR), 48.9, 9_800_000.0, 12_400_000.0, cpu / 25.0])
}

/// An old FTP server in maintenance whose disk grows 1.25 points a day.
fn ftp(t: i64) -> Option<Reading> {
    let disk = 88.7 - 1.25 * (NOW - t) as f64 / DAY as f64;
    Some([3.1 + 0.5 * wave(t, HOUR), 22.4, disk, 15_000.0, 9_000.0, 0.05])
}

struct Other {
    id: &'static str,
    name: &'static str,
    server_type: &'static str,
    status: &'static str,
    environment: &'static str,
    provider: &'static str,
    location: &'static str,
    source: &'static str,
    specs: (u32, f64, f64),
    uptime_secs: u64,
    reading: fn(i64) -> Option<Reading>,
}

const OTHERS: [Other; 4] = [
    Other {
        id: "hub-7f3a",
        name: "openmanager-hub",
        server_type: "other",
        status: "online",
        environment: "production",
        provider: "Oracle",
        location: "ap-seoul-1",
        source: "self",
        specs: (2, 1.0, 47.0),
        uptime_secs: 70 * 60,
        reading: hub,
    },
    Other {
        id: "worker-01",
        name: "worker-01",
        server_type: "other",
        status: "offline",
        environment: "staging",
        provider: "Hetzner",
        location: "eu-central-fsn1",
        source: "agent",
        specs: (4, 8.0, 160.0),
        uptime_secs: 19 * 86_400,
        reading: worker,
    },
    Other {
        id: "edge-proxy",
        name: "edge-proxy",
        server_type: "web",
        status: "warning",
        environment: "staging",
        provider: "Hetzner",
        location: "eu-central-fsn1",
        source: "agent",
        specs: (2, 4.0, 40.0),
        uptime_secs: 33 * 86_400 + 5 * 3600,
        reading: edge,
    },
    Other {
        id: "legacy-ftp",
        name: "legacy-ftp",
        server_type: "backup",
        status: "maintenance",
        environment: "production",
        provider: "On-prem",
        location: "seoul-idc",
        source: "static",
        specs: (2, 4.0, 2000.0),
        uptime_secs: 212 * 86_400,
        reading: ftp,
    },
];

/// Minute points for the last day, 10-minute points for the week before.
fn times() -> Vec<i64> {
    let mut out: Vec<i64> = (0..7 * 144).map(|i| NOW - 8 * DAY + i * 10 * MIN).collect();
    out.extend((0..=24 * 60).map(|i| NOW - DAY + i * MIN));
    out
}

fn insert(series: &mut BTreeMap<(String, String), Vec<(i64, f64)>>, id: &str, t: i64, r: &Reading) {
    for (metric, v) in METRICS.iter().zip([r[0], r[1], r[2], r[3] + r[4], r[5]]) {
        series.entry((id.to_owned(), (*metric).to_owned())).or_default().push((t, v));
    }
}

fn status_name(s: simulation::Status) -> &'static str {
    match s {
        simulation::Status::Online => "online",
        simulation::Status::Warning => "warning",
        simulation::Status::Critical => "critical",
    }
}

fn sim_servers(series: &mut BTreeMap<(String, String), Vec<(i64, f64)>>) -> Vec<Srv> {
    let mut out = Vec::new();
    for sim in simulation::fleet() {
        for t in times() {
            let s = simulation::sample(sim, t, SEED);
            insert(series, sim.id, t, &[s.cpu, s.memory, s.disk, s.network_in as f64, s.network_out as f64, s.load1]);
        }
        let s = simulation::sample(sim, NOW, SEED);
        let server_type = serde_json::to_value(sim.server_type).ok().and_then(|v| v.as_str().map(str::to_owned));
        out.push(Srv {
            id: sim.id.to_owned(),
            name: sim.name.to_owned(),
            server_type: server_type.unwrap_or_default(),
            status: status_name(s.status).to_owned(),
            cpu: s.cpu,
            memory: s.memory,
            disk: s.disk,
            net_in: s.network_in as f64,
            net_out: s.network_out as f64,
            load: [s.load1, s.load5, s.load15],
            uptime_secs: s.uptime_seconds,
            environment: sim.environment.to_owned(),
            location: sim.location.to_owned(),
            provider: sim.provider.to_owned(),
            source: "simulated".to_owned(),
            cores: sim.specs.cpu_cores,
            memory_gb: f64::from(sim.specs.memory_gb),
            disk_gb: f64::from(sim.specs.disk_gb),
            firing: 0,
        });
    }
    out
}

fn other_servers(series: &mut BTreeMap<(String, String), Vec<(i64, f64)>>) -> Vec<Srv> {
    let mut out = Vec::new();
    for o in &OTHERS {
        let mut last = None;
        for t in times() {
            if let Some(r) = (o.reading)(t) {
                insert(series, o.id, t, &r);
                last = Some(r);
            }
        }
        let r = last.unwrap_or([0.0; 6]);
        out.push(Srv {
            id: o.id.to_owned(),
            name: o.name.to_owned(),
            server_type: o.server_type.to_owned(),
            status: o.status.to_owned(),
            cpu: round2(r[0]),
            memory: round2(r[1]),
            disk: round2(r[2]),
            net_in: r[3],
            net_out: r[4],
            load: [round2(r[5]), round2(r[5] * 0.9), round2(r[5] * 0.8)],
            uptime_secs: o.uptime_secs,
            environment: o.environment.to_owned(),
            location: o.location.to_owned(),
            provider: o.provider.to_owned(),
            source: o.source.to_owned(),
            cores: o.specs.0,
            memory_gb: o.specs.1,
            disk_gb: o.specs.2,
            firing: 0,
        });
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl World {
    pub fn build() -> World {
        let mut series = BTreeMap::new();
        let mut servers = sim_servers(&mut series);
        servers.extend(other_servers(&mut series));
        let alerts = super::world_alerts::alerts(&servers, &series);
        for s in &mut servers {
            s.firing = alerts.iter().filter(|a| a.server_id == s.id && a.state == "firing").count() as u32;
        }
        let events = super::world_alerts::events(&series);
        World {
            servers,
            alerts,
            silences: super::world_alerts::silences(),
            events,
            budget: Budget {
                month: "2026-01".into(),
                egress_mtd: 412_300_000,
                egress_projected: 898_000_000,
                egress_limit: 1_000_000_000,
                egress_hub: 287_400_000,
                vm_used: 352.7,
                vm_limit: 744.0,
                disk_used: 9_800_000_000,
                disk_limit: 30_000_000_000,
                cpu_avg: 11.4,
                cpu_sustained: 25.0,
                ai: vec![
                    ("google-ai".into(), 14, Some(20)),
                    ("groq".into(), 120, Some(1000)),
                    ("local".into(), 231, None),
                ],
            },
            engines: vec![
                Eng {
                    name: "google-ai".into(),
                    kind: "gemini".into(),
                    health: "up".into(),
                    circuit: "closed".into(),
                    day_used: 14,
                    day_limit: Some(20),
                    requests: 14,
                    last_error: None,
                },
                Eng {
                    name: "groq".into(),
                    kind: "openai".into(),
                    health: "down".into(),
                    circuit: "open".into(),
                    day_used: 120,
                    day_limit: Some(1000),
                    requests: 120,
                    last_error: Some("connect timeout".into()),
                },
                Eng {
                    name: "local".into(),
                    kind: "local".into(),
                    health: "up".into(),
                    circuit: "closed".into(),
                    day_used: 231,
                    day_limit: None,
                    requests: 231,
                    last_error: None,
                },
            ],
            chain: vec!["google-ai".into(), "groq".into(), "local".into()],
            cache_hits: 45,
            cache_misses: 155,
            queries: 365,
            checks: super::world_alerts::checks(),
            series,
        }
    }

    pub fn server(&self, id: &str) -> Option<&Srv> {
        self.servers.iter().find(|s| s.id == id || s.name == id)
    }

    /// The points of one series within `[from, to]`.
    pub fn points(&self, id: &str, metric: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
        self.series
            .get(&(id.to_owned(), metric.to_owned()))
            .map(|p| p.iter().copied().filter(|(t, _)| *t >= from && *t <= to).collect())
            .unwrap_or_default()
    }

    /// Local midnight (UTC+9) of the day holding `t`.
    pub fn local_midnight(t: i64) -> i64 {
        let offset = i64::from(OFFSET_SECS) * 1000;
        (t + offset).div_euclid(DAY) * DAY - offset
    }

    /// `HH:MM` of `t` in the world's zone.
    pub fn hhmm(t: i64) -> String {
        let local = (t + i64::from(OFFSET_SECS) * 1000).rem_euclid(DAY) / MIN;
        format!("{:02}:{:02}", local / 60, local % 60)
    }
}
