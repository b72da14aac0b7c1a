//! The incident calendar: which scenario runs when, which servers it touches, and how hard.
//!
//! The day (UTC) is cut into six 4-hour blocks, one per scenario, so anyone watching the demo for
//! a day sees every incident type. Inside each hour the scenario plays out in four 15-minute
//! phases — normal, warning, critical, recovery — so a visitor never waits more than an hour to
//! see the full arc, and every status colour appears on the dashboard.

use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Length of one scenario block.
pub const BLOCK_HOURS: i64 = 4;
/// Length of one phase; four phases make one hour.
pub const PHASE_MINUTES: i64 = 15;

const BLOCK_MS: i64 = BLOCK_HOURS * HOUR_MS;
const PHASE_MS: i64 = PHASE_MINUTES * MINUTE_MS;

/// The six demo incidents, in calendar order (the first starts at 00:00 UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    BackupCrisis,
    DatabaseOverload,
    ApiStorm,
    WebTrafficPeak,
    CacheFailure,
    MonitoringAlert,
}

/// Where an hour is in the incident arc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Normal,
    Warning,
    Critical,
    Recovery,
}

/// A metric a scenario can push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    Cpu,
    Memory,
    Disk,
    NetworkIn,
    NetworkOut,
}

/// How hard a scenario pushes a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intensity {
    /// The headline symptom: crosses the warning band, then the critical threshold.
    Primary,
    /// A knock-on effect: visibly elevated but kept below the warning threshold, so the status
    /// colours point at the real culprit rather than at every neighbour.
    Secondary,
}

/// One (server, metric) pair a scenario drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    pub server: &'static str,
    pub metric: Metric,
    pub intensity: Intensity,
}

const fn fx(server: &'static str, metric: Metric, intensity: Intensity) -> Effect {
    Effect { server, metric, intensity }
}

use Intensity::{Primary, Secondary};
use Metric::{Cpu, Disk, Memory, NetworkIn, NetworkOut};

const BACKUP_CRISIS: &[Effect] = &[
    fx("backup", Disk, Primary),
    fx("backup", Cpu, Primary),
    fx("backup", NetworkIn, Primary),
    // The replica serves the backup's reads, so its I/O (seen as CPU iowait and egress) rises.
    fx("db-replica", Cpu, Secondary),
    fx("db-replica", NetworkOut, Primary),
];
const DATABASE_OVERLOAD: &[Effect] = &[
    fx("db-master", Cpu, Primary),
    fx("db-master", Memory, Primary),
    fx("db-master", NetworkOut, Secondary),
    // API latency has no metric of its own; slow DB calls show up as busier API workers.
    fx("api-01", Cpu, Secondary),
    fx("api-02", Cpu, Secondary),
];
const API_STORM: &[Effect] = &[
    fx("api-01", Cpu, Primary),
    fx("api-02", Cpu, Primary),
    fx("api-01", NetworkIn, Primary),
    fx("api-02", NetworkIn, Primary),
    fx("api-01", NetworkOut, Primary),
    fx("api-02", NetworkOut, Primary),
];
const WEB_TRAFFIC_PEAK: &[Effect] = &[
    fx("web-01", Cpu, Primary),
    fx("web-02", Cpu, Primary),
    fx("web-01", NetworkIn, Primary),
    fx("web-02", NetworkIn, Primary),
    fx("web-01", NetworkOut, Primary),
    fx("web-02", NetworkOut, Primary),
];
const CACHE_FAILURE: &[Effect] = &[
    fx("redis-cache", Memory, Primary),
    // Cache misses fall through to the API tier and then the database.
    fx("api-01", Cpu, Secondary),
    fx("api-02", Cpu, Secondary),
    fx("db-master", Cpu, Secondary),
];
const MONITORING_ALERT: &[Effect] =
    &[fx("monitoring", Cpu, Primary), fx("monitoring", Memory, Primary), fx("monitoring", Disk, Primary)];

