//! The agent and the hub as real processes: an agent reports to the hub, the hub is restarted in the
//! middle, and every sample the agent took is stored exactly once, with no gap. The agent speaks the
//! compact body (batches, changed metrics, deltas) and the hub still takes the version 1 body.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Stdio};

use common::{ADMIN_TOKEN, Server, WAIT, wait_until};
use serde_json::Value;

const INGEST: &str = "ingest-token-for-agents-0123456789abcdef";

fn free_port() -> u16 {
    testkit::free_port()
}

async fn hub(port: u16, dir: Option<tempfile::TempDir>) -> Server {
    let mut b = Server::builder().env("PORT", &port.to_string()).config(&format!(
        "[auth]\nadmin_token = \"{ADMIN_TOKEN}\"\n[[auth.tokens]]\nname = \"agents\"\ntoken = \"{INGEST}\"\nscopes = [\"ingest\"]\n\
         [simulation]\nenabled = false\n[fleet]\nmonitor_self = false\n"
    ));
    if let Some(d) = dir {
        b = b.in_dir(d);
    }
    b.start_async().await
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The agent's stored samples' timestamps, oldest first.
async fn stored(s: &Server, id: &str) -> Vec<i64> {
    let res =
        s.get_auth(&format!("/api/metrics/history?serverId={id}&timeRange=15m&limit=10000")).send().await.unwrap();
    if res.status() != 200 {
        return Vec::new();
    }
    let body: Value = res.json().await.unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_millisecond())
        .collect()
}

