//! Metric samples: a pure function from (server, instant, seed) to a full set of readings.
//!
//! Each reading is built in three layers — the server's baseline bent by a daily curve, the active
//! scenario's override for the servers it concerns, and smooth ±1.5% jitter — then clamped to its
//! valid range. Nothing is stored, so history, live values and future values all come from the
//! same code path and always agree.

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};

use crate::noise::{self, JITTER_PERIOD_MS};
use crate::scenario::{Metric, affected_target, scenario_state};
use crate::servers::{SimServer, fleet};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Relative jitter amplitude: readings stay within ±1.5% of their noise-free target.
pub const JITTER: f64 = 0.015;

/// UTC hour at which the fleet is busiest. The demo keeps one clock (UTC) for both the scenario
/// calendar and the daily curve so the two never drift apart across deployments.
pub const DAILY_PEAK_HOUR_UTC: f64 = 14.0;

/// Overall health of a server at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Serialised as `"online"`, the web app's word for a healthy server.
    Online,
    Warning,
    Critical,
}

/// Warning and critical levels for one metric; a value strictly above a level reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Band {
    pub warning: f64,
    pub critical: f64,
}

impl Band {
    pub const fn new(warning: f64, critical: f64) -> Self {
        Band { warning, critical }
    }

    pub fn classify(&self, value: f64) -> Status {
        if value > self.critical {
            Status::Critical
        } else if value > self.warning {
            Status::Warning
        } else {
            Status::Online
        }
    }
}

/// How readings map to a [`Status`]. The default follows the web app: CPU or memory above 80%
/// warns, above 90% is critical; disk does not count unless a band is given for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    pub cpu: Band,
    pub memory: Band,
    pub disk: Option<Band>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::new(80.0, 90.0)
    }
}

impl Thresholds {
    /// The same band for CPU and memory; disk ignored.
    pub const fn new(warning: f64, critical: f64) -> Self {
        let band = Band::new(warning, critical);
        Thresholds { cpu: band, memory: band, disk: None }
    }

    /// Also derive status from disk usage.
    pub const fn with_disk(mut self, band: Band) -> Self {
        self.disk = Some(band);
        self
    }

    /// The worst status any counted metric reaches.
    pub fn status(&self, cpu: f64, memory: f64, disk: f64) -> Status {
        let disk_status = self.disk.map_or(Status::Online, |b| b.classify(disk));
        self.cpu.classify(cpu).max(self.memory.classify(memory)).max(disk_status)
    }
}

/// One set of readings for one server at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSample {
    pub server_id: String,
    /// Unix epoch milliseconds.
    pub timestamp: i64,
    /// Percent, 0-100.
    pub cpu: f64,
    /// Percent, 0-100.
    pub memory: f64,
    /// Percent, 0-100.
    pub disk: f64,
    /// Bytes per second.
    pub network_in: u64,
    /// Bytes per second.
    pub network_out: u64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
    pub uptime_seconds: u64,
    pub process_count: u32,
    pub status: Status,
}

/// Daily curve in [-1, 1]: +1 at [`DAILY_PEAK_HOUR_UTC`], -1 twelve hours later.
fn day_curve(at_ms: i64) -> f64 {
    let hour = at_ms.rem_euclid(DAY_MS) as f64 / HOUR_MS as f64;
    (TAU * (hour - DAILY_PEAK_HOUR_UTC) / 24.0).cos()
}

/// How strongly each metric follows the daily curve, as a fraction of its mean. CPU and traffic
/// follow users closely; memory only a little (caches stay warm); disk barely moves in a day.
fn daily_amplitude(metric: Metric) -> f64 {
    match metric {
        Metric::Cpu => 0.30,
        Metric::Memory => 0.08,
        Metric::Disk => 0.01,
        Metric::NetworkIn | Metric::NetworkOut => 0.50,
    }
}

fn baseline_of(server: &SimServer, metric: Metric) -> f64 {
    let b = &server.baseline;
    match metric {
        Metric::Cpu => b.cpu,
        Metric::Memory => b.memory,
        Metric::Disk => b.disk,
        Metric::NetworkIn => b.network_in,
        Metric::NetworkOut => b.network_out,
    }
}

/// The noise-free value of a metric: the daily baseline, overridden by the active scenario when
/// it concerns this server. Independent of the seed, which only shapes jitter and uptime.
pub(crate) fn target(server: &SimServer, metric: Metric, at_ms: i64) -> f64 {
    let base = baseline_of(server, metric) * (1.0 + daily_amplitude(metric) * day_curve(at_ms));
    let state = scenario_state(at_ms);
    match state.scenario.effects().iter().find(|e| e.server == server.id && e.metric == metric) {
        Some(e) => affected_target(metric, e.intensity, state.phase, state.phase_progress(at_ms), base),
        None => base,
    }
}

/// Salts that keep each metric's jitter stream independent of the others.
fn metric_salt(metric: Metric) -> u64 {
    match metric {
        Metric::Cpu => 1,
        Metric::Memory => 2,
        Metric::Disk => 3,
        Metric::NetworkIn => 4,
        Metric::NetworkOut => 5,
    }
}
const SALT_PROCESSES: u64 = 6;
const SALT_UPTIME: u64 = 7;

