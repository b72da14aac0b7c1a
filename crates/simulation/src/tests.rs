//! Fleet-wide properties: determinism, the incident calendar as seen through samples, and value
//! ranges over a simulated week. Module-level unit tests live next to their code.

use crate::sample::target;
use crate::scenario::{Intensity, Metric};
use crate::*;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// 2024-01-01T00:00:00Z, a Monday.
const DAY0: i64 = 1_704_067_200_000;

fn srv(id: &str) -> &'static SimServer {
    server(id).unwrap()
}

fn reading(s: &SimSample, metric: Metric) -> f64 {
    match metric {
        Metric::Cpu => s.cpu,
        Metric::Memory => s.memory,
        Metric::Disk => s.disk,
        Metric::NetworkIn => s.network_in as f64,
        Metric::NetworkOut => s.network_out as f64,
    }
}

/// Every instant of a phase at a 20-second grid, for each hour of the scenario's block, on two
/// different days (so the check is not tied to one date).
fn phase_instants(scenario: Scenario, phase: Phase) -> impl Iterator<Item = i64> {
    [0, 37].into_iter().flat_map(move |day| {
        (0..BLOCK_HOURS).flat_map(move |h| {
            let start = DAY0
                + day * DAY_MS
                + (i64::from(scenario.start_hour_utc()) + h) * HOUR_MS
                + i64::from(phase.start_minute()) * MINUTE_MS;
            (0..45).map(move |k| start + k * 20_000)
        })
    })
}

#[test]
fn same_inputs_same_sample_different_seed_different_sample() {
    for s in fleet() {
        for t in [DAY0, DAY0 + 13 * HOUR_MS + 31 * MINUTE_MS + 7, -123_456_789, 0] {
            let a = sample(s, t, 7);
            assert_eq!(a, sample(s, t, 7), "{} at {t}", s.id);
            // Fresh evaluation through history agrees with a point sample: no hidden state.
            assert_eq!(history(s, t - 2000, t, 1000, 7).last(), Some(a.clone()));
            let b = sample(s, t, 8);
            assert_ne!(a, b, "{} at {t}: seeds 7 and 8 collide", s.id);
            assert_ne!((a.cpu, a.memory, a.network_in), (b.cpu, b.memory, b.network_in));
        }
    }
}

#[test]
fn normal_phase_leaves_every_server_online() {
    for scenario in Scenario::ALL {
        for t in phase_instants(scenario, Phase::Normal) {
            for s in fleet() {
                let x = sample(s, t, 11);
                assert_eq!(x.status, Status::Online, "{} {} at {t}: {x:?}", scenario.id(), s.id);
            }
        }
    }
}

#[test]
fn warning_phase_lands_in_the_warning_band() {
    for scenario in Scenario::ALL {
        for t in phase_instants(scenario, Phase::Warning) {
            assert_eq!(scenario_at(t), (scenario, Phase::Warning));
            for e in scenario.effects().iter().filter(|e| e.intensity == Intensity::Primary) {
                let x = sample(srv(e.server), t, 11);
                let v = reading(&x, e.metric);
                if matches!(e.metric, Metric::Cpu | Metric::Memory | Metric::Disk) {
                    assert!(v > 80.0 && v <= 90.0, "{} {} {:?} = {v} at {t}", scenario.id(), e.server, e.metric);
                }
                if matches!(e.metric, Metric::Cpu | Metric::Memory) {
                    assert_eq!(x.status, Status::Warning, "{} {} at {t}", scenario.id(), e.server);
                }
            }
            for s in fleet() {
                assert_ne!(sample(s, t, 11).status, Status::Critical, "{} {} at {t}", scenario.id(), s.id);
            }
        }
    }
}

#[test]
fn critical_phase_makes_a_concerned_server_critical() {
    for scenario in Scenario::ALL {
        let concerned = scenario.servers();
        for t in phase_instants(scenario, Phase::Critical) {
            assert_eq!(scenario_at(t), (scenario, Phase::Critical));
            let statuses: Vec<_> = concerned.iter().map(|id| sample(srv(id), t, 11).status).collect();
            assert!(statuses.contains(&Status::Critical), "{} at {t}: {statuses:?}", scenario.id());
            for e in scenario.effects().iter().filter(|e| e.intensity == Intensity::Primary) {
                let v = reading(&sample(srv(e.server), t, 11), e.metric);
                if matches!(e.metric, Metric::Cpu | Metric::Memory | Metric::Disk) {
                    assert!(v > 90.0, "{} {} {:?} = {v} at {t}", scenario.id(), e.server, e.metric);
                }
            }
            // Bystanders stay calm: only servers the scenario names may leave "online".
            for s in fleet().iter().filter(|s| !concerned.contains(&s.id)) {
                assert_eq!(sample(s, t, 11).status, Status::Online, "{} {} at {t}", scenario.id(), s.id);
            }
        }
    }
}