impl Scenario {
    /// All scenarios in calendar order; index `i` owns the block starting at `4 * i` h UTC.
    pub const ALL: [Scenario; 6] = [
        Scenario::BackupCrisis,
        Scenario::DatabaseOverload,
        Scenario::ApiStorm,
        Scenario::WebTrafficPeak,
        Scenario::CacheFailure,
        Scenario::MonitoringAlert,
    ];

    /// Stable kebab-case identifier, identical to the serialised form.
    pub const fn id(self) -> &'static str {
        match self {
            Scenario::BackupCrisis => "backup-crisis",
            Scenario::DatabaseOverload => "database-overload",
            Scenario::ApiStorm => "api-storm",
            Scenario::WebTrafficPeak => "web-traffic-peak",
            Scenario::CacheFailure => "cache-failure",
            Scenario::MonitoringAlert => "monitoring-alert",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            Scenario::BackupCrisis => "Backup crisis",
            Scenario::DatabaseOverload => "Database overload",
            Scenario::ApiStorm => "API request storm",
            Scenario::WebTrafficPeak => "Web traffic peak",
            Scenario::CacheFailure => "Cache failure",
            Scenario::MonitoringAlert => "Monitoring alert",
        }
    }

    pub const fn name_ko(self) -> &'static str {
        match self {
            Scenario::BackupCrisis => "백업 위기",
            Scenario::DatabaseOverload => "데이터베이스 과부하",
            Scenario::ApiStorm => "API 요청 폭주",
            Scenario::WebTrafficPeak => "웹 트래픽 피크",
            Scenario::CacheFailure => "캐시 장애",
            Scenario::MonitoringAlert => "모니터링 경보",
        }
    }

    pub const fn description_en(self) -> &'static str {
        match self {
            Scenario::BackupCrisis => {
                "The nightly backup overruns: the backup server's disk and CPU fill up while the \
                 database replica is saturated with read I/O."
            }
            Scenario::DatabaseOverload => {
                "Slow queries pile up on the primary database: its CPU and memory climb and API latency rises."
            }
            Scenario::ApiStorm => "A burst of API requests saturates the application servers' CPU and network.",
            Scenario::WebTrafficPeak => "Peak user traffic pushes the web frontends' CPU and network to their limits.",
            Scenario::CacheFailure => {
                "Redis runs out of memory and starts evicting keys; cache misses push extra load onto the API servers."
            }
            Scenario::MonitoringAlert => {
                "The monitoring server itself struggles: a metric cardinality spike exhausts its CPU, memory and disk."
            }
        }
    }

    pub const fn description_ko(self) -> &'static str {
        match self {
            Scenario::BackupCrisis => {
                "야간 백업이 지연되면서 백업 서버의 디스크와 CPU가 포화되고, DB 레플리카의 읽기 I/O가 급증합니다."
            }
            Scenario::DatabaseOverload => {
                "주 데이터베이스에 느린 쿼리가 쌓여 CPU와 메모리 사용률이 치솟고 API 응답 지연이 늘어납니다."
            }
            Scenario::ApiStorm => "API 요청이 폭주하여 애플리케이션 서버의 CPU와 네트워크가 포화됩니다.",
            Scenario::WebTrafficPeak => {
                "사용자 트래픽이 최고조에 달해 웹 서버의 CPU와 네트워크 사용량이 한계에 이릅니다."
            }
            Scenario::CacheFailure => {
                "Redis 메모리가 가득 차 키 축출이 시작되고, 캐시 미스로 API 서버의 부하가 증가합니다."
            }
            Scenario::MonitoringAlert => {
                "메트릭 카디널리티 급증으로 모니터링 서버 자체의 CPU, 메모리, 디스크가 고갈됩니다."
            }
        }
    }

    /// Every (server, metric) the scenario drives. Servers not listed stay on their baseline.
    pub const fn effects(self) -> &'static [Effect] {
        match self {
            Scenario::BackupCrisis => BACKUP_CRISIS,
            Scenario::DatabaseOverload => DATABASE_OVERLOAD,
            Scenario::ApiStorm => API_STORM,
            Scenario::WebTrafficPeak => WEB_TRAFFIC_PEAK,
            Scenario::CacheFailure => CACHE_FAILURE,
            Scenario::MonitoringAlert => MONITORING_ALERT,
        }
    }

    /// Ids of the servers the scenario touches, in first-mention order.
    pub fn servers(self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for e in self.effects() {
            if !out.contains(&e.server) {
                out.push(e.server);
            }
        }
        out
    }

    /// UTC hour at which this scenario's daily block starts.
    pub const fn start_hour_utc(self) -> u32 {
        (self as u32) * BLOCK_HOURS as u32
    }

    /// Everything the API needs to describe the scenario, in both languages.
    pub fn info(self) -> ScenarioInfo {
        ScenarioInfo {
            id: self,
            name: self.name_en(),
            name_ko: self.name_ko(),
            description: self.description_en(),
            description_ko: self.description_ko(),
            start_hour_utc: self.start_hour_utc(),
            duration_hours: BLOCK_HOURS as u32,
            servers: self.servers(),
        }
    }
}

