//! Health scores for a healthy and a struggling server, and the fleet they make.

use super::*;
use crate::input::{Input, Point};
use crate::report::{Evidence, FindingKind};
use crate::testutil::*;
use crate::{AnalysisType, Options, run};

fn healthy() -> ServerSeries {
    server(
        "web-01",
        specs4(),
        vec![
            (Metric::Cpu, noise(1, 1_440, MINUTE, 30.0, 3.0)),
            (Metric::Memory, noise(2, 1_440, MINUTE, 40.0, 2.0)),
            (Metric::Disk, noise(3, 1_440, MINUTE, 50.0, 0.1)),
            (Metric::Load1, noise(4, 1_440, MINUTE, 1.0, 0.1)),
        ],
    )
}

fn struggling() -> ServerSeries {
    let mut rng = Rng::new(5);
    // Disk from 90% rising 8 points a day: full in about 6 hours after the last reading.
    let disk = series(1_440, MINUTE, |i, _| 90.0 + 6.0 * i as f64 / 1_440.0 + 0.05 * rng.gauss());
    server(
        "db-01",
        specs4(),
        vec![
            (Metric::Cpu, noise(6, 1_440, MINUTE, 95.0, 2.0)),
            (Metric::Memory, noise(7, 1_440, MINUTE, 93.0, 1.0)),
            (Metric::Disk, disk),
            (Metric::Load1, noise(8, 1_440, MINUTE, 12.0, 0.5)),
        ],
    )
}

#[test]
fn healthy_server_scores_above_a_struggling_one_with_reasons() {
    let now = T0 + 1_440 * MINUTE;
    let good = assess(&healthy(), now, Lang::En);
    let bad = assess(&struggling(), now, Lang::En);
    assert_eq!(good.score, Some(100.0), "{good:?}");
    assert!(good.deductions.is_empty());
    assert_eq!(good.grade, Severity::Info);
    let score = bad.score.unwrap();
    assert!(score < 50.0 && score < good.score.unwrap(), "{bad:?}");
    assert_eq!(bad.grade, Severity::Critical);
    let has = |r: Reason, m: Option<Metric>| bad.deductions.iter().any(|d| d.reason == r && d.metric == m);
    assert!(has(Reason::LevelCritical, Some(Metric::Cpu)));
    assert!(has(Reason::LevelCritical, Some(Metric::Memory)));
    assert!(has(Reason::LevelCritical, Some(Metric::Disk)));
    assert!(has(Reason::SustainedHigh, Some(Metric::Cpu)));
    assert!(has(Reason::LoadPerCore, Some(Metric::Load1)));
    assert!(has(Reason::Exhaustion, Some(Metric::Disk)));
    assert!(bad.deductions.iter().all(|d| !d.text.is_empty() && d.points > 0));
    assert!(bad.deductions.windows(2).all(|w| w[0].points >= w[1].points));
}

#[test]
fn fleet_report_orders_and_explains() {
    let report = run(AnalysisType::Health, &input(vec![healthy(), struggling()]), Lang::En, &Options::default());
    let fleet = &report.findings[0];
    assert_eq!(fleet.kind, FindingKind::FleetHealth);
    let Evidence::FleetHealth(f) = &fleet.evidence else { panic!() };
    assert_eq!((f.servers, f.healthy, f.critical), (2, 1, 1));
    assert_eq!(f.worst.as_ref().unwrap().server_id, "db-01");
    assert_eq!(report.score, Some(f.score));
    assert!(report.summary.starts_with("Fleet health"), "{}", report.summary);
    // Worst server first after the fleet.
    assert_eq!(report.findings[1].server_id.as_deref(), Some("db-01"));
    assert!(report.findings[1].description.starts_with("Deductions: CPU is 9"), "{}", report.findings[1].description);
    assert_eq!(report.findings[2].score, Some(100.0));
    assert_eq!(report.analyzed_points, 8 * 1_440);
}

#[test]
fn stale_and_empty_servers() {
    let now = T0 + 1_440 * MINUTE + 2 * HOUR;
    let h = assess(&healthy(), now, Lang::Ko);
    assert_eq!(h.deductions.len(), 1);
    assert_eq!(h.deductions[0].reason, Reason::Stale);
    assert!(h.deductions[0].text.contains("전입니다"), "{}", h.deductions[0].text);
    assert_eq!(h.score, Some(60.0));

    let mut empty =
        server("ghost", specs4(), vec![(Metric::Cpu, vec![]), (Metric::Memory, vec![Point::new(T0, f64::NAN)])]);
    let none = assess(&empty, now, Lang::En);
    assert_eq!((none.score, none.last_seen), (None, None));
    empty.metrics.clear();
    let report = run(AnalysisType::Health, &Input { servers: vec![empty], now }, Lang::En, &Options::default());
    assert_eq!(report.score, None);
    assert_eq!(report.findings.len(), 1);
    assert!(report.findings[0].title.contains("no data"));
}
