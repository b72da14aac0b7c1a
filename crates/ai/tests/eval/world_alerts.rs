//! The evaluation world's alerts, silences, events and checks: fixed, with values and evidence read from
//! the world's own series, so they agree with the metrics the engine is given.

use std::collections::BTreeMap;

use super::world::{Alrt, Chk, Ev, MIN, NOW, Proc, Sil, Srv, at};

type SeriesMap = BTreeMap<(String, String), Vec<(i64, f64)>>;

fn points(series: &SeriesMap, id: &str, metric: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
    series
        .get(&(id.to_owned(), metric.to_owned()))
        .map(|p| p.iter().copied().filter(|(t, _)| *t >= from && *t <= to).collect())
        .unwrap_or_default()
}

/// The value of a series at or just before `t`.
fn value_at(series: &SeriesMap, id: &str, metric: &str, t: i64) -> f64 {
    points(series, id, metric, t - 10 * MIN, t).last().map_or(0.0, |p| p.1)
}

fn procs(list: &[(&str, u32, f64, u64)]) -> Vec<Proc> {
    list.iter()
        .map(|(name, pid, cpu, mem)| Proc { pid: *pid, name: (*name).into(), cpu: *cpu, memory_bytes: *mem })
        .collect()
}

struct Spec {
    rule: (&'static str, &'static str),
    server: &'static str,
    severity: &'static str,
    metric: &'static str,
    threshold: f64,
    state: &'static str,
    started: i64,
    fired: Option<i64>,
    resolved: Option<i64>,
    acked: Option<(&'static str, i64)>,
    silenced: bool,
    processes: Vec<Proc>,
}

pub fn alerts(servers: &[Srv], series: &SeriesMap) -> Vec<Alrt> {
    let current = |id: &str, metric: &str| {
        servers.iter().find(|s| s.id == id).map_or(0.0, |s| match metric {
            "cpu" => s.cpu,
            "memory" => s.memory,
            "disk" => s.disk,
            "load1" => s.load[0],
            _ => 1.0,
        })
    };
    let specs = vec![
        Spec {
            rule: ("cpu-critical", "CPU critical"),
            server: "api-01",
            severity: "critical",
            metric: "cpu",
            threshold: 90.0,
            state: "firing",
            started: at(0, 8, 31) + 30_000,
            fired: Some(at(0, 8, 33)),
            resolved: None,
            acked: Some(("minji", at(0, 8, 36))),
            silenced: false,
            processes: procs(&[
                ("node", 2211, 64.3, 1_900_000_000),
                ("pm2", 1980, 12.1, 210_000_000),
                ("node_exporter", 801, 0.6, 24_000_000),
            ]),
        },
        Spec {
            rule: ("cpu-critical", "CPU critical"),
            server: "api-02",
            severity: "critical",
            metric: "cpu",
            threshold: 90.0,
            state: "firing",
            started: at(0, 8, 32),
            fired: Some(at(0, 8, 33) + 30_000),
            resolved: None,
            acked: None,
            silenced: false,
            processes: procs(&[("node", 2304, 71.8, 2_100_000_000), ("pm2", 1975, 9.4, 190_000_000)]),
        },
        Spec {
            rule: ("cpu-warning", "CPU high"),
            server: "edge-proxy",
            severity: "warning",
            metric: "cpu",
            threshold: 80.0,
            state: "firing",
            started: at(0, 7, 56),
            fired: Some(at(0, 7, 58)),
            resolved: None,
            acked: None,
            silenced: true,
            processes: procs(&[("envoy", 912, 71.5, 420_000_000), ("k6", 3310, 9.8, 150_000_000)]),
        },
        Spec {
            rule: ("server-offline", "Server offline"),
            server: "worker-01",
            severity: "critical",
            metric: "offline",
            threshold: 0.0,
            state: "firing",
            started: at(0, 6, 25),
            fired: Some(at(0, 6, 27)),
            resolved: None,
            acked: None,
            silenced: false,
            processes: Vec::new(),
        },
        Spec {
            rule: ("load-high", "Load high"),
            server: "api-01",
            severity: "warning",
            metric: "load1",
            threshold: 6.0,
            state: "pending",
            started: at(0, 8, 37),
            fired: None,
            resolved: None,
            acked: None,
            silenced: false,
            processes: Vec::new(),
        },
        Spec {
            rule: ("disk-critical", "Disk critical"),
            server: "backup",
            severity: "critical",
            metric: "disk",
            threshold: 90.0,
            state: "resolved",
            started: at(0, 0, 31),
            fired: Some(at(0, 0, 33)),
            resolved: Some(at(0, 3, 52)),
            acked: Some(("ops-bot", at(0, 0, 40))),
            silenced: false,
            processes: procs(&[("backup-agent", 4411, 38.2, 800_000_000), ("rsync", 5120, 22.7, 90_000_000)]),
        },
        Spec {
            rule: ("memory-critical", "Memory critical"),
            server: "redis-cache",
            severity: "critical",
            metric: "memory",
            threshold: 90.0,
            state: "resolved",
            started: at(-1, 16, 31),
            fired: Some(at(-1, 16, 33)),
            resolved: Some(at(-1, 16, 52)),
            acked: None,
            silenced: false,
            processes: procs(&[("redis-server", 1201, 24.1, 29_500_000_000)]),
        },
    ];
    specs
        .into_iter()
        .map(|s| {
            let fired = s.fired.unwrap_or(s.started);
            let value = match s.state {
                "resolved" => value_at(series, s.server, s.metric, fired),
                _ => current(s.server, s.metric),
            };
            Alrt {
                id: format!("{}:{}:{}", s.rule.0, s.server, s.started),
                rule_id: s.rule.0.into(),
                rule_name: s.rule.1.into(),
                server_id: s.server.into(),
                severity: s.severity.into(),
                metric: s.metric.into(),
                op: ">".into(),
                threshold: s.threshold,
                value,
                state: s.state.into(),
                started: s.started,
                fired: s.fired,
                resolved: s.resolved,
                acked_by: s.acked.map(|a| a.0.into()),
                acked_at: s.acked.map(|a| a.1),
                silenced: s.silenced,
                window_secs: 300,
                processes: s.processes,
                evidence: points(series, s.server, s.metric, fired - 5 * MIN, fired),
            }
        })
        .collect()
}

pub fn silences() -> Vec<Sil> {
    vec![
        Sil {
            id: "sil-edge-load".into(),
            rule_id: None,
            server_id: Some("edge-proxy".into()),
            severity: None,
            starts: at(0, 7, 30),
            ends: at(0, 11, 0),
            comment: "load test until 20:00 KST".into(),
            created_by: "jisoo".into(),
        },
        Sil {
            id: "sil-disk-warning".into(),
            rule_id: Some("disk-warning".into()),
            server_id: None,
            severity: None,
            starts: at(-1, 20, 0),
            ends: at(1, 20, 0),
            comment: "nightly backup window".into(),
            created_by: "ops-bot".into(),
        },
        Sil {
            id: "sil-replica".into(),
            rule_id: None,
            server_id: Some("db-replica".into()),
            severity: None,
            starts: at(-2, 10, 0),
            ends: at(-1, 10, 0),
            comment: "replica rebuild".into(),
            created_by: "minji".into(),
        },
    ]
}

fn ev(t: i64, kind: &str, server: Option<&str>, from: Option<&str>, to: Option<&str>, detail: &str) -> Ev {
    Ev {
        at: t,
        kind: kind.into(),
        server_id: server.map(Into::into),
        check: None,
        from: from.map(Into::into),
        to: to.map(Into::into),
        detail: detail.into(),
    }
}

fn check_ev(t: i64, kind: &str, check: &str, detail: &str) -> Ev {
    Ev {
        at: t,
        kind: kind.into(),
        server_id: None,
        check: Some(check.into()),
        from: None,
        to: None,
        detail: detail.into(),
    }
}

/// Status changes of the simulated servers over the last two hours, read from the series minute by
/// minute (the same rule as the simulation: above 80 is warning, above 90 critical, on CPU or memory).
fn recent_status_changes(series: &SeriesMap) -> Vec<Ev> {
    let mut out = Vec::new();
    for sim in simulation::fleet() {
        let cpu = points(series, sim.id, "cpu", NOW - 2 * 60 * MIN, NOW);
        let mem = points(series, sim.id, "memory", NOW - 2 * 60 * MIN, NOW);
        let status = |c: f64, m: f64| {
            let worst = c.max(m);
            if worst > 90.0 {
                "critical"
            } else if worst > 80.0 {
                "warning"
            } else {
                "online"
            }
        };
        let mut prev: Option<&str> = None;
        for ((t, c), (_, m)) in cpu.iter().zip(&mem) {
            let now = status(*c, *m);
            if let Some(p) = prev
                && p != now
            {
                out.push(ev(*t, "status_changed", Some(sim.id), Some(p), Some(now), ""));
            }
            prev = Some(now);
        }
    }
    out
}

pub fn events(series: &SeriesMap) -> Vec<Ev> {
    let mut out = vec![
        ev(at(-1, 1, 12), "server_added", Some("edge-proxy"), None, None, "registered by its agent"),
        ev(at(-1, 9, 0), "server_removed", Some("old-cache"), None, None, "removed by admin"),
        ev(at(-1, 16, 15), "status_changed", Some("redis-cache"), Some("online"), Some("warning"), ""),
        ev(at(-1, 16, 33), "status_changed", Some("redis-cache"), Some("warning"), Some("critical"), ""),
        ev(at(-1, 16, 33), "alert_fired", Some("redis-cache"), None, None, "Memory critical"),
        ev(at(-1, 16, 50), "status_changed", Some("redis-cache"), Some("critical"), Some("online"), ""),
        ev(at(-1, 16, 52), "alert_resolved", Some("redis-cache"), None, None, "Memory critical"),
        ev(at(0, 0, 20), "status_changed", Some("backup"), Some("online"), Some("warning"), ""),
        ev(at(0, 0, 33), "status_changed", Some("backup"), Some("warning"), Some("critical"), ""),
        ev(at(0, 0, 33), "alert_fired", Some("backup"), None, None, "Disk critical"),
        ev(at(0, 2, 40), "anomaly", Some("db-replica"), None, None, "network in 4.1x its usual level"),
        check_ev(at(0, 3, 10), "check_down", "api-health", "HTTP 503"),
        check_ev(at(0, 3, 14), "check_up", "api-health", ""),
        ev(at(0, 3, 50), "status_changed", Some("backup"), Some("critical"), Some("online"), ""),
        ev(at(0, 3, 52), "alert_resolved", Some("backup"), None, None, "Disk critical"),
        ev(at(0, 6, 25), "status_changed", Some("worker-01"), Some("online"), Some("offline"), "no report for 60 s"),
        ev(at(0, 6, 27), "alert_fired", Some("worker-01"), None, None, "Server offline"),
        ev(at(0, 7, 30), "restart", Some("hub-7f3a"), None, None, "openmanager upgraded to 0.9.0"),
        ev(at(0, 7, 56), "status_changed", Some("edge-proxy"), Some("online"), Some("warning"), ""),
        ev(at(0, 7, 58), "alert_fired", Some("edge-proxy"), None, None, "CPU high (silenced)"),
        ev(at(0, 8, 33), "alert_fired", Some("api-01"), None, None, "CPU critical"),
        ev(at(0, 8, 33) + 30_000, "alert_fired", Some("api-02"), None, None, "CPU critical"),
        check_ev(at(0, 8, 34), "check_down", "api-health", "HTTP 503"),
        ev(at(0, 8, 35), "anomaly", Some("api-01"), None, None, "CPU 95.8%, usually 35-55% at this hour"),
    ];
    out.extend(recent_status_changes(series));
    out.sort_by_key(|e| e.at);
    out
}

pub fn checks() -> Vec<Chk> {
    let chk = |id: &str, kind: &str, target: &str, status: &str, latency: Option<f64>, up: (f64, f64)| Chk {
        id: id.into(),
        name: id.into(),
        kind: kind.into(),
        target: target.into(),
        status: status.into(),
        latency_ms: latency,
        uptime_24h: Some(up.0),
        uptime_7d: Some(up.1),
        cert_days: None,
        error: None,
    };
    let mut shop = chk("shop-homepage", "http", "https://shop.example.com", "up", Some(182.0), (99.72, 99.95));
    shop.cert_days = Some(23);
    let mut api = chk("api-health", "http", "https://api.example.com/health", "down", None, (97.9, 99.6));
    api.error = Some("HTTP 503".into());
    let mut cert = chk("example-cert", "tls", "example.com:443", "up", Some(45.0), (100.0, 100.0));
    cert.cert_days = Some(6);
    vec![
        shop,
        api,
        chk("db-tcp", "tcp", "db-master:5432", "up", Some(3.0), (100.0, 100.0)),
        cert,
        chk("dns-main", "dns", "example.com", "up", Some(12.0), (100.0, 99.98)),
    ]
}