impl Phase {
    /// Phases in the order they occur within each hour.
    pub const ALL: [Phase; 4] = [Phase::Normal, Phase::Warning, Phase::Critical, Phase::Recovery];

    pub const fn id(self) -> &'static str {
        match self {
            Phase::Normal => "normal",
            Phase::Warning => "warning",
            Phase::Critical => "critical",
            Phase::Recovery => "recovery",
        }
    }

    pub const fn name_en(self) -> &'static str {
        match self {
            Phase::Normal => "Normal",
            Phase::Warning => "Warning",
            Phase::Critical => "Critical",
            Phase::Recovery => "Recovery",
        }
    }

    pub const fn name_ko(self) -> &'static str {
        match self {
            Phase::Normal => "정상",
            Phase::Warning => "경고",
            Phase::Critical => "심각",
            Phase::Recovery => "복구",
        }
    }

    /// Minute past the hour at which this phase starts.
    pub const fn start_minute(self) -> u32 {
        (self as u32) * PHASE_MINUTES as u32
    }
}

/// Bilingual description of one scenario, as served to the web app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioInfo {
    pub id: Scenario,
    pub name: &'static str,
    pub name_ko: &'static str,
    pub description: &'static str,
    pub description_ko: &'static str,
    pub start_hour_utc: u32,
    pub duration_hours: u32,
    pub servers: Vec<&'static str>,
}

/// The scenario and phase at a moment, with the windows they occupy (epoch milliseconds,
/// start inclusive, end exclusive) so a UI can show "recovery in 4 min".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioState {
    pub scenario: Scenario,
    pub phase: Phase,
    pub block_start_ms: i64,
    pub block_end_ms: i64,
    pub phase_start_ms: i64,
    pub phase_end_ms: i64,
}

impl ScenarioState {
    /// How far through the phase `at_ms` is, in [0, 1). Used to ramp targets within a phase.
    pub fn phase_progress(&self, at_ms: i64) -> f64 {
        let span = (self.phase_end_ms - self.phase_start_ms).max(1);
        ((at_ms - self.phase_start_ms) as f64 / span as f64).clamp(0.0, 1.0)
    }
}

/// Which scenario and phase are active at `at_ms` (Unix epoch milliseconds, UTC).
pub fn scenario_at(at_ms: i64) -> (Scenario, Phase) {
    let s = scenario_state(at_ms);
    (s.scenario, s.phase)
}

