//! Engine tests with explicit times: every evaluation is given `now_ms`, so no clock is involved.

use super::*;
use crate::alerts::rule::{Matchers, Scope};

const S: i64 = 1000;

fn rule(id: &str, metric: Metric, threshold: f64) -> Rule {
    Rule {
        id: id.into(),
        name: format!("{id} rule"),
        metric,
        op: Op::Gt,
        threshold,
        clear_threshold: None,
        window: Window::Latest,
        for_seconds: 0,
        severity: Severity::Warning,
        scope: Scope::default(),
        channels: vec!["ops".into()],
        repeat_interval_seconds: 0,
        enabled: true,
        check_id: None,
    }
}

fn obs(server: &str, metric: Metric, v: f64) -> Observation {
    Observation {
        server_id: server.into(),
        server_name: format!("{server} name"),
        server_type: ServerType::Web,
        source: Source::Agent,
        values: BTreeMap::from([(metric, v)]),
        top_processes: Vec::new(),
    }
}

/// No keep-firing delay and no cool-down unless a test asks for them.
fn engine(rules: Vec<Rule>) -> Engine {
    let mut e = Engine::new(EngineConfig { keep_firing_ms: 0, refire_cooldown_ms: 0, ..EngineConfig::default() });
    e.set_rules(rules, 0);
    e
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

#[test]
fn pending_then_firing_after_for_seconds() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.for_seconds = 30;
    let mut e = engine(vec![r]);
    assert!(e.evaluate(0, &[obs("a", Metric::Cpu, 90.0)]).is_empty());
    assert_eq!(e.active().next().unwrap().state, AlertState::Pending);
    assert!(e.evaluate(29 * S, &[obs("a", Metric::Cpu, 91.0)]).is_empty());
    let ev = e.evaluate(30 * S, &[obs("a", Metric::Cpu, 92.0)]);
    assert_eq!(kinds(&ev), vec![EventKind::Fired]);
    let a = &ev[0].alert;
    assert_eq!(
        (a.state, a.value, a.threshold, a.started_at, a.fired_at),
        (AlertState::Firing, 92.0, 80.0, 0, Some(30 * S))
    );
    assert_eq!(a.id, "cpu:a:0");
    assert_eq!(a.channels, vec!["ops".to_string()]);
    assert_eq!(e.firing_count("a"), 1);
}

#[test]
fn pending_drops_when_condition_stops() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.for_seconds = 30;
    let mut e = engine(vec![r]);
    e.evaluate(0, &[obs("a", Metric::Cpu, 90.0)]);
    e.evaluate(10 * S, &[obs("a", Metric::Cpu, 50.0)]);
    assert_eq!(e.active().count(), 0);
    // The clock restarts with the next breach.
    e.evaluate(20 * S, &[obs("a", Metric::Cpu, 90.0)]);
    assert!(e.evaluate(40 * S, &[obs("a", Metric::Cpu, 90.0)]).is_empty());
    assert_eq!(kinds(&e.evaluate(50 * S, &[obs("a", Metric::Cpu, 90.0)])), vec![EventKind::Fired]);
}

#[test]
fn average_window_smooths_spikes() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.window = Window::Average { seconds: 30 };
    let mut e = engine(vec![r]);
    // 50, 50, 100 → mean 66.7: one spike does not fire.
    for (t, v) in [(0, 50.0), (10, 50.0), (20, 100.0)] {
        assert!(e.evaluate(t * S, &[obs("a", Metric::Cpu, v)]).is_empty(), "t={t}");
    }
    // t=0 leaves the 30 s window: 50, 100, 80 → 76.7; then 100, 80, 100 → 93.3 fires.
    assert!(e.evaluate(30 * S, &[obs("a", Metric::Cpu, 80.0)]).is_empty());
    let ev = e.evaluate(40 * S, &[obs("a", Metric::Cpu, 100.0)]);
    assert_eq!(kinds(&ev), vec![EventKind::Fired]);
    assert!((ev[0].alert.value - 280.0 / 3.0).abs() < 1e-9);
}

