//! Right-sizing numbers for an idle and a saturated server.

use super::*;
use crate::stats::quantile;
use crate::testutil::*;
use crate::{AnalysisType, Options, run};

fn p95(points: &[Point]) -> f64 {
    quantile(&points.iter().map(|p| p.value).collect::<Vec<_>>(), 0.95).unwrap()
}

#[test]
fn idle_four_core_server_is_over_provisioned() {
    let cpu = noise(1, 1_440, MINUTE, 5.0, 2.0);
    let expected_p95 = p95(&cpu);
    let s = right_size(&cpu, Metric::Cpu, &specs4()).unwrap();
    assert_eq!(s.verdict, Verdict::OverProvisioned);
    assert_eq!((s.current, s.suggested, s.unit), (4.0, 1.0, "cores"));
    assert!((s.p95 - expected_p95).abs() < 0.01, "{s:?}");
    assert!((s.used_p95 - 4.0 * expected_p95 / 100.0).abs() < 0.01);
    assert!((s.projected_p95 - 4.0 * expected_p95).abs() < 0.1);

    // 16 GB at about 10%: 1.7 GB busy, 4 GB keeps p95 under 70%.
    let memory = noise(2, 1_440, MINUTE, 10.0, 0.5);
    let m = right_size(&memory, Metric::Memory, &specs4()).unwrap();
    assert_eq!((m.verdict, m.suggested), (Verdict::OverProvisioned, 4.0));

    let report = run(
        AnalysisType::Optimization,
        &input(vec![server("idle-01", specs4(), vec![(Metric::Cpu, cpu), (Metric::Memory, memory)])]),
        Lang::En,
        &Options::default(),
    );
    assert_eq!(report.findings.len(), 2);
    let f = report.findings.iter().find(|f| f.metric == Some(Metric::Cpu)).unwrap();
    assert_eq!((f.kind, f.severity), (FindingKind::OverProvisioned, Severity::Info));
    assert!(f.title.contains("(4 cores → 1 core)"), "{}", f.title);
}

#[test]
fn saturated_server_is_under_provisioned() {
    let cpu = noise(3, 1_440, MINUTE, 92.0, 3.0);
    let s = right_size(&cpu, Metric::Cpu, &specs4()).unwrap();
    assert_eq!(s.verdict, Verdict::UnderProvisioned);
    // p95 about 97%: 3.9 cores busy, 6.5 needed for 60%, so 8.
    assert!((s.p95 - p95(&cpu).min(100.0)).abs() < 0.01 && s.p95 > 95.0, "{s:?}");
    assert_eq!(s.suggested, 8.0);
    assert!(s.projected_p95 < 60.0);

    let disk = noise(4, 1_440, MINUTE, 88.0, 0.2);
    let d = right_size(&disk, Metric::Disk, &specs4()).unwrap();
    // 200 GB at 88%: 176 GB used, 252 GB for 70%, rounded to 260.
    assert_eq!((d.verdict, d.suggested), (Verdict::UnderProvisioned, 260.0));

    let report = run(
        AnalysisType::Optimization,
        &input(vec![server("busy-01", specs4(), vec![(Metric::Cpu, cpu), (Metric::Disk, disk)])]),
        Lang::Ko,
        &Options::default(),
    );
    assert_eq!(report.findings[0].severity, Severity::Critical);
    assert!(report.findings[0].title.contains("4코어 → 8코어"), "{}", report.findings[0].title);
}

#[test]
fn comfortable_use_and_unknown_specs_give_nothing() {
    let cpu = noise(5, 1_440, MINUTE, 45.0, 5.0);
    assert_eq!(right_size(&cpu, Metric::Cpu, &specs4()).unwrap().verdict, Verdict::RightSized);
    assert_eq!(right_size(&cpu, Metric::Cpu, &Specs::default()), None);
    assert_eq!(right_size(&cpu, Metric::NetworkIn, &specs4()), None);
    // Low disk use is never "over-provisioned".
    assert_eq!(
        right_size(&noise(6, 100, MINUTE, 5.0, 0.1), Metric::Disk, &specs4()).unwrap().verdict,
        Verdict::RightSized
    );
    // Too short a range, too few points, NaNs.
    assert_eq!(right_size(&noise(7, 50, 10, 5.0, 1.0), Metric::Cpu, &specs4()), None);
    assert_eq!(right_size(&noise(7, 10, MINUTE, 5.0, 1.0), Metric::Cpu, &specs4()), None);
    assert_eq!(right_size(&series(100, MINUTE, |_, _| f64::NAN), Metric::Cpu, &specs4()), None);
}