async fn agent_id(s: &Server) -> Option<String> {
    let body: Value = s.get_auth("/api/servers?source=agent").send().await.ok()?.json().await.ok()?;
    body["data"].as_array()?.first().map(|v| v["id"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn a_hub_restart_loses_nothing() {
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let s = hub(port, None).await;
    let mut agent = Agent(
        common::command()
            .args(["agent", "--hub", &format!("http://127.0.0.1:{port}"), "--token", INGEST])
            .args(["--interval", "200ms", "--batch-seconds", "1", "--name", "edge-7", "--state-dir"])
            .arg(state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the agent to register", WAIT, || async { agent_id(&s).await.is_some() }).await;
    let id = agent_id(&s).await.unwrap();
    wait_until("a few samples", WAIT, || async { stored(&s, &id).await.len() >= 5 }).await;

    // The hub goes away while the agent keeps sampling; the agent spools.
    let dir = s.stop();
    let spool = state.path().join("spool.jsonl");
    wait_until("the agent to spool during the outage", WAIT, || async {
        std::fs::read_to_string(&spool).map(|t| t.lines().count() >= 10).unwrap_or(false)
    })
    .await;
    let s = hub(port, Some(dir)).await;
    wait_until("the spool to be delivered", WAIT, || async {
        std::fs::metadata(&spool).map(|m| m.len() == 0).unwrap_or(true) && stored(&s, &id).await.len() >= 20
    })
    .await;

    // Stop the agent: what it took before the outage, during it and after is stored.
    common::signal_pid(agent.0.id(), "TERM");
    let status = agent.0.wait().unwrap();
    assert!(status.success());
    let times = stored(&s, &id).await;
    let mut sorted = times.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), times.len(), "no sample stored twice");
    let widest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest < 1500, "a gap of {widest} ms: samples were lost across the restart ({} stored)", times.len());
    assert_eq!(
        s.get_auth(&format!("/api/servers/{id}")).send().await.unwrap().json::<Value>().await.unwrap()["data"]["name"],
        "edge-7"
    );
}

/// Times of a check's stored results at `place`.
async fn check_results(s: &Server, check: &str, place: &str) -> Vec<i64> {
    let res = s.get_auth(&format!("/api/checks/{check}/history?timeRange=1h&where={place}")).send().await.unwrap();
    if res.status() != 200 {
        return Vec::new();
    }
    let body: Value = res.json().await.unwrap();
    body["data"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_millisecond())
        .collect()
}

#[tokio::test]
async fn an_agent_runs_its_checks_while_the_hub_is_down_and_delivers_them_later() {
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s = hub(port, None).await;
    let mut agent = Agent(
        common::command()
            .args(["agent", "--hub", &format!("http://127.0.0.1:{port}"), "--token", INGEST])
            .args(["--interval", "200ms", "--state-dir"])
            .arg(state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the agent to register", WAIT, || async { agent_id(&s).await.is_some() }).await;
    let id = agent_id(&s).await.unwrap();
    let place = format!("agent:{id}");
    let check = serde_json::json!({"name": "internal db", "kind": "tcp", "target": target.local_addr().unwrap().to_string(),
                                   "intervalSeconds": 10, "timeoutMs": 2000, "runOn": [place]});
    let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&check).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let check_id = res.json::<Value>().await.unwrap()["data"]["id"].as_str().unwrap().to_string();
    wait_until("the agent's first result", WAIT, || async {
        let v: Value = s.get_auth(&format!("/api/checks/{check_id}")).send().await.unwrap().json().await.unwrap();
        v["data"]["state"]["status"] == "up" && v["data"]["state"]["where"] == place.as_str()
    })
    .await;

    // The hub goes away; the agent keeps checking and spools the results.
    let dir = s.stop();
    let down_at = common_now();
    let spool = state.path().join("checks.jsonl");
    wait_until("a check result spooled during the outage", WAIT, || async {
        std::fs::read_to_string(&spool).map(|t| t.lines().count() >= 1).unwrap_or(false)
    })
    .await;
    let s = hub(port, Some(dir)).await;
    let up_at = common_now();
    wait_until("the spooled results to arrive", WAIT, || async {
        std::fs::metadata(&spool).map(|m| m.len() == 0).unwrap_or(true)
            && check_results(&s, &check_id, &place).await.iter().any(|t| (down_at..up_at).contains(t))
    })
    .await;
    common::signal_pid(agent.0.id(), "TERM");
    assert!(agent.0.wait().unwrap().success());
    // Each result is stored once.
    let times = check_results(&s, &check_id, &place).await;
    let mut unique = times.clone();
    unique.dedup();
    assert_eq!(unique.len(), times.len());
}

fn common_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One history point's values by metric name, as the agent names them.
fn point_values(p: &Value) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("cpu", p["cpu"].as_f64()),
        ("memory", p["memory"].as_f64()),
        ("disk", p["disk"].as_f64()),
        ("load1", p["load1"].as_f64()),
        ("net_rx", p["network"]["bytesReceived"].as_f64()),
        ("net_tx", p["network"]["bytesSent"].as_f64()),
    ]
}

#[tokio::test]
async fn compact_batches_are_stored_exactly_and_the_old_body_still_works() {
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let s = hub(port, None).await;
    let log = state.path().join("agent.log");
    let mut agent = Agent(
        common::command()
            .args(["agent", "--hub", &format!("http://127.0.0.1:{port}"), "--token", INGEST])
            .args(["--interval", "200ms", "--batch-seconds", "3", "--state-dir"])
            .arg(state.path())
            .env("OPENMANAGER_LOG", "openmanager=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // The first sample goes at once (the status is new), the rest wait for the batch.
    wait_until("the agent to register", WAIT, || async { agent_id(&s).await.is_some() }).await;
    let id = agent_id(&s).await.unwrap();
    // What the sampler produced, read from the spool while the batch waits there (until ten samples).
    let spool = state.path().join("spool.jsonl");
    let mut sampled: std::collections::BTreeMap<i64, Value> = Default::default();
    wait_until("ten samples in the spool", WAIT, async || {
        for line in std::fs::read_to_string(&spool).unwrap_or_default().lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                sampled.insert(v["timestampMs"].as_i64().unwrap(), v["values"].clone());
            }
        }
        sampled.len() >= 10
    })
    .await;
    let last = *sampled.keys().last().unwrap();
    wait_until("the batches to arrive", WAIT, || async { stored(&s, &id).await.contains(&last) }).await;
    common::signal_pid(agent.0.id(), "TERM");
    assert!(agent.0.wait().unwrap().success());

    let res =
        s.get_auth(&format!("/api/metrics/history?serverId={id}&timeRange=15m&limit=10000")).send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    let mut compared = 0;
    for p in body["data"].as_array().unwrap() {
        let at = p["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let Some(values) = sampled.get(&at) else { continue };
        for (name, stored) in point_values(p) {
            assert_eq!(stored, values[name].as_f64(), "{name} at {at}");
        }
        compared += 1;
    }
    assert_eq!(compared, sampled.len(), "every sampled sample is stored");
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("compact report delivered"), "{logs}");
    assert!(!logs.contains("version 1 from now on"), "{logs}");
    // Batched: a handful of reports for about 40 samples, not one each.
    let reports = logs.matches("sending a compact report").count();
    assert!((2..=8).contains(&reports), "{reports} reports");

    // The version 1 body, as older agents send it, is still answered with its acknowledgement.
    let old = serde_json::json!({"type": "report", "version": 1,
        "agent": {"machineId": "old-agent-1", "name": "old-1", "hostname": "old-1", "agentVersion": "0.0.9"},
        "samples": [{"timestampMs": last, "values": {"cpu": 1.25}}]});
    let res = s.client().post(s.url("/api/agents/report")).bearer_auth(INGEST).json(&old).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ack: Value = res.json().await.unwrap();
    assert_eq!((ack["accepted"].as_u64(), ack["serverId"].as_str()), (Some(1), Some("old-agent-1")));

    // A compact body: 204 when durable, 428 when the base is not the hub's or the agent is unknown.
    let compact = |body: Value| s.client().post(s.url("/api/agents/report")).bearer_auth(INGEST).json(&body).send();
    let step = serde_json::json!([{"t": 1000, "v": {"cpu": 2.5}}]);
    let r = compact(serde_json::json!({"type": "compact", "v": 2, "id": "old-agent-1", "base": last, "s": step}));
    assert_eq!(r.await.unwrap().status(), 428, "no base held for an agent that sent version 1");
    let r = compact(serde_json::json!({"type": "compact", "v": 2, "id": "nobody", "s": step}));
    assert_eq!(r.await.unwrap().status(), 428, "an unknown agent without its identity");
    let r = compact(
        serde_json::json!({"type": "compact", "v": 2, "id": "old-agent-1", "s": [{"t": last + 5, "v": {"cpu": 2.5}}]}),
    );
    let r = r.await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = compact(
        serde_json::json!({"type": "compact", "v": 2, "id": "old-agent-1", "base": last + 5, "s": [{"t": 5, "d": {"cpu": 1}}]}),
    );
    assert_eq!(r.await.unwrap().status(), 422, "a delta on a fractional value");
    let r = compact(
        serde_json::json!({"type": "compact", "v": 2, "id": "old-agent-1", "base": last + 5, "s": [{"t": 5, "v": {"cpu": 3.0}}]}),
    );
    assert_eq!(r.await.unwrap().status(), 204);
    assert!(stored(&s, "old-agent-1").await.contains(&(last + 10)));
}

/// The agent's state of a check at its place, as `/api/checks/{id}` shows it.
async fn place_status(s: &Server, check: &str, place: &str) -> Value {
    let v: Value = s.get_auth(&format!("/api/checks/{check}")).send().await.unwrap().json().await.unwrap();
    v["data"]["locations"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["where"] == place))
        .map(|l| l["status"].clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_changed_check_reaches_an_agent_that_holds_the_old_set() {
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let s = hub(port, None).await;
    let mut agent = Agent(
        common::command()
            .args(["agent", "--hub", &format!("http://127.0.0.1:{port}"), "--token", INGEST])
            .args(["--interval", "200ms", "--batch-seconds", "1", "--state-dir"])
            .arg(state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the agent to register", WAIT, || async { agent_id(&s).await.is_some() }).await;
    let id = agent_id(&s).await.unwrap();
    let place = format!("agent:{id}");
    let check = serde_json::json!({"name": "queue port", "kind": "tcp", "target": open.local_addr().unwrap().to_string(),
                                   "intervalSeconds": 10, "timeoutMs": 2000, "runOn": [place]});
    let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&check).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let check_id = res.json::<Value>().await.unwrap()["data"]["id"].as_str().unwrap().to_string();
    wait_until("the agent's first result", WAIT, || async { place_status(&s, &check_id, &place).await == "up" }).await;
    // The agent keeps the hub's hash of its set beside it, and repeats it in its reports.
    let saved: Value = serde_json::from_slice(&std::fs::read(state.path().join("checks.json")).unwrap()).unwrap();
    let first_hash = saved["hash"].as_str().expect("a hash saved with the checks").to_string();

    // The check changes (a port nobody listens on): the hub's hash differs from the agent's, so the
    // next acknowledgement carries the new definition, and the agent's results say so.
    let patch = serde_json::json!({"target": closed.to_string()});
    let res = s
        .client()
        .patch(s.url(&format!("/api/checks/{check_id}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    wait_until("the changed check to run on the agent", WAIT, || async {
        place_status(&s, &check_id, &place).await == "down"
    })
    .await;
    let saved: Value = serde_json::from_slice(&std::fs::read(state.path().join("checks.json")).unwrap()).unwrap();
    assert_ne!(saved["hash"].as_str().unwrap(), first_hash);
    assert_eq!(saved["checks"][0]["target"], closed.to_string());
    common::signal_pid(agent.0.id(), "TERM");
    assert!(agent.0.wait().unwrap().success());
}

#[tokio::test]
async fn the_check_list_is_sent_only_to_agents_that_do_not_hold_it() {
    let port = free_port();
    let s = hub(port, None).await;
    let post = |body: Value| s.client().post(s.url("/api/agents/report")).bearer_auth(INGEST).json(&body).send();
    let report = |at: i64, version: u32, hash: Option<&str>| {
        let mut v = serde_json::json!({"type": "report", "version": 1,
            "agent": {"machineId": "hash-agent-1", "name": "hash-1", "hostname": "hash-1", "agentVersion": "0.2.0"},
            "samples": [{"timestampMs": at, "values": {"cpu": 1.25}}], "checksVersion": version});
        if let Some(h) = hash {
            v["checksHash"] = h.into();
        }
        v
    };
    let now = common_now();
    let ack: Value = post(report(now, 2, None)).await.unwrap().json().await.unwrap();
    assert_eq!(ack["checks"], serde_json::json!([]), "{ack}");
    let empty_hash = ack["checksHash"].as_str().unwrap().to_string();
    let ack: Value = post(report(now + 1, 2, Some(&empty_hash))).await.unwrap().json().await.unwrap();
    assert!(ack.get("checks").is_none() && ack.get("checksHash").is_none(), "no echo of a held set: {ack}");

    let check = serde_json::json!({"name": "cache", "kind": "tcp", "target": "127.0.0.1:9", "intervalSeconds": 60,
                                   "timeoutMs": 1000, "runOn": ["agent:hash-agent-1"]});
    let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&check).send().await.unwrap();
    assert_eq!(res.status(), 201);
    // The held hash is stale now: the list comes with its new hash, then stops again.
    let ack: Value = post(report(now + 2, 2, Some(&empty_hash))).await.unwrap().json().await.unwrap();
    assert_eq!(ack["checks"].as_array().unwrap().len(), 1, "{ack}");
    let hash = ack["checksHash"].as_str().unwrap().to_string();
    assert_ne!(hash, empty_hash);
    let ack: Value = post(report(now + 3, 2, Some(&hash))).await.unwrap().json().await.unwrap();
    assert!(ack.get("checks").is_none(), "{ack}");
    // A version 1 agent (no hash) still gets its list every time.
    let ack: Value = post(report(now + 4, 1, None)).await.unwrap().json().await.unwrap();
    assert_eq!(ack["checks"].as_array().unwrap().len(), 1, "{ack}");
    // Compact bodies: the held hash answers 204; a stale one or none brings the list.
    let compact = |at: i64, ch: Option<&str>| {
        let mut v =
            serde_json::json!({"type": "compact", "v": 2, "id": "hash-agent-1", "s": [{"t": at, "v": {"cpu": 2.5}}]});
        if let Some(h) = ch {
            v["ch"] = h.into();
        }
        v
    };
    let r = post(compact(now + 5, Some(&hash))).await.unwrap();
    assert_eq!(r.status(), 204);
    let r = post(compact(now + 6, Some(&empty_hash))).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["checksHash"], hash.as_str());
    let r = post(compact(now + 7, None)).await.unwrap();
    assert_eq!(r.status(), 200, "an agent with checks and no hash gets them");
    // A hash past its bound is refused like any bad field.
    let r = post(report(now + 8, 2, Some(&"x".repeat(65)))).await.unwrap();
    assert_eq!(r.status(), 422);
}