/// A smooth factor in [1 - JITTER, 1 + JITTER] for one (server, stream, seed).
fn jitter_factor(server: &SimServer, salt: u64, at_ms: i64, seed: u64) -> f64 {
    let key = noise::hash(&[seed, noise::str_key(server.id), salt]);
    1.0 + JITTER * noise::smooth(key, at_ms, JITTER_PERIOD_MS)
}

/// A jittered, clamped, unrounded reading.
fn value(server: &SimServer, metric: Metric, at_ms: i64, seed: u64) -> f64 {
    let v = target(server, metric, at_ms) * jitter_factor(server, metric_salt(metric), at_ms, seed);
    match metric {
        Metric::Cpu | Metric::Memory | Metric::Disk => v.clamp(0.0, 100.0),
        Metric::NetworkIn | Metric::NetworkOut => v.max(0.0),
    }
}

/// Load average approximated as cores x mean CPU utilisation over the window. Averaging past CPU
/// readings (cheap, since they are pure functions too) makes load5/load15 lag behind a spike the
/// way the kernel's exponential averages do, without keeping any state.
fn load(server: &SimServer, at_ms: i64, seed: u64, window_ms: i64, points: i64) -> f64 {
    let step = window_ms / (points - 1).max(1);
    let sum: f64 = (0..points).map(|k| value(server, Metric::Cpu, at_ms.saturating_sub(k * step), seed)).sum();
    let mean_util = sum / points as f64 / 100.0;
    (mean_util * f64::from(server.specs.cpu_cores)).max(0.0)
}

/// Seconds since the last (simulated) reboot. Each server reboots on its own 20-79 day cycle,
/// phase-shifted by the seed, so uptimes differ across the fleet and grow steadily between reboots.
fn uptime_seconds(server: &SimServer, at_ms: i64, seed: u64) -> u64 {
    let h = noise::hash(&[seed, noise::str_key(server.id), SALT_UPTIME]);
    let period_s = (20 + (h % 60) as i64) * 86_400;
    let offset_s = (noise::splitmix64(h) % period_s as u64) as i64;
    (at_ms.div_euclid(1000) + offset_s).rem_euclid(period_s) as u64
}