#[test]
fn n_of_m_window() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.window = Window::NOfM { n: 3, m: 5 };
    let mut e = engine(vec![r]);
    let series = [90.0, 10.0, 90.0, 10.0];
    for (i, v) in series.iter().enumerate() {
        assert!(e.evaluate(i as i64 * S, &[obs("a", Metric::Cpu, *v)]).is_empty());
    }
    assert_eq!(kinds(&e.evaluate(4 * S, &[obs("a", Metric::Cpu, 95.0)])), vec![EventKind::Fired]);
    // Still 3 of the last 5 (10, 90, 10, 95, 90): stays firing.
    assert!(e.evaluate(5 * S, &[obs("a", Metric::Cpu, 90.0)]).is_empty());
    // 90, 10, 95, 90, 10 → 3; then 10, 95, 90, 10, 10 → 2: resolved.
    assert!(e.evaluate(6 * S, &[obs("a", Metric::Cpu, 10.0)]).is_empty());
    assert_eq!(kinds(&e.evaluate(7 * S, &[obs("a", Metric::Cpu, 10.0)])), vec![EventKind::Resolved]);
}

#[test]
fn hysteresis_stops_oscillation_refiring() {
    let mut r = rule("mem", Metric::Memory, 85.0);
    r.clear_threshold = Some(80.0);
    let mut e = engine(vec![r]);
    let mut all = Vec::new();
    // Oscillates across 85 for ten minutes but never below 80.
    for i in 0..600 {
        let v = if i % 2 == 0 { 86.0 } else { 84.0 };
        all.extend(e.evaluate(i * S, &[obs("a", Metric::Memory, v)]));
    }
    assert_eq!(kinds(&all), vec![EventKind::Fired]);
    assert_eq!(kinds(&e.evaluate(600 * S, &[obs("a", Metric::Memory, 79.0)])), vec![EventKind::Resolved]);
}

#[test]
fn oscillation_across_clear_threshold_is_damped_by_keep_firing_and_cooldown() {
    let mut e =
        Engine::new(EngineConfig { keep_firing_ms: 30 * S, refire_cooldown_ms: 300 * S, ..EngineConfig::default() });
    e.set_rules(vec![rule("mem", Metric::Memory, 85.0)], 0);
    let mut all = Vec::new();
    // Crosses fully every 10 s: never clear for 30 s, so it stays firing with no repeated events.
    for i in 0..60 {
        let v = if (i / 10) % 2 == 0 { 90.0 } else { 50.0 };
        all.extend(e.evaluate(i * S, &[obs("a", Metric::Memory, v)]));
    }
    assert_eq!(kinds(&all), vec![EventKind::Fired]);
    // Clear since t=50; resolved once, 30 s later.
    all.clear();
    for i in 60..=90 {
        all.extend(e.evaluate(i * S, &[obs("a", Metric::Memory, 50.0)]));
    }
    assert_eq!(kinds(&all), vec![EventKind::Resolved]);
    assert_eq!(all[0].alert.resolved_at, Some(80 * S));
    // A breach inside the cool-down stays pending; it fires once the cool-down has passed.
    all.clear();
    for i in 91..400 {
        all.extend(e.evaluate(i * S, &[obs("a", Metric::Memory, 90.0)]));
    }
    assert_eq!(kinds(&all), vec![EventKind::Fired]);
    assert_eq!(all[0].alert.fired_at, Some(380 * S));
}

#[test]
fn repeat_interval_until_acknowledged() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.repeat_interval_seconds = 60;
    let mut e = engine(vec![r]);
    let mut all = Vec::new();
    for i in 0..=130 {
        all.extend(e.evaluate(i * S, &[obs("a", Metric::Cpu, 90.0)]));
    }
    assert_eq!(kinds(&all), vec![EventKind::Fired, EventKind::Repeat, EventKind::Repeat]);
    assert_eq!(all[2].alert.state, AlertState::Firing);
    let id = all[0].alert.id.clone();
    let acked = e.acknowledge(&id, "alice", 131 * S).unwrap();
    assert!(acked.acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("alice"));
    all.clear();
    for i in 131..=300 {
        all.extend(e.evaluate(i * S, &[obs("a", Metric::Cpu, 90.0)]));
    }
    assert!(all.is_empty(), "acknowledged alerts do not repeat");
    // ... but still resolve with a recovery notice.
    let ev = e.evaluate(301 * S, &[obs("a", Metric::Cpu, 10.0)]);
    assert_eq!(kinds(&ev), vec![EventKind::Resolved]);
    assert!(ev[0].alert.acknowledged);
    assert!(e.acknowledge("missing", "bob", 0).is_none());
}

