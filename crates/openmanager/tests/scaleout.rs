//! Three hubs on one PostgreSQL and one Redis, behind nginx on loopback: agents reporting to
//! different hubs are seen by a WebSocket on every hub, an alert is notified once although its
//! evaluating hub is killed, kill -9 of a hub during ingest loses no acknowledged sample, and a hub
//! whose Redis goes away falls back (said so in `checks.redis`), never fails open, and recovers.
//! Skips (or fails under `OPENMANAGER_TEST_STRICT`) without PostgreSQL, redis-server or nginx.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod hubs;
mod scale_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server, wait_until};
use futures_util::StreamExt;
use hubs::{Cluster, Ws, alert_message, create, delete, firing, ids, now_ms, post_report, report, webhook, ws};
use scale_support::{Nginx, PgDb, PrivateRedis, redis_prefix};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Reads `server_update`s until every `(id, cpu)` in `want` was seen with that cpu.
async fn sees(ws: &mut Ws, want: &BTreeMap<String, f64>) {
    let mut seen: BTreeMap<String, f64> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while want.iter().any(|(id, cpu)| seen.get(id) != Some(cpu)) {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("not every agent seen in time: want {want:?}, seen {seen:?}"))
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "server_update" {
                for s in v["data"]["servers"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(cpu)) = (s["id"].as_str(), s["cpu"].as_f64()) {
                        seen.insert(id.to_string(), cpu);
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hubs_behind_nginx_serve_one_fleet() {
    let test = "three_hubs_behind_nginx_serve_one_fleet";
    let Some(c) = Cluster::new(test).await else { return };
    let hubs = [c.hub("").await, c.hub("").await, c.hub("").await];
    let Some(lb) = Nginx::start(test, &hubs.iter().map(|h| h.addr).collect::<Vec<_>>()).await else { return };
    let client = scale_support::http();
    let mut sockets = Vec::new();
    for h in &hubs {
        sockets.push(ws(h).await);
    }
    // Agent i reports to hub i.
    let t = now_ms() - 10_000;
    let mut want = BTreeMap::new();
    for (i, h) in hubs.iter().enumerate() {
        let id = format!("m-{i}");
        let cpu = 50.5 + i as f64;
        assert_eq!(post_report(&client, &h.url(""), &report(&id, &[(t, cpu)])).await, 200);
        want.insert(id, cpu);
    }
    for ws in &mut sockets {
        sees(ws, &want).await;
    }
    // A newer reading on hub 0 reaches a browser on hub 2.
    want.insert("m-0".into(), 77.5);
    assert_eq!(post_report(&client, &hubs[0].url(""), &report("m-0", &[(t + 5000, 77.5)])).await, 200);
    sees(&mut sockets[2], &want).await;

    // Through the load balancer: every agent listed whichever hub answers; health says Redis is up.
    for _ in 0..6 {
        let list: Value = client
            .get(lb.url("/api/servers?limit=100"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = list["data"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
        for id in want.keys() {
            assert!(ids.contains(&id.as_str()), "{id} missing from {ids:?}");
        }
    }
    for h in &hubs {
        let health: Value = h.get("/api/health").send().await.unwrap().json().await.unwrap();
        assert_eq!(health["checks"]["redis"], "ok", "{health}");
    }
    // A WebSocket through nginx (upgrade passed on).
    let url = format!("ws://{}/ws?token={ADMIN_TOKEN}", lb.addr);
    let (mut through, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    sees(&mut through, &want).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_hub_during_ingest_loses_no_acknowledged_sample() {
    let test = "kill_9_of_a_hub_during_ingest_loses_no_acknowledged_sample";
    let Some(c) = Cluster::new(test).await else { return };
    // Every simulated agent comes from 127.0.0.1: per-client limits would only slow the test.
    let open = "[rate_limit]\nenabled = false\n";
    let hubs = [c.hub(open).await, c.hub(open).await, c.hub(open).await];
    let Some(lb) = Nginx::start(test, &hubs.iter().map(|h| h.addr).collect::<Vec<_>>()).await else { return };
    let acked = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let start = now_ms() - 600_000;
    const PER_AGENT: i64 = 80;
    let mut writers = tokio::task::JoinSet::new();
    for agent in 0..4 {
        let (acked, retries, base) = (acked.clone(), retries.clone(), lb.url(""));
        writers.spawn(async move {
            let client = scale_support::http();
            let id = format!("k-{agent}");
            let mut stored = Vec::new();
            for i in 0..PER_AGENT {
                let t = start + i * 5000;
                // As an agent does: a batch not acknowledged is sent again.
                while post_report(&client, &base, &report(&id, &[(t, i as f64)])).await != 200 {
                    retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                stored.push(t);
                acked.fetch_add(1, Ordering::Relaxed);
            }
            (id, stored)
        });
    }
    wait_until("ingest progress", Duration::from_secs(120), async || acked.load(Ordering::Relaxed) >= 100).await;
    hubs[0].signal("KILL");
    let results = writers.join_all().await;
    eprintln!("{} retried posts after kill -9", retries.load(Ordering::Relaxed));
    let client = scale_support::http();
    for (id, stored) in results {
        let h: Value = client
            .get(hubs[1].url(&format!("/api/metrics/history?serverId={id}&timeRange=1h")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got: Vec<i64> = h["data"]
            .as_array()
            .unwrap_or_else(|| panic!("no history: {h}"))
            .iter()
            .map(|p| p["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_millisecond())
            .collect();
        assert_eq!(got, stored, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_is_notified_once_when_its_evaluating_hub_is_killed() {
    let test = "an_alert_is_notified_once_when_its_evaluating_hub_is_killed";
    let Some(c) = Cluster::new(test).await else { return };
    let (hook, url) = webhook().await;
    let fast = "[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n\
                channel_hosts = [\"127.0.0.0/8\"]\n";
    let first = c.hub(fast).await;
    let client = first.client();
    // Channel and rule on the first hub; they are in PostgreSQL, so the others load them.
    let channel: Value = client
        .post(first.url("/api/notifications/channels"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "hook", "target": {"kind": "webhook", "url": url}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = channel["data"]["id"].as_str().unwrap().to_string();
    let rule: Value = client
        .post(first.url("/api/alerts/rules"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Agent busy", "metric": "cpu", "op": ">=", "threshold": 0, "severity": "warning",
            "scope": {"serverIds": ["a-1"]}, "channels": [channel], "repeatIntervalSeconds": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule = rule["data"]["id"].as_str().unwrap().to_string();
    let mut hubs = vec![first, c.hub(fast).await, c.hub(fast).await];
    // The agent keeps reporting, to the last hub (never the one killed below unless it holds the lease).
    let stop = tokio_util::sync::CancellationToken::new();
    let bases: Vec<String> = hubs.iter().map(|h| h.url("")).collect();
    let (s, b) = (stop.clone(), bases.clone());
    let agent = tokio::spawn(async move {
        let client = scale_support::http();
        let mut i = 0usize;
        while !s.is_cancelled() {
            // Whichever hub answers: one of them is about to die.
            for base in b.iter().cycle().skip(i).take(b.len()) {
                if post_report(&client, base, &report("a-1", &[(now_ms(), 60.0)])).await == 200 {
                    break;
                }
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let fired =
        || hook.lock().unwrap().iter().filter(|v| v["event"] == "fired" && v["alert"]["ruleId"] == rule).count();
    wait_until("the alert to fire", Duration::from_secs(60), async || fired() >= 1).await;
    let holder = hubs.iter().position(|h| h.logs().contains("alert evaluator lease taken")).expect("an evaluator");
    let dead = hubs.remove(holder);
    dead.signal("KILL");
    drop(dead);
    // Another hub takes the lease (within its TTL) and evaluates a few rounds.
    wait_until("another evaluator", Duration::from_secs(60), async || {
        hubs.iter().any(|h| h.logs().contains("alert evaluator lease taken"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.cancel();
    let _ = agent.await;
    assert_eq!(fired(), 1, "notified more than once: {:?}", hook.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_falls_back_never_fails_open_and_recovers() {
    let test = "redis_away_falls_back_never_fails_open_and_recovers";
    let Some(db) = PgDb::create(test).await else { return };
    let Some(mut redis) = PrivateRedis::start(test).await else { return };
    let s = Server::builder()
        .env("OPENMANAGER_DATABASE_URL", &db.url())
        .env("OPENMANAGER_REDIS_URL", &redis.url())
        .config(&format!("[simulation]\nenabled = false\n[redis]\nprefix = \"{}\"\n", redis_prefix(test)))
        .start_async()
        .await;
    let check = async || -> String {
        let h: Value = s.get("/api/health").send().await.unwrap().json().await.unwrap();
        h["checks"]["redis"].as_str().unwrap_or_default().to_string()
    };
    wait_until("redis up", Duration::from_secs(30), async || check().await == "ok").await;
    redis.down();
    wait_until("redis reported down", Duration::from_secs(60), async || check().await.starts_with("down")).await;
    // Degraded, still ready, and authentication is the hub's own: no token, no entry.
    assert_eq!(s.get("/api/health/ready").send().await.unwrap().status(), 200);
    assert_eq!(s.get("/api/servers").send().await.unwrap().status(), 401);
    assert_eq!(s.get_auth("/api/servers").send().await.unwrap().status(), 200);
    redis.up().await;
    wait_until("redis back", Duration::from_secs(60), async || check().await == "ok").await;
}

/// Calls the mock upstream received for generation.
async fn upstream_calls(mock: &mock_upstream::Running) -> usize {
    let v: Value =
        scale_support::http().get(format!("{}/_requests", mock.url())).send().await.unwrap().json().await.unwrap();
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains("generateContent"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_minute_quota_is_honoured_across_hubs() {
    let test = "a_per_minute_quota_is_honoured_across_hubs";
    let Some(c) = Cluster::new(test).await else { return };
    const KEY: &str = "upstream-key-shared-by-three-hubs";
    ai::install_tls_provider();
    let mock = mock_upstream::spawn(mock_upstream::Options { key: Some(KEY.into()), models: vec!["mock".into()] })
        .await
        .unwrap();
    const N: usize = 3;
    let mut hubs = Vec::new();
    for _ in 0..3 {
        let h = Server::builder()
            .env("OPENMANAGER_DATABASE_URL", &c.db_url)
            .env("OPENMANAGER_REDIS_URL", &c.redis_url)
            .env("GOOGLE_AI_API_KEY", KEY)
            .env("GOOGLE_AI_BASE_URL", &mock.url())
            .config(&format!(
                "[simulation]\nenabled = false\n[redis]\nprefix = \"{}\"\n[ai.google]\nrpm = {N}\nrpd = 1000\n",
                c.prefix
            ))
            .start_async()
            .await;
        hubs.push(h);
    }
    // Each hub alone would allow N a minute (3N in all); together they allow N.
    for i in 0..4 * N {
        let h = &hubs[i % hubs.len()];
        let res = h
            .client()
            .post(h.url("/api/ai/query"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"query": format!("question number {i} about my servers"), "timeoutMs": 3000}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "auto falls back to the local engine");
    }
    assert_eq!(upstream_calls(&mock).await, N, "upstream calls across three hubs with a quota of {N} a minute");
    let status: Value = hubs[0].get_auth("/api/ai/status").send().await.unwrap().json().await.unwrap();
    assert_eq!(status["redis"], "ok", "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_rate_limits_are_counted_across_hubs() {
    let test = "per_client_rate_limits_are_counted_across_hubs";
    let Some(c) = Cluster::new(test).await else { return };
    // Five at once per client; each hub alone would let ten through from two hubs.
    let limit = "[rate_limit]\nper_minute = 60\nburst = 5\n";
    let hubs = [c.hub(limit).await, c.hub(limit).await];
    let mut ok = 0;
    let mut limited = 0;
    for i in 0..10 {
        let status = hubs[i % 2].get_auth("/api/servers").send().await.unwrap().status().as_u16();
        match status {
            200 => ok += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // Five from the shared bucket, at most one more refilled meanwhile (one a second).
    assert!((5..=6).contains(&ok) && limited >= 4, "{ok} allowed, {limited} limited");
    // Health is never limited.
    assert_eq!(hubs[0].get("/api/health").send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hub_shows_the_alerts_one_hub_evaluates() {
    let test = "every_hub_shows_the_alerts_one_hub_evaluates";
    let Some(c) = Cluster::new(test).await else { return };
    let fast = "[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n";
    let hubs = [c.hub(fast).await, c.hub(fast).await];
    let client = scale_support::http();
    let rule: Value = client
        .post(hubs[0].url("/api/alerts/rules"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Agent busy", "metric": "cpu", "op": ">=", "threshold": 50, "severity": "warning",
            "scope": {"serverIds": ["b-1"]}, "repeatIntervalSeconds": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule = rule["data"]["id"].as_str().unwrap().to_string();
    wait_until("an evaluator", Duration::from_secs(60), async || {
        hubs.iter().any(|h| h.logs().contains("alert evaluator lease taken"))
    })
    .await;
    let evaluator = hubs.iter().position(|h| h.logs().contains("alert evaluator lease taken")).unwrap();
    let other = 1 - evaluator;
    let mut sockets = [ws(&hubs[0]).await, ws(&hubs[1]).await];
    // The agent reports to the hub that does not evaluate.
    assert_eq!(post_report(&client, &hubs[other].url(""), &report("b-1", &[(now_ms(), 80.0)])).await, 200);
    for ws in &mut sockets {
        alert_message(ws, &rule, "firing").await;
    }
    // The same firing alert listed by both hubs, and counted on the server by both.
    wait_until("the alert listed on both hubs", Duration::from_secs(30), async || {
        let (a, b) = (firing(&hubs[0], &rule).await, firing(&hubs[1], &rule).await);
        a.len() == 1 && b.len() == 1 && a[0]["id"] == b[0]["id"]
    })
    .await;
    let id = firing(&hubs[other], &rule).await[0]["id"].as_str().unwrap().to_string();
    let server: Value = hubs[other].get_auth("/api/servers/b-1").send().await.unwrap().json().await.unwrap();
    assert_eq!(server["data"]["alerts"], 1, "{server}");
    // Acknowledged through the hub that does not evaluate: the evaluator learns it too.
    let acked = hubs[other]
        .client()
        .post(hubs[other].url(&format!("/api/alerts/{id}/ack")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(acked.status(), 200);
    wait_until("the acknowledgement on the evaluator", Duration::from_secs(30), async || {
        firing(&hubs[evaluator], &rule).await.first().is_some_and(|a| a["acknowledged"] == true)
    })
    .await;
    // Back under the threshold: resolved on both hubs, pushed to both browsers.
    assert_eq!(post_report(&client, &hubs[other].url(""), &report("b-1", &[(now_ms(), 10.0)])).await, 200);
    for ws in &mut sockets {
        alert_message(ws, &rule, "resolved").await;
    }
    for h in &hubs {
        assert!(firing(h, &rule).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_through_one_hub_take_effect_on_every_hub() {
    let test = "edits_through_one_hub_take_effect_on_every_hub";
    let Some(c) = Cluster::new(test).await else { return };
    let (hook, url) = webhook().await;
    let fast = "[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n\
                channel_hosts = [\"127.0.0.0/8\"]\n";
    let hubs = [c.hub(fast).await, c.hub(fast).await];
    wait_until("an evaluator", Duration::from_secs(60), async || {
        hubs.iter().any(|h| h.logs().contains("alert evaluator lease taken"))
    })
    .await;
    let e = hubs.iter().position(|h| h.logs().contains("alert evaluator lease taken")).unwrap();
    let (eval, other) = (&hubs[e], &hubs[1 - e]);
    let client = scale_support::http();
    assert_eq!(post_report(&client, &other.url(""), &report("c-1", &[(now_ms(), 80.0)])).await, 200);
    wait_until("the agent on the evaluator", Duration::from_secs(30), async || {
        ids(eval, "/api/servers").await.contains(&"c-1".into())
    })
    .await;

    // A channel and a rule made through the hub that does not evaluate: the evaluator notifies.
    let channel = create(
        other,
        "/api/notifications/channels",
        json!({"name": "hook", "target": {"kind": "webhook", "url": url}}),
    )
    .await;
    let rule = create(other, "/api/alerts/rules", json!({"name": "Agent busy", "metric": "cpu", "op": ">=", "threshold": 50,
        "severity": "warning", "scope": {"serverIds": ["c-1"]}, "channels": [channel["id"]], "repeatIntervalSeconds": 0})).await;
    let rule = rule["id"].as_str().unwrap().to_string();
    let fired =
        || hook.lock().unwrap().iter().filter(|v| v["event"] == "fired" && v["alert"]["ruleId"] == rule).count();
    wait_until("the evaluator to notify the new rule", Duration::from_secs(60), async || fired() == 1).await;

    // Silences, checks and maintenance windows made through one hub are listed by the other.
    let silence = create(
        other,
        "/api/alerts/silences",
        json!({"matchers": {"ruleId": "nothing"}, "endsAt": "2099-01-01T00:00:00Z"}),
    )
    .await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let check = create(
        other,
        "/api/checks",
        json!({"name": "db", "kind": "tcp", "target": closed.to_string(),
        "intervalSeconds": 3600, "timeoutMs": 2000}),
    )
    .await;
    let now = jiff::Timestamp::now();
    let window = create(
        other,
        "/api/maintenance",
        json!({"title": "Nightly", "servers": ["c-1"],
        "start": (now - jiff::SignedDuration::from_secs(60)).to_string(),
        "end": (now + jiff::SignedDuration::from_secs(3600)).to_string()}),
    )
    .await;
    for (path, id) in [("/api/alerts/silences", &silence), ("/api/checks", &check), ("/api/maintenance", &window)] {
        let id = id["id"].as_str().unwrap().to_string();
        wait_until(path, Duration::from_secs(30), async || ids(eval, path).await.contains(&id)).await;
        delete(other, &format!("{path}/{id}")).await;
        wait_until(path, Duration::from_secs(30), async || !ids(eval, path).await.contains(&id)).await;
    }
    // A rule deleted through the other hub ends on the evaluator (and so on every hub).
    delete(other, &format!("/api/alerts/rules/{rule}")).await;
    wait_until("the rule gone from the evaluator", Duration::from_secs(30), async || {
        !ids(eval, "/api/alerts/rules").await.contains(&rule)
    })
    .await;
    wait_until("its alert gone from both hubs", Duration::from_secs(30), async || {
        firing(&hubs[0], &rule).await.is_empty() && firing(&hubs[1], &rule).await.is_empty()
    })
    .await;
    // A server deleted through the evaluator goes from the hub its agent reported to.
    delete(eval, "/api/servers/c-1").await;
    wait_until("the server gone from the other hub", Duration::from_secs(30), async || {
        !ids(other, "/api/servers").await.contains(&"c-1".into())
    })
    .await;
    assert_eq!(fired(), 1, "{:?}", hook.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_question_on_two_hubs_calls_the_upstream_once() {
    let test = "the_same_question_on_two_hubs_calls_the_upstream_once";
    let Some(c) = Cluster::new(test).await else { return };
    const KEY: &str = "upstream-key-shared-by-two-hubs";
    ai::install_tls_provider();
    let mock = mock_upstream::spawn(mock_upstream::Options { key: Some(KEY.into()), models: vec!["mock".into()] })
        .await
        .unwrap();
    let mut hubs = Vec::new();
    for _ in 0..2 {
        let h = Server::builder()
            .env("OPENMANAGER_DATABASE_URL", &c.db_url)
            .env("OPENMANAGER_REDIS_URL", &c.redis_url)
            .env("GOOGLE_AI_API_KEY", KEY)
            .env("GOOGLE_AI_BASE_URL", &mock.url())
            .config(&format!("[simulation]\nenabled = false\n[redis]\nprefix = \"{}\"\n", c.prefix))
            .start_async()
            .await;
        hubs.push(h);
    }
    // Deterministic (temperature 0), so cached; pinned to the remote engine.
    let ask = async |h: &Server, question: &str| -> String {
        let body = json!({"model": "google-ai", "temperature": 0,
            "messages": [{"role": "user", "content": question}]});
        let res =
            h.client().post(h.url("/v1/chat/completions")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-ai-engine"], "google-ai");
        res.headers()["x-cache-status"].to_str().unwrap().to_string()
    };
    assert_eq!(ask(&hubs[0], "what is a load average?").await, "MISS");
    assert_eq!(ask(&hubs[1], "what is a load average?").await, "HIT", "the other hub's answer");
    assert_eq!(upstream_calls(&mock).await, 1);
    // At the same time on both hubs: one leads, the other waits for its answer (or reads it).
    let (a, b) = tokio::join!(ask(&hubs[0], "what is swap?"), ask(&hubs[1], "what is swap?"));
    assert!([a.as_str(), b.as_str()].contains(&"HIT"), "{a} {b}");
    assert_eq!(upstream_calls(&mock).await, 2, "one upstream call per question across two hubs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ai_cache_falls_back_while_redis_is_away_and_is_shared_again_once_back() {
    let test = "the_ai_cache_falls_back_while_redis_is_away_and_is_shared_again_once_back";
    let Some(mut c) = Cluster::new(test).await else { return };
    const KEY: &str = "upstream-key-for-the-redis-outage";
    ai::install_tls_provider();
    let mock = mock_upstream::spawn(mock_upstream::Options { key: Some(KEY.into()), models: vec!["mock".into()] })
        .await
        .unwrap();
    let env = [("GOOGLE_AI_API_KEY", KEY), ("GOOGLE_AI_BASE_URL", &mock.url())];
    let hubs = [c.hub_with(&env, "").await, c.hub_with(&env, "").await];
    let body = |question: &str| json!({"model": "google-ai", "temperature": 0, "messages": [{"role": "user", "content": question}]});
    // Deterministic (temperature 0), so cached; pinned to the remote engine. The cache status.
    let ask = async |h: &Server, question: &str| -> String {
        let res = h
            .client()
            .post(h.url("/v1/chat/completions"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body(question))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{question}");
        assert_eq!(res.headers()["x-ai-engine"], "google-ai");
        res.headers()["x-cache-status"].to_str().unwrap().to_string()
    };
    for h in &hubs {
        wait_until("redis up", Duration::from_secs(30), async || hubs::redis_check(h).await == "ok").await;
    }
    assert_eq!(ask(&hubs[0], "what is iowait?").await, "MISS");
    assert_eq!(ask(&hubs[1], "what is iowait?").await, "HIT", "shared while Redis is up");
    assert_eq!(upstream_calls(&mock).await, 1);

    c.redis.down();
    for h in &hubs {
        wait_until("redis reported down", Duration::from_secs(60), async || {
            hubs::redis_check(h).await.starts_with("down")
        })
        .await;
        let status: Value = h.get_auth("/api/ai/status").send().await.unwrap().json().await.unwrap();
        assert!(status["redis"].as_str().unwrap().starts_with("down"), "{status}");
    }
    // Each hub's own cache still answers what it holds, and new questions still get answers.
    assert_eq!(ask(&hubs[0], "what is iowait?").await, "HIT", "the local cache");
    assert_eq!(ask(&hubs[1], "what is iowait?").await, "HIT", "the local copy of the shared answer");
    assert_eq!(upstream_calls(&mock).await, 1);
    assert_eq!(ask(&hubs[0], "what is steal time?").await, "MISS");
    assert_eq!(ask(&hubs[0], "what is steal time?").await, "HIT", "filled locally while Redis is away");
    assert_eq!(upstream_calls(&mock).await, 2);
    // Authentication is each hub's own: Redis away never lets a request in.
    for h in &hubs {
        for token in [None, Some("not-a-token-of-this-hub-at-all-0123456789")] {
            let mut req = h.client().post(h.url("/v1/chat/completions")).json(&body("what is iowait?"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            assert_eq!(req.send().await.unwrap().status(), 401, "token {token:?}");
        }
    }

    c.redis.up().await;
    for h in &hubs {
        wait_until("redis back", Duration::from_secs(60), async || hubs::redis_check(h).await == "ok").await;
    }
    // Shared again: a new question asked on both hubs calls the upstream once.
    assert_eq!(ask(&hubs[1], "what is a page fault?").await, "MISS");
    assert_eq!(ask(&hubs[0], "what is a page fault?").await, "HIT", "shared again once Redis is back");
    assert_eq!(upstream_calls(&mock).await, 3);
}
