//! The evaluation set against the engine as it was before issue 15 (baseline figures only; removed once
//! the engine changed). Run: `cargo test -p ai --test eval_baseline -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod eval;

use ai::local::{AlertFact, Facts, LocalEngine, Metric, Series, ServerFact};
use eval::world::{NOW, World};

fn old_facts(world: &World, query: &str) -> Facts {
    let servers: Vec<ServerFact> = world
        .servers
        .iter()
        .map(|s| ServerFact {
            id: s.id.clone(),
            name: s.name.clone(),
            server_type: s.server_type.clone(),
            status: s.status.clone(),
            cpu: s.cpu,
            memory: s.memory,
            disk: s.disk,
            network_in: s.net_in,
            network_out: s.net_out,
            load1: s.load[0],
            uptime_secs: s.uptime_secs,
            disk_total_bytes: (s.disk_gb * 1e9) as u64,
        })
        .collect();
    let alerts = world
        .alerts
        .iter()
        .filter(|a| a.state == "firing")
        .map(|a| AlertFact {
            server_id: a.server_id.clone(),
            severity: a.severity.clone(),
            title: a.rule_name.clone(),
            started_at_ms: a.started,
            value: a.value,
        })
        .collect();
    // What the binary's source fetched: the history `understand` asked for.
    let engine = LocalEngine::new().with_known_servers(servers.iter().map(|s| s.id.clone()));
    let mut series = Vec::new();
    if let Some(need) = engine.understand(query).history_need() {
        let key = need.metric.key();
        let metric = if need.metric == Metric::Load { "load1" } else { key };
        for s in &world.servers {
            if need.server.as_ref().is_none_or(|id| *id == s.id) {
                let points = world.points(&s.id, metric, NOW - need.range_ms, NOW);
                if !points.is_empty() {
                    series.push(Series { server_id: s.id.clone(), metric: key.to_owned(), points });
                }
            }
        }
    }
    Facts { now_ms: NOW, servers, alerts, series }
}

#[test]
fn baseline_figures() {
    let world = World::build();
    let engine = LocalEngine::new();
    for (name, set) in [("main", eval::main_set()), ("holdout", eval::holdout_set())] {
        let mut outcomes = Vec::new();
        let mut times = Vec::new();
        for item in set {
            let facts = old_facts(&world, &item.question);
            let t0 = std::time::Instant::now();
            let a = engine.answer(&item.question, &facts);
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            let reply = eval::Reply {
                intent: a.intent,
                text: a.text,
                lang: a.lang,
                confidence: a.confidence,
                clarify: Vec::new(),
                window: None,
            };
            outcomes.push(eval::score(&world, &item, reply));
        }
        let f = eval::Figures::of(&outcomes);
        if name == "main" {
            println!("{}", eval::describe(&outcomes));
        }
        times.sort_by(f64::total_cmp);
        let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
        println!(
            "BASELINE {name} questions={} correct={} accuracy={:.3} clarify_rate={:.3} help_rate={:.3} ko={}/{} p99_ms_debug={p99:.3}",
            f.total,
            f.correct,
            f.accuracy(),
            f.clarify_rate(),
            f.help_rate(),
            f.ko_correct,
            f.ko_total
        );
        let intent_ok = outcomes.iter().filter(|o| o.reply.intent == o.item.intent).count();
        println!("BASELINE {name} intent_correct={intent_ok}");
    }
}
