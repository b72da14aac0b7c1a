//! Properties of the engine as a whole, on a small hand-made fleet: what each question asks the hub
//! for, follow-ups being a function of the history, confidence following the parse, honest answers
//! when a part of the facts is missing, and answers that never break on empty or odd input. The
//! question-by-question quality is measured by `tests/assistant_eval.rs`.

use super::*;

const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a Thursday
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

fn server(id: &str, ty: &str, status: &str, cpu: f64, memory: f64, disk: f64) -> ServerFact {
    ServerFact {
        id: id.into(),
        name: id.into(),
        server_type: ty.into(),
        status: status.into(),
        cpu,
        memory,
        disk,
        network_in: 1e6,
        network_out: 2e6,
        load: [1.0, 1.0, 1.0],
        uptime_secs: 86_400,
        environment: "production".into(),
        location: "us-east-1a".into(),
        provider: "AWS".into(),
        source: "agent".into(),
        specs: Specs { cpu_cores: 4, memory_bytes: 8_000_000_000, disk_bytes: 100_000_000_000 },
        firing_alerts: 0,
    }
}

fn line(id: &str, metric: &str, from: i64, step: i64, values: impl Iterator<Item = f64>) -> Series {
    Series {
        server_id: id.into(),
        metric: metric.into(),
        points: values.enumerate().map(|(i, v)| (from + i as i64 * step, v)).collect(),
    }
}

/// Five servers; web-02's CPU rises over the last hour, backup's disk grows a point a day.
fn snapshot() -> Facts {
    Facts {
        now_ms: NOW,
        utc_offset_secs: 0,
        servers: vec![
            server("web-01", "web", "online", 40.0, 50.0, 30.0),
            server("web-02", "web", "warning", 85.0, 60.0, 35.0),
            server("db-master", "database", "critical", 95.0, 91.0, 70.0),
            server("backup", "backup", "online", 10.0, 20.0, 93.0),
            server("worker", "other", "offline", 5.0, 5.0, 5.0),
        ],
        ..Facts::default()
    }
}

fn full() -> Facts {
    let mut f = snapshot();
    f.series = vec![
        line("web-02", "cpu", NOW - HOUR, 5 * MIN, (0..=12).map(|i| 60.0 + 25.0 * i as f64 / 12.0)),
        line("backup", "disk", NOW - 7 * DAY, HOUR, (0..=168).map(|i| 86.0 + i as f64 / 24.0)),
    ];
    f.alerts = Some(vec![AlertFact {
        id: "cpu:db-master:1".into(),
        rule_id: "cpu".into(),
        rule_name: "CPU critical".into(),
        server_id: "db-master".into(),
        server_name: "db-master".into(),
        severity: "critical".into(),
        metric: "cpu".into(),
        op: ">".into(),
        value: 95.0,
        threshold: 90.0,
        state: AlertState::Firing,
        started_at_ms: NOW - 20 * MIN,
        fired_at_ms: Some(NOW - 18 * MIN),
        top_processes: vec![ProcessFact { pid: 42, name: "postgres".into(), cpu: 80.0, memory_bytes: 1 << 30 }],
        ..AlertFact::default()
    }]);
    f.events = Some(vec![EventFact {
        at_ms: NOW - 30 * MIN,
        kind: EventKind::StatusChanged,
        server_id: Some("worker".into()),
        check: None,
        from: Some("online".into()),
        to: Some("offline".into()),
        detail: String::new(),
    }]);
    f
}

fn ask(q: &str) -> Answer {
    LocalEngine::new().answer(q, &[], &full())
}

#[test]
fn each_question_asks_for_exactly_its_part() {
    let engine = LocalEngine::new();
    let snap = snapshot();
    let need = |q: &str| engine.resolve(q, &[], &snap).need(&snap);
    assert!(need("how many servers are critical?").is_empty());
    assert!(need("top 3 servers by memory").is_empty());
    let n = need("web-02 cpu over the last 15 minutes");
    assert_eq!(n.series.len(), 1);
    assert_eq!((n.series[0].servers.clone(), n.series[0].metric), (vec!["web-02".to_owned()], Metric::Cpu));
    assert_eq!((n.series[0].from_ms, n.series[0].to_ms), (NOW - 15 * MIN, NOW));
    let n = need("when will the disks fill up?");
    assert_eq!((n.series[0].metric, n.series[0].servers.is_empty()), (Metric::Disk, true));
    assert_eq!(n.series[0].to_ms - n.series[0].from_ms, 7 * DAY);
    let n = need("what happened yesterday?");
    assert_eq!(n.events, Some((NOW - DAY, NOW)), "yesterday, in the hub's zone (UTC here)");
    assert!(n.series.is_empty() && !n.alerts);
    let n = need("how much egress this month?");
    assert!(n.budget && !n.alerts && n.series.is_empty());
    assert!(need("cache hit rate?").gateway);
    assert!(need("which checks are failing?").checks);
}