#[test]
fn resolve_produces_recovery_notice_and_history() {
    let mut e = engine(vec![rule("disk", Metric::Disk, 70.0)]);
    e.evaluate(0, &[obs("a", Metric::Disk, 75.0)]);
    let ev = e.evaluate(5 * S, &[obs("a", Metric::Disk, 60.0)]);
    assert_eq!(kinds(&ev), vec![EventKind::Resolved]);
    let a = &ev[0].alert;
    assert_eq!((a.state, a.resolved_at, a.value), (AlertState::Resolved, Some(5 * S), 60.0));
    assert!(ev[0].title().starts_with("[RESOLVED]"));
    assert_eq!(e.active().count(), 0);
    assert_eq!(e.history().next().unwrap().id, a.id);
    assert_eq!(e.get(&a.id).unwrap().state, AlertState::Resolved);
    let ws = ev[0].ws_payload();
    assert_eq!(ws["level"], "warning");
    assert_eq!(ws["alert"]["state"], "resolved");
    assert_eq!(ws["alert"]["resolvedAt"], "1970-01-01T00:00:05.000Z");
}

#[test]
fn silences_mute_but_keep_state() {
    let mut e = engine(vec![rule("cpu", Metric::Cpu, 80.0)]);
    let ts = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap();
    e.set_silences(vec![Silence {
        id: "s1".into(),
        matchers: Matchers { server_id: Some("a".into()), ..Matchers::default() },
        starts_at: ts(0),
        ends_at: ts(100 * S),
        comment: String::new(),
        created_by: String::new(),
    }]);
    let ev = e.evaluate(S, &[obs("a", Metric::Cpu, 90.0), obs("b", Metric::Cpu, 90.0)]);
    assert_eq!(ev.len(), 2);
    let a = ev.iter().find(|e| e.alert.server_id == "a").unwrap();
    let b = ev.iter().find(|e| e.alert.server_id == "b").unwrap();
    assert!(a.silenced && !a.should_notify());
    assert!(!b.silenced);
    assert_eq!(a.alert.state, AlertState::Firing, "state moves on while silenced");
    // After the silence ends, the resolution is notified.
    let ev = e.evaluate(200 * S, &[obs("a", Metric::Cpu, 10.0)]);
    assert_eq!(kinds(&ev), vec![EventKind::Resolved]);
    assert!(!ev[0].silenced);
}

#[test]
fn scope_filters_servers() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.scope = Scope { server_ids: vec![], types: vec![ServerType::Database], sources: vec![Source::Agent] };
    let mut e = engine(vec![r]);
    let mut db = obs("db", Metric::Cpu, 90.0);
    db.server_type = ServerType::Database;
    let web = obs("web", Metric::Cpu, 90.0);
    let mut sim = obs("sim", Metric::Cpu, 90.0);
    sim.server_type = ServerType::Database;
    sim.source = Source::Simulated;
    let ev = e.evaluate(0, &[db, web, sim]);
    assert_eq!(ev.iter().map(|e| e.alert.server_id.as_str()).collect::<Vec<_>>(), vec!["db"]);
}

#[test]
fn disabled_and_missing_metrics_are_ignored() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.enabled = false;
    let mut e = engine(vec![r, rule("mem", Metric::Memory, 80.0)]);
    assert!(e.evaluate(0, &[obs("a", Metric::Cpu, 99.0)]).is_empty());
    assert!(e.evaluate(0, &[obs("a", Metric::Cpu, f64::NAN)]).is_empty());
}

#[test]
fn removed_rule_retires_its_alerts() {
    let mut e = engine(vec![rule("cpu", Metric::Cpu, 80.0)]);
    e.evaluate(0, &[obs("a", Metric::Cpu, 90.0)]);
    e.set_rules(vec![], 5 * S);
    assert_eq!(e.active().count(), 0);
    assert_eq!(e.history().next().unwrap().resolved_at, Some(5 * S));
    e.set_rules(vec![rule("cpu", Metric::Cpu, 80.0)], 6 * S);
    e.evaluate(7 * S, &[obs("a", Metric::Cpu, 90.0)]);
    e.evaluate(7 * S, &[obs("b", Metric::Cpu, 90.0)]);
    let firing = AlertFilter { state: Some(AlertState::Firing), ..AlertFilter::default() };
    assert_eq!(e.list(&firing, 10).len(), 2);
    let of_a = AlertFilter { server_id: Some("a".into()), ..AlertFilter::default() };
    assert_eq!(e.list(&of_a, 10).len(), 2, "one firing, one resolved");
    assert_eq!(e.list(&of_a, 1)[0].state, AlertState::Firing, "active first");
    e.forget_server("a", 8 * S);
    assert_eq!(e.active().count(), 1);
    assert_eq!(e.history().count(), 2);
}

