//! Whole-crate properties through `run`: both languages for every analysis, the JSON shape, options,
//! and bad input that must give clear, empty results rather than panics.

use std::f64::consts::TAU;

use crate::testutil::*;
use crate::*;

/// A small fleet where every analysis has something to say: an anomaly, a filling disk, a daily
/// cycle, a lagged pair across servers, an idle and a saturated server.
fn eventful() -> Input {
    let days = 4;
    let n = days * 288;
    let step = 5 * MINUTE;
    let mut rng = Rng::new(11);
    let mut web_cpu: Vec<Point> = series(n, step, |_, ts| {
        let hour = (ts - T0) as f64 / HOUR as f64;
        40.0 + 20.0 * (TAU * (hour - 8.5) / 24.0).sin() + 2.0 * rng.gauss()
    });
    web_cpu[700].value = 99.0;
    let db_cpu: Vec<Point> = web_cpu
        .iter()
        .enumerate()
        .map(|(i, p)| Point::new(p.ts, web_cpu[i.saturating_sub(2)].value * 0.8 + rng.gauss()))
        .collect();
    let disk = series(n, step, |_, ts| 60.0 + 5.0 * (ts - T0) as f64 / DAY as f64 + 0.2 * rng.gauss());
    let idle = Specs { cpu_cores: 8, memory_gb: 32.0, disk_gb: 500.0 };
    Input {
        servers: vec![
            server("web-01", specs4(), vec![(Metric::Cpu, web_cpu), (Metric::Disk, disk)]),
            server("db-01", specs4(), vec![(Metric::Cpu, db_cpu), (Metric::Memory, noise(12, n, step, 93.0, 1.0))]),
            server("idle-01", idle, vec![(Metric::Cpu, noise(13, n, step, 3.0, 1.0))]),
        ],
        now: T0 + days as i64 * DAY,
    }
}

fn texts(r: &Report) -> Vec<&str> {
    let mut out = vec![r.summary.as_str()];
    out.extend(r.notes.iter().map(String::as_str));
    for f in &r.findings {
        out.extend([f.title.as_str(), f.description.as_str(), f.recommendation.as_str()]);
    }
    out
}

#[test]
fn korean_has_hangul_and_english_does_not() {
    let input = eventful();
    let opts = Options { server_id: None, ..Options::default() };
    for kind in AnalysisType::ALL {
        let ko = run(kind, &input, Lang::Ko, &opts);
        let en = run(kind, &input, Lang::En, &opts);
        assert!(!en.findings.is_empty(), "{kind}: no findings to check");
        assert_eq!(ko.findings.len(), en.findings.len(), "{kind}");
        assert!(texts(&ko).iter().all(|t| has_hangul(t)), "{kind}: {:#?}", texts(&ko));
        assert!(texts(&en).iter().all(|t| !has_hangul(t)), "{kind}: {:#?}", texts(&en));
        assert_eq!((ko.language, en.language), (Lang::Ko, Lang::En));
    }
}

#[test]
fn report_serialises_as_camel_case_json() {
    let report = run(AnalysisType::Anomaly, &eventful(), Lang::En, &Options::default());
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "type",
        "language",
        "generatedAt",
        "summary",
        "severityCounts",
        "findings",
        "analyzedServers",
        "analyzedPoints",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["type"], "anomaly");
    let f = &json["findings"][0];
    for key in [
        "kind",
        "severity",
        "serverId",
        "serverName",
        "metric",
        "title",
        "description",
        "evidence",
        "recommendation",
        "score",
    ] {
        assert!(f.get(key).is_some(), "missing {key}: {f}");
    }
    assert_eq!(f["metric"], "cpu");
    assert_eq!(f["evidence"]["at"], T0 + 700 * 5 * MINUTE);
    assert!(f["evidence"]["expectedUpper"].is_number());
    assert!(json.get("score").is_none() && json.get("notes").is_none());
}