/// Busy servers fork more workers; the count follows CPU loosely around the server's typical value.
fn process_count(server: &SimServer, cpu: f64, at_ms: i64, seed: u64) -> u32 {
    let typical = server.baseline.processes * (1.0 + 0.1 * day_curve(at_ms));
    let n = typical * (0.85 + 0.3 * cpu / 100.0) * jitter_factor(server, SALT_PROCESSES, at_ms, seed);
    n.round().clamp(1.0, f64::from(u32::MAX)) as u32
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Readings for `server` at `at_ms` (Unix epoch ms) under `seed`, with the default thresholds.
pub fn sample(server: &SimServer, at_ms: i64, seed: u64) -> SimSample {
    sample_with(server, at_ms, seed, &Thresholds::default())
}

/// Like [`sample`], deriving the status with custom thresholds.
pub fn sample_with(server: &SimServer, at_ms: i64, seed: u64, thresholds: &Thresholds) -> SimSample {
    let cpu = value(server, Metric::Cpu, at_ms, seed);
    let memory = value(server, Metric::Memory, at_ms, seed);
    let disk = value(server, Metric::Disk, at_ms, seed);
    let (cpu, memory, disk) = (round2(cpu), round2(memory), round2(disk));
    SimSample {
        server_id: server.id.to_owned(),
        timestamp: at_ms,
        cpu,
        memory,
        disk,
        // Non-negative and far below u64::MAX, so the float-to-int cast is exact enough.
        network_in: value(server, Metric::NetworkIn, at_ms, seed).round() as u64,
        network_out: value(server, Metric::NetworkOut, at_ms, seed).round() as u64,
        load1: round2(load(server, at_ms, seed, 60_000, 4)),
        load5: round2(load(server, at_ms, seed, 300_000, 6)),
        load15: round2(load(server, at_ms, seed, 900_000, 6)),
        uptime_seconds: uptime_seconds(server, at_ms, seed),
        process_count: process_count(server, cpu, at_ms, seed),
        // Status is judged on the rounded values so it always agrees with what the UI displays.
        status: thresholds.status(cpu, memory, disk),
    }
}

/// Samples from `from_ms` to `to_ms` inclusive, every `step_ms`. Empty when `step_ms <= 0` or
/// `to_ms < from_ms`. Lazy, so a long range costs nothing until consumed.
pub fn history(
    server: &SimServer,
    from_ms: i64,
    to_ms: i64,
    step_ms: i64,
    seed: u64,
) -> impl Iterator<Item = SimSample> {
    history_with(server, from_ms, to_ms, step_ms, seed, Thresholds::default())
}

/// Like [`history`], with custom thresholds.
pub fn history_with(
    server: &SimServer,
    from_ms: i64,
    to_ms: i64,
    step_ms: i64,
    seed: u64,
    thresholds: Thresholds,
) -> impl Iterator<Item = SimSample> {
    let first = (step_ms > 0 && from_ms <= to_ms).then_some(from_ms);
    std::iter::successors(first, move |&t| t.checked_add(step_ms).filter(|&next| next <= to_ms))
        .map(move |t| sample_with(server, t, seed, &thresholds))
}

/// One sample per fleet server at `at_ms`, in fleet order.
pub fn fleet_snapshot(at_ms: i64, seed: u64) -> Vec<SimSample> {
    fleet().iter().map(|s| sample(s, at_ms, seed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::server;

    const T: i64 = 1_704_067_200_000 + 3 * HOUR_MS + 17 * 60_000 + 4_321;

    fn web() -> &'static SimServer {
        server("web-01").unwrap()
    }

    #[test]
    fn thresholds_are_parameters() {
        let d = Thresholds::default();
        assert_eq!(d.status(80.0, 10.0, 99.0), Status::Online, "exactly 80 is not above 80; disk ignored");
        assert_eq!(d.status(80.01, 10.0, 0.0), Status::Warning);
        assert_eq!(d.status(10.0, 90.5, 0.0), Status::Critical);
        assert_eq!(d.status(85.0, 95.0, 0.0), Status::Critical, "worst metric wins");

        let strict = Thresholds::new(20.0, 30.0);
        assert_eq!(strict.status(25.0, 0.0, 0.0), Status::Warning);
        assert_eq!(strict.status(0.0, 31.0, 0.0), Status::Critical);

        let with_disk = d.with_disk(Band::new(70.0, 85.0));
        assert_eq!(with_disk.status(0.0, 0.0, 75.0), Status::Warning);
        assert_eq!(with_disk.status(0.0, 0.0, 86.0), Status::Critical);

        let custom = Thresholds { cpu: Band::new(50.0, 60.0), memory: Band::new(95.0, 99.0), disk: None };
        assert_eq!(custom.status(55.0, 94.0, 0.0), Status::Warning);

        // The same instant reads differently under different thresholds; the numbers do not change.
        let s = server("db-master").unwrap();
        let normal = sample(s, T, 1);
        let tight = sample_with(s, T, 1, &Thresholds::new(1.0, 2.0));
        assert_eq!(normal.status, Status::Online);
        assert_eq!(tight.status, Status::Critical);
        assert_eq!(normal.cpu, tight.cpu);
    }

    #[test]
    fn loads_follow_cpu_and_cores() {
        let s = sample(web(), T, 9);
        let cores = f64::from(web().specs.cpu_cores);
        for l in [s.load1, s.load5, s.load15] {
            assert!(l > 0.0 && l <= cores * 1.0 + 0.01, "{l}");
        }
        assert!((s.load1 - cores * s.cpu / 100.0).abs() < cores * 0.05);
    }

    #[test]
    fn uptime_grows_between_reboots() {
        let a = sample(web(), T, 5).uptime_seconds;
        let b = sample(web(), T + 60_000, 5).uptime_seconds;
        // Either a minute passed or the simulated reboot happened in that minute.
        assert!(b == a + 60 || b < 60, "{a} -> {b}");
        assert!(a < 80 * 86_400);
    }

    #[test]
    fn history_is_inclusive_lazy_and_total() {
        let h: Vec<_> = history(web(), T, T + 60_000, 10_000, 3).collect();
        assert_eq!(h.len(), 7);
        assert_eq!(h.first().map(|s| s.timestamp), Some(T));
        assert_eq!(h.last().map(|s| s.timestamp), Some(T + 60_000));
        assert_eq!(h[2], sample(web(), T + 20_000, 3));
        assert_eq!(history(web(), T, T - 1, 1000, 3).count(), 0);
        assert_eq!(history(web(), T, T + 5000, 0, 3).count(), 0);
        assert_eq!(history(web(), T, T + 5000, -10, 3).count(), 0);
        // Stepping near the end of time stops instead of overflowing.
        assert_eq!(history(web(), i64::MAX - 5, i64::MAX, 4, 3).count(), 2);
        let loose: Vec<_> = history_with(web(), T, T, 1, 3, Thresholds::new(0.0, 1.0)).collect();
        assert_eq!(loose[0].status, Status::Critical);
    }

    #[test]
    fn snapshot_covers_the_fleet() {
        let snap = fleet_snapshot(T, 0);
        assert_eq!(snap.len(), fleet().len());
        for (s, srv) in snap.iter().zip(fleet()) {
            assert_eq!(s.server_id, srv.id);
        }
    }

    #[test]
    fn serialises_camel_case() {
        let json = serde_json::to_value(sample(web(), T, 1)).unwrap();
        for key in [
            "serverId",
            "timestamp",
            "cpu",
            "memory",
            "disk",
            "networkIn",
            "networkOut",
            "load1",
            "load5",
            "load15",
            "uptimeSeconds",
            "processCount",
            "status",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["status"], "online");
        let back: SimSample = serde_json::from_value(json).unwrap();
        assert_eq!(back, sample(web(), T, 1));
    }
}