#[test]
fn active_and_history_are_bounded() {
    let mut e = Engine::new(EngineConfig { max_active: 3, max_history: 2, keep_firing_ms: 0, refire_cooldown_ms: 0 });
    e.set_rules(vec![rule("cpu", Metric::Cpu, 80.0)], 0);
    let hot: Vec<Observation> = (0..5).map(|i| obs(&format!("s{i}"), Metric::Cpu, 90.0)).collect();
    assert_eq!(e.evaluate(0, &hot).len(), 3);
    assert_eq!(e.active().count(), 3);
    assert_eq!(e.dropped(), 2);
    let cold: Vec<Observation> = (0..5).map(|i| obs(&format!("s{i}"), Metric::Cpu, 10.0)).collect();
    assert_eq!(e.evaluate(S, &cold).len(), 3);
    assert_eq!(e.history().count(), 2);
}

#[test]
fn fire_captures_top_processes_and_values() {
    let mut e = engine(vec![rule("cpu", Metric::Cpu, 80.0)]);
    let mut o = obs("a", Metric::Cpu, 90.0);
    o.values.insert(Metric::Memory, 40.0);
    o.top_processes = (0..12)
        .map(|i| ProcessInfo { pid: i, name: format!("p{i}"), cpu: f64::from(i), memory_bytes: u64::from(100 - i) })
        .collect();
    let ev = e.evaluate(0, &[o]);
    let a = &ev[0].alert;
    let pids: Vec<u32> = a.top_processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, vec![11, 10, 9, 8, 7, 0, 1, 2, 3, 4]);
    assert_eq!(a.values.get(&Metric::Memory), Some(&40.0));
    let json = serde_json::to_value(a).unwrap();
    assert_eq!(json["topProcesses"][0], serde_json::json!({"pid": 11, "name": "p11", "cpu": 11.0, "memoryBytes": 89}));
    assert_eq!(json["values"]["cpu"], 90.0);
    assert_eq!(json["ruleId"], "cpu");
    assert_eq!(json["acknowledged"], false);
}

#[test]
fn validation_names_fields() {
    let mut r = rule("bad id!", Metric::Cpu, 120.0);
    r.name = String::new();
    r.clear_threshold = Some(130.0);
    r.window = Window::NOfM { n: 6, m: 5 };
    r.repeat_interval_seconds = 31 * 86_400;
    r.channels = vec![String::new()];
    let fields: Vec<String> = r.validate().unwrap_err().into_iter().map(|f| f.field).collect();
    assert_eq!(
        fields,
        vec!["id", "name", "threshold", "clearThreshold", "window.n", "repeatIntervalSeconds", "channels[0]"]
    );

    let mut r = rule("ok", Metric::Memory, 85.0);
    r.op = Op::Lt;
    r.clear_threshold = Some(80.0);
    r.window = Window::Average { seconds: 0 };
    let fields: Vec<String> = r.validate().unwrap_err().into_iter().map(|f| f.field).collect();
    assert_eq!(fields, vec!["clearThreshold", "window.seconds"]);
}

#[test]
fn rule_json_shape_and_unknown_fields() {
    let r: Rule = serde_json::from_value(serde_json::json!({
        "id": "x", "name": "X", "metric": "networkIn", "op": ">=", "threshold": 1e6,
        "window": {"kind": "nOfM", "n": 2, "m": 3}, "severity": "critical",
        "scope": {"types": ["database"], "sources": ["self"]}
    }))
    .unwrap();
    assert_eq!(r.metric, Metric::NetworkIn);
    assert_eq!(r.window, Window::NOfM { n: 2, m: 3 });
    assert!(r.enabled);
    assert_eq!(r.scope.sources, vec![Source::Local]);
    let err = serde_json::from_value::<Rule>(serde_json::json!({
        "id": "x", "name": "X", "metric": "cpu", "op": ">", "threshold": 1, "severity": "info", "bogus": 1
    }))
    .unwrap_err();
    assert!(err.to_string().contains("bogus"));
}

#[test]
fn silence_validation() {
    let ts = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap();
    let s = Silence {
        id: "s".into(),
        matchers: Matchers::default(),
        starts_at: ts(10),
        ends_at: ts(5),
        comment: String::new(),
        created_by: String::new(),
    };
    let fields: Vec<String> = s.validate().unwrap_err().into_iter().map(|f| f.field).collect();
    assert_eq!(fields, vec!["endsAt", "matchers"]);
}