#[test]
fn recovery_phase_is_below_warning_and_ends_at_baseline() {
    for scenario in Scenario::ALL {
        for t in phase_instants(scenario, Phase::Recovery) {
            for s in fleet() {
                assert_eq!(sample(s, t, 11).status, Status::Online, "{} {} at {t}", scenario.id(), s.id);
            }
        }
        // The ramp back ends where the next hour's normal phase begins, so charts show no cliff.
        let end = DAY0 + (i64::from(scenario.start_hour_utc()) + 1) * HOUR_MS;
        for e in scenario.effects() {
            let before = target(srv(e.server), e.metric, end - 1);
            let after = target(srv(e.server), e.metric, end);
            assert!(
                (before - after).abs() <= after * 0.001 + 1e-6,
                "{} {}: {before} -> {after}",
                scenario.id(),
                e.server
            );
        }
    }
}

#[test]
fn disk_scenarios_reach_critical_when_disk_counts() {
    let with_disk = Thresholds::default().with_disk(Band::new(80.0, 90.0));
    for (scenario, id) in [(Scenario::BackupCrisis, "backup"), (Scenario::MonitoringAlert, "monitoring")] {
        for t in phase_instants(scenario, Phase::Critical).take(45) {
            let x = sample_with(srv(id), t, 3, &with_disk);
            assert!(x.disk > 90.0 && x.status == Status::Critical, "{id} at {t}: {x:?}");
        }
    }
}

#[test]
fn a_week_at_one_minute_steps_stays_valid_and_within_jitter() {
    let thresholds = Thresholds::default();
    for s in fleet() {
        let cores = f64::from(s.specs.cpu_cores);
        let mut max_uptime = 0;
        for x in history(s, DAY0, DAY0 + 7 * DAY_MS, MINUTE_MS, 2024) {
            let t = x.timestamp;
            for m in [Metric::Cpu, Metric::Memory, Metric::Disk, Metric::NetworkIn, Metric::NetworkOut] {
                let v = reading(&x, m);
                let goal = target(s, m, t);
                // Rounding adds up to 0.005 (percent, 2 decimals) or 0.5 (bytes/s, integers).
                let slack = if matches!(m, Metric::NetworkIn | Metric::NetworkOut) { 0.5 } else { 0.005 };
                assert!((v - goal).abs() <= JITTER * goal + slack + 1e-9, "{} {m:?} {v} vs {goal} at {t}", s.id);
            }
            for v in [x.cpu, x.memory, x.disk] {
                assert!((0.0..=100.0).contains(&v), "{} {v} at {t}", s.id);
            }
            assert!(x.network_in > 0 && x.network_out > 0);
            for l in [x.load1, x.load5, x.load15] {
                assert!(l >= 0.0 && l <= cores + 0.01, "{} load {l} at {t}", s.id);
            }
            assert!(x.process_count > 0);
            assert!(x.uptime_seconds < 80 * 86_400);
            max_uptime = max_uptime.max(x.uptime_seconds);
            assert_eq!(x.status, thresholds.status(x.cpu, x.memory, x.disk));
        }
        assert!(max_uptime > 86_400, "{} never stays up a full day", s.id);
    }
}

#[test]
fn bystanders_are_busier_by_day_than_by_night() {
    // security is never named by a scenario, so it shows the bare daily curve.
    let s = srv("security");
    let mean_cpu = |hour: i64| -> f64 {
        let from = DAY0 + hour * HOUR_MS;
        let xs: Vec<f64> = history(s, from, from + HOUR_MS, MINUTE_MS, 1).map(|x| x.cpu).collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    let (day, night) = (mean_cpu(14), mean_cpu(2));
    assert!(day > night * 1.5, "day {day} vs night {night}");
    assert!(Scenario::ALL.iter().all(|sc| !sc.servers().contains(&"security")));
}

#[test]
fn jitter_is_smooth_at_one_second_resolution() {
    // A 10-minute window inside api-storm's normal phase (08:00-08:15), so the target is flat.
    let s = srv("api-01");
    let from = DAY0 + 8 * HOUR_MS + 2 * MINUTE_MS;
    let xs: Vec<f64> = history(s, from, from + 10 * MINUTE_MS, 1000, 5).map(|x| x.cpu).collect();
    let mut biggest_step: f64 = 0.0;
    for w in xs.windows(2) {
        biggest_step = biggest_step.max((w[1] - w[0]).abs());
    }
    let (lo, hi) = xs.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    // Interpolating 10-second points moves at most ~0.45% of the value per second; white noise
    // at ±1.5% would routinely jump several times that.
    assert!(biggest_step <= 0.005 * hi + 0.011, "step {biggest_step}");
    assert!(hi - lo > 0.1, "the line should still move: {lo}..{hi}");
}

#[test]
fn targets_do_not_depend_on_the_seed() {
    // Seeds only reshuffle jitter, so averages over a stretch agree closely across seeds.
    let s = srv("db-master");
    let mean = |seed: u64| -> f64 {
        let xs: Vec<f64> = history(s, DAY0, DAY0 + 6 * HOUR_MS, 30_000, seed).map(|x| x.memory).collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    let (a, b) = (mean(1), mean(99));
    assert!((a - b).abs() < a * 0.01, "{a} vs {b}");
}