/// Like [`scenario_at`], with the block and phase windows.
pub fn scenario_state(at_ms: i64) -> ScenarioState {
    // rem_euclid keeps pre-1970 instants on the same calendar instead of mirroring it.
    let into_day = at_ms.rem_euclid(DAY_MS);
    let block = into_day / BLOCK_MS;
    let phase = into_day.rem_euclid(HOUR_MS) / PHASE_MS;
    // Saturating so that the windows merely clip, rather than overflow, at the ends of i64.
    let block_start_ms = at_ms.saturating_sub(into_day % BLOCK_MS);
    let phase_start_ms = at_ms.saturating_sub(at_ms.rem_euclid(PHASE_MS));
    ScenarioState {
        // Both indexes are bounded by construction (block < 6, phase < 4); the fallbacks only
        // exist so the lookup cannot panic.
        scenario: Scenario::ALL.get(block as usize).copied().unwrap_or(Scenario::BackupCrisis),
        phase: Phase::ALL.get(phase as usize).copied().unwrap_or(Phase::Normal),
        block_start_ms,
        block_end_ms: block_start_ms.saturating_add(BLOCK_MS),
        phase_start_ms,
        phase_end_ms: phase_start_ms.saturating_add(PHASE_MS),
    }
}

/// Ceiling for secondary effects: elevated, but clear of an 80% warning threshold even with jitter.
const SECONDARY_CEILING: f64 = 78.0;

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// The noise-free value of an affected metric, given what it would be without the scenario.
///
/// Percent metrics move to absolute levels chosen against the default 80/90 thresholds: the
/// warning phase ramps 83 -> 87 and the critical phase 93 -> 97, so with ±1.5% jitter they stay
/// inside (80, 90] and above 90 respectively. Recovery ramps from just under the warning line back
/// to the baseline, so the next hour's normal phase starts without a jump. Rate metrics (network)
/// are scaled instead, since they have no natural ceiling.
pub(crate) fn affected_target(metric: Metric, intensity: Intensity, phase: Phase, progress: f64, base: f64) -> f64 {
    let percent = matches!(metric, Cpu | Memory | Disk);
    match (percent, intensity) {
        (true, Primary) => match phase {
            Phase::Normal => base,
            Phase::Warning => lerp(83.0, 87.0, progress),
            Phase::Critical => lerp(93.0, 97.0, progress),
            Phase::Recovery => lerp(78.0, base, progress),
        },
        (true, Secondary) => {
            let headroom = (SECONDARY_CEILING - base).max(0.0);
            match phase {
                Phase::Normal => base,
                Phase::Warning => base + headroom * 0.4,
                Phase::Critical => base + headroom * 0.8,
                Phase::Recovery => base + headroom * lerp(0.5, 0.0, progress),
            }
        }
        (false, Primary) => {
            base * match phase {
                Phase::Normal => 1.0,
                Phase::Warning => lerp(2.5, 3.5, progress),
                Phase::Critical => lerp(5.0, 7.0, progress),
                Phase::Recovery => lerp(2.0, 1.0, progress),
            }
        }
        (false, Secondary) => {
            base * match phase {
                Phase::Normal => 1.0,
                Phase::Warning => 1.6,
                Phase::Critical => 2.4,
                Phase::Recovery => lerp(1.5, 1.0, progress),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::server;

    /// 2024-01-01T00:00:00Z.
    const DAY0: i64 = 1_704_067_200_000;

    fn at(h: i64, m: i64) -> i64 {
        DAY0 + h * HOUR_MS + m * MINUTE_MS
    }

    #[test]
    fn documented_calendar() {
        assert_eq!(scenario_at(at(0, 0)), (Scenario::BackupCrisis, Phase::Normal));
        assert_eq!(scenario_at(at(3, 59)), (Scenario::BackupCrisis, Phase::Recovery));
        assert_eq!(scenario_at(at(4, 15)), (Scenario::DatabaseOverload, Phase::Warning));
        assert_eq!(scenario_at(at(9, 30)), (Scenario::ApiStorm, Phase::Critical));
        assert_eq!(scenario_at(at(13, 44)), (Scenario::WebTrafficPeak, Phase::Critical));
        assert_eq!(scenario_at(at(17, 45)), (Scenario::CacheFailure, Phase::Recovery));
        assert_eq!(scenario_at(at(23, 14)), (Scenario::MonitoringAlert, Phase::Normal));
        // The next day starts over, and so do days before the epoch.
        assert_eq!(scenario_at(at(24, 0)), (Scenario::BackupCrisis, Phase::Normal));
        assert_eq!(scenario_at(-1), (Scenario::MonitoringAlert, Phase::Recovery));
    }

    #[test]
    fn every_scenario_and_phase_at_its_hour_and_minute() {
        for h in 0..24 {
            for m in 0..60 {
                let (s, p) = scenario_at(at(h, m));
                assert_eq!(s, Scenario::ALL[(h / 4) as usize]);
                assert_eq!(s.start_hour_utc() as i64, h - h % 4);
                assert_eq!(p, Phase::ALL[(m / 15) as usize]);
                assert_eq!(p.start_minute() as i64, m - m % 15);
            }
        }
    }

    #[test]
    fn state_windows_contain_the_instant() {
        for t in [at(0, 0), at(5, 7) + 123, at(23, 59) + 59_999, -7_777_777] {
            let s = scenario_state(t);
            assert!(s.block_start_ms <= t && t < s.block_end_ms);
            assert!(s.phase_start_ms <= t && t < s.phase_end_ms);
            assert!(s.block_start_ms <= s.phase_start_ms && s.phase_end_ms <= s.block_end_ms);
            assert_eq!(scenario_at(s.phase_start_ms), (s.scenario, s.phase));
            assert_eq!(scenario_at(s.phase_end_ms - 1), (s.scenario, s.phase));
            let p = s.phase_progress(t);
            assert!((0.0..1.0).contains(&p));
        }
    }

    #[test]
    fn effects_name_real_servers_and_each_has_a_status_driving_primary() {
        for s in Scenario::ALL {
            for e in s.effects() {
                assert!(server(e.server).is_some(), "{} names unknown server {}", s.id(), e.server);
            }
            // Status is derived from CPU and memory, so every scenario must push one of them hard.
            assert!(
                s.effects().iter().any(|e| e.intensity == Primary && matches!(e.metric, Cpu | Memory)),
                "{} cannot reach critical",
                s.id()
            );
            assert!(!s.servers().is_empty());
        }
    }

    #[test]
    fn bilingual_names_and_serialised_ids() {
        assert_eq!(Scenario::BackupCrisis.name_ko(), "백업 위기");
        for s in Scenario::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.id());
            assert!(!s.name_en().is_empty() && !s.name_ko().is_empty());
            assert!(!s.description_en().is_empty() && !s.description_ko().is_empty());
            let info = serde_json::to_value(s.info()).unwrap();
            assert_eq!(info["nameKo"], s.name_ko());
            assert_eq!(info["descriptionKo"], s.description_ko());
            assert_eq!(info["durationHours"], 4);
        }
        for p in Phase::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.id());
            assert!(!p.name_en().is_empty() && !p.name_ko().is_empty());
        }
        let back: Scenario = serde_json::from_str("\"web-traffic-peak\"").unwrap();
        assert_eq!(back, Scenario::WebTrafficPeak);
    }

    #[test]
    fn primary_percent_targets_sit_in_their_bands() {
        for base in [10.0, 40.0, 70.0] {
            for i in 0..=20 {
                let p = f64::from(i) / 20.0;
                let w = affected_target(Cpu, Primary, Phase::Warning, p, base);
                let c = affected_target(Cpu, Primary, Phase::Critical, p, base);
                let r = affected_target(Cpu, Primary, Phase::Recovery, p, base);
                let sec = affected_target(Cpu, Secondary, Phase::Critical, p, base);
                // Margins cover ±1.5% jitter.
                assert!(w * 0.985 > 80.0 && w * 1.015 <= 90.0);
                assert!(c * 0.985 > 90.0 && c * 1.015 <= 100.0);
                assert!(r * 1.015 < 80.0 && sec * 1.015 < 80.0);
                assert_eq!(affected_target(Cpu, Primary, Phase::Normal, p, base), base);
            }
        }
        assert_eq!(affected_target(NetworkIn, Primary, Phase::Critical, 0.5, 100.0), 600.0);
    }
}
