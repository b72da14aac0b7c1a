//! Alerts across hubs on one PostgreSQL and one Redis, where one hub evaluates: an acknowledgement
//! made through any hub never goes back on any hub, even while the evaluator stalls and misses its
//! message, and reaches the evaluator all the same; a hub that
//! takes the evaluator lease carries on the alerts the cluster has (same alert, since and
//! acknowledgement; notified once); a server deleted through any hub ends its alerts on every hub.
//! Skips (or fails under `OPENMANAGER_TEST_STRICT`) without PostgreSQL or redis-server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod hubs;
mod scale_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server, wait_until};
use hubs::{Cluster, FAST_ALERTS, create, delete, evaluator, firing, now_ms, post_report, report, webhook};
use serde_json::{Value, json};

/// Longer than the period at which a hub that does not evaluate re-reads the evaluator's alerts
/// (the lease tick, 5 s): a window watched this long includes one re-read on every hub.
const RESYNC_WATCH: Duration = Duration::from_secs(6);
/// Fast alerts; no per-client limits (the tests poll every hub from one address).
const HUB: &str = "[rate_limit]\nenabled = false\n";

/// A rule on `cpu >= 50` for `servers`, created through `h`; its id.
async fn busy_rule(h: &Server, servers: &[&str], channels: &[&str]) -> String {
    let rule = create(
        h,
        "/api/alerts/rules",
        json!({"name": "Agent busy", "metric": "cpu", "op": ">=",
        "threshold": 50, "severity": "warning", "scope": {"serverIds": servers}, "channels": channels,
        "repeatIntervalSeconds": 0}),
    )
    .await;
    rule["id"].as_str().unwrap().to_string()
}

/// The one firing alert of `rule` on every hub, once they all list the same one.
async fn listed_everywhere(hubs: &[&Server], rule: &str) -> Value {
    let mut first = Value::Null;
    wait_until("the alert listed on every hub", Duration::from_secs(60), async || {
        let mut seen = Vec::new();
        for h in hubs {
            seen.push(firing(h, rule).await);
        }
        let same = seen.iter().all(|f| f.len() == 1 && f[0]["id"] == seen[0][0]["id"]);
        if same {
            first = seen[0][0].clone();
        }
        same
    })
    .await;
    first
}

/// Whether `h` lists alert `id` of `rule` as firing and acknowledged.
async fn acknowledged(h: &Server, rule: &str, id: &str) -> bool {
    firing(h, rule).await.iter().any(|a| a["id"] == id && a["acknowledged"] == true)
}