#[test]
fn follow_ups_depend_only_on_the_history() {
    let engine = LocalEngine::new();
    let facts = full();
    let history = vec!["what's the memory on web-01?".to_owned()];
    let a = engine.answer("and db-master?", &history, &facts);
    let b = engine.answer("and db-master?", &history, &facts);
    assert_eq!(a.text, b.text, "same history, same answer");
    assert_eq!(a.intent, "server_metric");
    assert!(a.text.contains("91.0%"), "db-master's memory: {}", a.text);
    // Only the last MAX_HISTORY questions are read: an older one cannot steer the answer.
    let mut long = vec!["what's the memory on web-01?".to_owned()];
    long.extend((0..MAX_HISTORY).map(|_| "how many servers are there?".to_owned()));
    let c = engine.answer("and db-master?", &long, &facts);
    assert_eq!(c.intent, "server_status");
    let why = engine.answer("왜?", &["db-master 상태 어때?".to_owned()], &facts);
    assert_eq!((why.intent.as_str(), why.lang.as_str()), ("explain", "ko"));
    assert!(why.text.contains("postgres"), "{}", why.text);
}

#[test]
fn confidence_follows_the_parse() {
    let clear = ask("what's the cpu on web-01?").confidence;
    let defaulted = ask("top 3 servers").confidence;
    let typo = ask("whats the cpu on web-01 pls, memroy too").confidence;
    let unknown = ask("status of web-09").confidence;
    let nothing = ask("what's the weather like?").confidence;
    assert!(clear > defaulted && defaulted > unknown && unknown > nothing, "{clear} {defaulted} {unknown} {nothing}");
    assert!(typo < clear, "{typo} {clear}");
    assert!(nothing < 0.5);
}

#[test]
fn missing_parts_are_said_to_be_missing() {
    let engine = LocalEngine::new();
    let snap = snapshot();
    for (q, want) in [
        ("which alerts are firing?", "no data on alerts"),
        ("how much egress have I used this month?", "no data on the free-tier budget"),
        ("what happened in the last hour?", "no data on events"),
        ("which checks are failing?", "no data on checks"),
        ("what's the cache hit rate?", "no data on the AI gateway"),
    ] {
        let a = engine.answer(q, &[], &snap);
        assert!(a.text.contains(want), "{q}: {}", a.text);
        assert!(a.confidence <= 0.3, "{q}: {}", a.confidence);
    }
    let a = engine.answer("web-02 cpu trend", &[], &snap);
    assert!(a.text.contains("Not enough CPU history") && a.window.is_some(), "{}", a.text);
}

#[test]
fn answers_come_from_the_facts() {
    let a = ask("cpu trend of web-02 over the last hour");
    assert!(
        a.text.contains("rising") && a.text.contains("+25.0 points/hour") && a.text.contains("85.0%"),
        "{}",
        a.text
    );
    assert_eq!(a.window, Some((NOW - HOUR, NOW)));
    let a = ask("when will the disk on backup be full?");
    assert!(a.text.contains("93.0%") && a.text.contains("7.0 days"), "{}", a.text);
    let a = ask("average cpu?");
    // Offline servers are left out: (40 + 85 + 95 + 10) / 4.
    assert!(a.text.contains("57.5%") && a.text.contains("worker offline"), "{}", a.text);
    let a = ask("any servers offline?");
    assert!(a.text.starts_with("Yes") && a.text.contains("worker"), "{}", a.text);
    let a = ask("when did worker go offline?");
    assert!(a.text.contains("23:30"), "{}", a.text);
    let a = ask("why did the db-master alert fire?");
    assert!(a.text.contains("> 90%") && a.text.contains("postgres (pid 42)"), "{}", a.text);
    // Asked about servers of a kind that have no alert while another's fires: about them, and never
    // "no alert is firing".
    for q in ["why are the web servers slow?", "웹 서버 왜 느려?"] {
        let a = ask(q);
        assert_eq!(a.intent, "explain", "{q}");
        assert!(a.text.contains("web-01") && a.text.contains("web-02"), "{q}: {}", a.text);
        assert!(
            !a.text.contains("No alert is firing") && !a.text.contains("발생 중인 알림이 없습니다"),
            "{q}: {}",
            a.text
        );
    }
}

#[test]
fn odd_input_and_empty_facts_still_answer() {
    let engine = LocalEngine::new();
    let empty = Facts::default();
    for q in ["", "???", "🙂", "서버", "top 0", "cpu above 1e308%", &"web-01 ".repeat(500), "지난 99999999시간", "and?"]
    {
        for facts in [&empty, &full()] {
            let a = engine.answer(q, &["and web-01?".to_owned()], facts);
            assert!(!a.text.is_empty(), "{q:?}");
            assert!(!a.text.contains("NaN") && !a.text.contains("inf"), "{q:?}: {}", a.text);
            assert!((0.0..=1.0).contains(&a.confidence));
        }
    }
    let a = engine.answer("what can you do?", &[], &empty);
    assert_eq!(a.intent, "help");
    assert!(a.confidence >= 0.5);
}

#[test]
fn understand_labels_remote_answers_and_answers_serialize() {
    let engine = LocalEngine::new();
    assert_eq!(engine.understand("CPU 사용률이 가장 높은 서버 3개는?").name(), "top_n");
    assert_eq!(engine.understand("which alerts are firing?"), Intent::Alerts);
    let engine = LocalEngine::new().with_known_servers(["gateway-7".to_owned()]);
    assert_eq!(engine.understand("gateway-7 status"), Intent::ServerStatus);
    let json = serde_json::to_value(ask("status of web-09")).unwrap_or_default();
    assert_eq!(json["clarify"][0], "web-01");
    assert_eq!(json["intent"], "server_status");
}