#[test]
fn input_and_options_deserialise_from_api_json() {
    let input: Input = serde_json::from_str(
        r#"{"now": 1704067800, "servers": [{"id": "web-01", "name": "Web 1", "serverType": "web",
            "specs": {"cpuCores": 4, "memoryGb": 16, "diskGb": 200},
            "metrics": {"cpu": [{"ts": 1704067200, "value": 12.5}], "networkIn": []}}]}"#,
    )
    .unwrap();
    let web = &input.servers[0];
    assert_eq!((web.specs.cpu_cores, web.metrics.len()), (4, 2));
    assert_eq!(web.metrics[&Metric::Cpu], vec![Point::new(1_704_067_200, 12.5)]);
    let opts: Options = serde_json::from_str(r#"{"serverId": "web-01", "metric": "disk"}"#).unwrap();
    assert_eq!((opts.metric, opts.max_findings), (Some(Metric::Disk), 50));
    assert!(serde_json::from_str::<Options>(r#"{"metric": "gpu"}"#).is_err());
}

#[test]
fn options_narrow_the_scope() {
    let input = eventful();
    let only_db = Options { server_id: Some("db-01".into()), ..Options::default() };
    let r = run(AnalysisType::Optimization, &input, Lang::En, &only_db);
    assert_eq!(r.analyzed_servers, 1);
    assert!(r.findings.iter().all(|f| f.server_id.as_deref() == Some("db-01")));

    let only_disk = Options { metric: Some(Metric::Disk), ..Options::default() };
    let r = run(AnalysisType::Prediction, &input, Lang::En, &only_disk);
    assert!(!r.findings.is_empty() && r.findings.iter().all(|f| f.metric == Some(Metric::Disk)));

    let missing = Options { server_id: Some("nope".into()), ..Options::default() };
    let r = run(AnalysisType::Health, &input, Lang::En, &missing);
    assert!(r.findings.is_empty());
    assert_eq!(r.notes, vec!["Server nope was not found.".to_string()]);

    let one = Options { max_findings: 1, ..Options::default() };
    let r = run(AnalysisType::Health, &input, Lang::En, &one);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.notes.len(), 1);
    // Nonsense numbers are clamped, not trusted.
    let wild = Options {
        anomaly_z: f64::NAN,
        min_correlation: 7.0,
        horizon_secs: -5,
        max_lag_steps: 1 << 40,
        ..Options::default()
    };
    let r = run(AnalysisType::Correlation, &input, Lang::En, &wild);
    assert!(r.findings.iter().all(|f| f.score.is_some_and(|s| s.abs() >= 0.99)));
}

#[test]
fn bad_input_gives_clear_empty_results() {
    let nan: Vec<Point> = (0..50).map(|i| Point::new(T0 + i * 60, f64::NAN)).collect();
    let mut unsorted = noise(1, 100, MINUTE, 50.0, 1.0);
    unsorted.reverse();
    let inputs = [
        Input::default(),
        Input { servers: vec![server("empty", Specs::default(), vec![])], now: T0 },
        Input {
            servers: vec![server("nan", specs4(), vec![(Metric::Cpu, nan.clone()), (Metric::Disk, nan)])],
            now: T0,
        },
        Input { servers: vec![server("one", specs4(), vec![(Metric::Cpu, vec![Point::new(T0, 50.0)])])], now: T0 + 60 },
        Input { servers: vec![server("dup", specs4(), vec![(Metric::Cpu, vec![Point::new(T0, 50.0); 500])])], now: T0 },
        Input { servers: vec![server("rev", specs4(), vec![(Metric::Cpu, unsorted)])], now: i64::MAX },
        Input {
            servers: vec![server("neg", specs4(), vec![(Metric::Memory, noise(2, 100, MINUTE, -1e300, 1e299))])],
            now: i64::MIN,
        },
    ];
    for input in &inputs {
        for kind in AnalysisType::ALL {
            for lang in [Lang::Ko, Lang::En] {
                let r = run(kind, input, lang, &Options::default());
                assert!(!r.summary.is_empty());
                let json = serde_json::to_string(&r).unwrap();
                assert!(!json.contains("NaN") && !json.contains("null"), "{kind}: {json}");
                if kind != AnalysisType::Health {
                    assert!(r.findings.iter().all(|f| f.severity != Severity::Critical), "{kind}: {:#?}", r.findings);
                }
            }
        }
    }
    let empty = run(AnalysisType::Anomaly, &Input::default(), Lang::En, &Options::default());
    assert_eq!((empty.analyzed_servers, empty.analyzed_points, empty.findings.len()), (0, 0, 0));
    assert_eq!(empty.summary, "Anomaly detection of 0 servers (0 readings): nothing notable found.");
}