async fn ack(h: &Server, id: &str) -> Value {
    let res = h.client().post(h.url(&format!("/api/alerts/{id}/ack"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["data"].clone()
}

/// Watches `hubs` for `span`: once a hub listed alert `id` acknowledged, it must never list it
/// otherwise. `shown[i]` says whether hub i showed it already (and is updated).
async fn ack_never_goes_back(hubs: &[&Server], rule: &str, id: &str, shown: &mut [bool], span: Duration) {
    let until = Instant::now() + span;
    while Instant::now() < until {
        for (i, h) in hubs.iter().enumerate() {
            let acked = acknowledged(h, rule, id).await;
            assert!(acked || !shown[i], "hub {i} showed the acknowledged alert {id} unacknowledged again");
            shown[i] |= acked;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_through_any_hub_never_goes_back() {
    let test = "an_acknowledgement_through_any_hub_never_goes_back";
    let Some(c) = Cluster::new(test).await else { return };
    let hubs = [
        c.hub(&format!("{FAST_ALERTS}{HUB}")).await,
        c.hub(&format!("{FAST_ALERTS}{HUB}")).await,
        c.hub(&format!("{FAST_ALERTS}{HUB}")).await,
    ];
    let e = evaluator(&hubs).await;
    let others: Vec<&Server> = (0..3).filter(|&i| i != e).map(|i| &hubs[i]).collect();
    let rule = busy_rule(others[0], &["d-1"], &[]).await;
    let client = hubs::http();
    assert_eq!(post_report(&client, &others[0].url(""), &report("d-1", &[(now_ms(), 80.0)])).await, 200);
    let all: Vec<&Server> = hubs.iter().collect();
    let alert = listed_everywhere(&all, &rule).await;
    let id = alert["id"].as_str().unwrap().to_string();

    // The evaluator stalls (a long pause, a slow link to Redis): it keeps the lease, applies nothing
    // and shares nothing new; and every hub's subscription is cut, so the evaluator never hears the
    // acknowledgement's message. An acknowledgement through another hub must hold there at once,
    // and on the others once they showed it, through their re-reads of the evaluator's stale alerts.
    hubs[e].signal("STOP");
    hubs::cut_subscribers(&c.redis).await;
    let acked = ack(others[0], &id).await;
    assert_eq!(acked["acknowledged"], true, "{acked}");
    let mut shown = [true, false];
    ack_never_goes_back(&others, &rule, &id, &mut shown, RESYNC_WATCH).await;
    hubs[e].signal("CONT");

    // The evaluator learns it (told again by the hub that made it), and so does the third hub; no
    // hub shows it unacknowledged again while it evaluates on.
    wait_until("the acknowledgement on every hub", Duration::from_secs(30), async || {
        for h in &all {
            if !acknowledged(h, &rule, &id).await {
                return false;
            }
        }
        true
    })
    .await;
    let mut shown = [true, true, true];
    ack_never_goes_back(&all, &rule, &id, &mut shown, RESYNC_WATCH).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_evaluator_carries_on_the_alerts_the_cluster_has() {
    let test = "a_new_evaluator_carries_on_the_alerts_the_cluster_has";
    let Some(c) = Cluster::new(test).await else { return };
    let (hook, url) = webhook().await;
    let mut hubs = vec![
        c.hub(&format!("{FAST_ALERTS}{HUB}")).await,
        c.hub(&format!("{FAST_ALERTS}{HUB}")).await,
        c.hub(&format!("{FAST_ALERTS}{HUB}")).await,
    ];
    let e = evaluator(&hubs).await;
    // The agent reports to a hub that does not evaluate (never the one killed below).
    let reporter = (e + 1) % 3;
    let channel = create(
        &hubs[reporter],
        "/api/notifications/channels",
        json!({"name": "hook", "target": {"kind": "webhook", "url": url}}),
    )
    .await;
    let rule = busy_rule(&hubs[reporter], &["e-1"], &[channel["id"].as_str().unwrap()]).await;
    let cpu = Arc::new(AtomicU64::new(80));
    let stop = tokio_util::sync::CancellationToken::new();
    let (s, level, base) = (stop.clone(), cpu.clone(), hubs[reporter].url(""));
    let agent = tokio::spawn(async move {
        let client = hubs::http();
        while !s.is_cancelled() {
            let v = level.load(Ordering::Relaxed) as f64;
            post_report(&client, &base, &report("e-1", &[(now_ms(), v)])).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let sent = |event: &str| {
        hook.lock().unwrap().iter().filter(|v| v["event"] == event && v["alert"]["ruleId"] == rule).count()
    };
    let all: Vec<&Server> = hubs.iter().collect();
    let alert = listed_everywhere(&all, &rule).await;
    let id = alert["id"].as_str().unwrap().to_string();
    // Acknowledged through a hub that does not evaluate; the evaluator has it before it dies.
    ack(&hubs[(e + 2) % 3], &id).await;
    wait_until("the acknowledgement on the evaluator", Duration::from_secs(30), async || {
        acknowledged(&hubs[e], &rule, &id).await
    })
    .await;
    wait_until("the alert notified", Duration::from_secs(30), async || sent("fired") == 1).await;

    let dead = hubs.remove(e);
    dead.signal("KILL");
    drop(dead);
    // From the kill until the new evaluator has evaluated a while: every survivor lists the same
    // alert as before (id, since, firing time, acknowledgement), never none and never a new one.
    let same = |a: &Value| ["id", "startedAt", "firedAt"].iter().all(|k| a[k] == alert[k]) && a["acknowledged"] == true;
    let mut taken: Option<Instant> = None;
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(60);
    while taken.is_none_or(|t| t.elapsed() < RESYNC_WATCH) {
        assert!(Instant::now() < deadline, "no hub took the evaluator lease");
        for (i, h) in hubs.iter().enumerate() {
            let listed = firing(h, &rule).await;
            assert!(
                listed.len() == 1 && same(&listed[0]),
                "{:?} after the kill (lease taken: {}), survivor {i} lists {listed:?}, not {alert}",
                killed.elapsed(),
                taken.is_some()
            );
        }
        if taken.is_none() && hubs.iter().any(|h| h.logs().contains("alert evaluator lease taken")) {
            taken = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Still one notification; and it resolves as usual, notified once, on every survivor.
    cpu.store(10, Ordering::Relaxed);
    wait_until("resolved on every survivor", Duration::from_secs(30), async || {
        firing(&hubs[0], &rule).await.is_empty() && firing(&hubs[1], &rule).await.is_empty()
    })
    .await;
    wait_until("the recovery notified", Duration::from_secs(30), async || sent("resolved") == 1).await;
    stop.cancel();
    let _ = agent.await;
    assert_eq!((sent("fired"), sent("resolved")), (1, 1), "{:?}", hook.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_server_through_any_hub_ends_its_alerts_everywhere() {
    let test = "deleting_a_server_through_any_hub_ends_its_alerts_everywhere";
    let Some(c) = Cluster::new(test).await else { return };
    let hubs = [c.hub(&format!("{FAST_ALERTS}{HUB}")).await, c.hub(&format!("{FAST_ALERTS}{HUB}")).await];
    let e = evaluator(&hubs).await;
    let o = 1 - e;
    let rule = busy_rule(&hubs[o], &["f-1", "f-2"], &[]).await;
    let client = hubs::http();
    // f-1 reports to the evaluator, f-2 to the other hub.
    for (server, h) in [("f-1", e), ("f-2", o)] {
        assert_eq!(post_report(&client, &hubs[h].url(""), &report(server, &[(now_ms(), 80.0)])).await, 200);
    }
    wait_until("both alerts listed on both hubs", Duration::from_secs(60), async || {
        firing(&hubs[0], &rule).await.len() == 2 && firing(&hubs[1], &rule).await.len() == 2
    })
    .await;
    // Each server deleted through the hub its agent reports to: its alert ends there as it answers.
    for (server, h) in [("f-1", e), ("f-2", o)] {
        delete(&hubs[h], &format!("/api/servers/{server}")).await;
        let left = firing(&hubs[h], &rule).await;
        assert!(
            left.iter().all(|a| a["serverId"] != server),
            "{server}'s alert still listed where it was deleted: {left:?}"
        );
    }
    // And on every hub, for good (through a re-read of the evaluator's alerts on each).
    wait_until("the alerts gone from both hubs", Duration::from_secs(30), async || {
        firing(&hubs[0], &rule).await.is_empty() && firing(&hubs[1], &rule).await.is_empty()
    })
    .await;
    let until = Instant::now() + RESYNC_WATCH;
    while Instant::now() < until {
        for h in &hubs {
            let left = firing(h, &rule).await;
            assert!(left.is_empty(), "a deleted server's alert came back: {left:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