#[test]
fn maintenance_marks_firing_alerts_silences_them_and_defers_repeats() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.repeat_interval_seconds = 60;
    let mut e = engine(vec![r]);
    assert_eq!(kinds(&e.evaluate(0, &[obs("a", Metric::Cpu, 90.0)])), vec![EventKind::Fired]);
    // A window over `a` starts at 10 s and lasts until 200 s; meanwhile an event (here a repeat
    // if the value were still observed) is silenced, and the alert shows it.
    for t in (10..200).step_by(10) {
        e.set_maintenance(&|s| s == "a", t * S);
        for ev in e.evaluate(t * S, &[obs("a", Metric::Cpu, 90.0)]) {
            assert!(ev.silenced, "{ev:?}");
        }
        assert!(e.active().next().unwrap().maintenance);
    }
    // It ends: the mark goes, and the next repeat waits a full interval from the window's last
    // evaluation rather than going out at once.
    e.set_maintenance(&|_| false, 200 * S);
    assert!(e.evaluate(200 * S, &[obs("a", Metric::Cpu, 90.0)]).is_empty());
    assert!(!e.active().next().unwrap().maintenance);
    let ev = e.evaluate(250 * S, &[obs("a", Metric::Cpu, 90.0)]);
    assert_eq!(kinds(&ev), vec![EventKind::Repeat]);
    assert!(!ev[0].silenced);
}

#[test]
fn a_new_evaluator_carries_on_adopted_alerts_without_firing_again() {
    let mut r = rule("cpu", Metric::Cpu, 80.0);
    r.repeat_interval_seconds = 60;
    let mut r2 = rule("cpu2", Metric::Cpu, 80.0);
    r2.for_seconds = 100;
    let mut before = engine(vec![r.clone(), r2.clone()]);
    assert_eq!(kinds(&before.evaluate(0, &[obs("a", Metric::Cpu, 90.0), obs("b", Metric::Cpu, 90.0)])).len(), 2);
    before.acknowledge("cpu:a:0", "alice", 5 * S).unwrap();
    // What the previous evaluator shared, through its API form (as on the cluster bus).
    let shared: Vec<Alert> =
        serde_json::from_value(serde_json::to_value(before.active().collect::<Vec<_>>()).unwrap()).unwrap();
    assert_eq!(shared.len(), 4, "two firing, two pending");

    let mut after = engine(vec![r, r2]);
    after.adopt(shared, 10 * S);
    assert_eq!(after.active().count(), 4);
    // Still breaching: nothing fires again; the ids, since and acknowledgement are the same.
    let hot = [obs("a", Metric::Cpu, 95.0), obs("b", Metric::Cpu, 95.0)];
    assert!(after.evaluate(11 * S, &hot).is_empty());
    let a = after.get("cpu:a:0").unwrap();
    assert_eq!((a.state, a.started_at, a.fired_at, a.acknowledged), (AlertState::Firing, 0, Some(0), true));
    // The unacknowledged one repeats one interval after the hand-over, not at once.
    assert!(after.evaluate(69 * S, &hot).is_empty());
    let ev = after.evaluate(70 * S, &hot);
    assert_eq!(kinds(&ev), vec![EventKind::Repeat]);
    assert_eq!(ev[0].alert.id, "cpu:b:0");
    // A pending alert fires once its `for` has passed since it started, under its own id.
    let ev = after.evaluate(100 * S, &hot);
    let ids: Vec<&str> = ev.iter().filter(|e| e.kind == EventKind::Fired).map(|e| e.alert.id.as_str()).collect();
    assert_eq!(ids, ["cpu2:a:0", "cpu2:b:0"]);
    // And they resolve as usual, under the same ids.
    let ev = after.evaluate(101 * S, &[obs("a", Metric::Cpu, 10.0), obs("b", Metric::Cpu, 10.0)]);
    let mut ids: Vec<&str> = ev.iter().filter(|e| e.kind == EventKind::Resolved).map(|e| e.alert.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["cpu2:a:0", "cpu2:b:0", "cpu:a:0", "cpu:b:0"]);
}

#[test]
fn adoption_skips_unknown_rules_and_tracked_alerts() {
    let mut before = engine(vec![rule("cpu", Metric::Cpu, 80.0), rule("gone", Metric::Cpu, 80.0)]);
    before.evaluate(0, &[obs("a", Metric::Cpu, 90.0)]);
    let shared: Vec<Alert> = before.active().cloned().collect();
    let mut after = engine(vec![rule("cpu", Metric::Cpu, 80.0)]);
    after.evaluate(S, &[obs("a", Metric::Cpu, 90.0)]);
    after.adopt(shared, 2 * S);
    let ids: Vec<&str> = after.active().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["cpu:a:1000"], "its own alert kept, the unknown rule's left out");
}
