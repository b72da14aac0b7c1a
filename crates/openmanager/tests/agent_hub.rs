//! The agent and the hub as real processes: an agent reports to the hub, the hub is restarted in the
//! middle, and every sample the agent took is stored exactly once, with no gap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server};
use serde_json::Value;

const INGEST: &str = "ingest-token-for-agents-0123456789abcdef";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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

async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_hub_restart_loses_nothing() {
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let s = hub(port, None).await;
    let mut agent = Agent(
        common::command()
            .args(["agent", "--hub", &format!("http://127.0.0.1:{port}"), "--token", INGEST])
            .args(["--interval", "200ms", "--name", "edge-7", "--state-dir"])
            .arg(state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the agent to register", || async { agent_id(&s).await.is_some() }).await;
    let id = agent_id(&s).await.unwrap();
    wait_for("a few samples", || async { stored(&s, &id).await.len() >= 5 }).await;

    // The hub goes away while the agent keeps sampling; the agent spools.
    let dir = s.stop();
    let spool = state.path().join("spool.jsonl");
    wait_for("the agent to spool during the outage", || async {
        std::fs::read_to_string(&spool).map(|t| t.lines().count() >= 10).unwrap_or(false)
    })
    .await;
    let s = hub(port, Some(dir)).await;
    wait_for("the spool to be delivered", || async {
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
    wait_for("the agent to register", || async { agent_id(&s).await.is_some() }).await;
    let id = agent_id(&s).await.unwrap();
    let place = format!("agent:{id}");
    let check = serde_json::json!({"name": "internal db", "kind": "tcp", "target": target.local_addr().unwrap().to_string(),
                                   "intervalSeconds": 10, "timeoutMs": 2000, "runOn": [place]});
    let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&check).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let check_id = res.json::<Value>().await.unwrap()["data"]["id"].as_str().unwrap().to_string();
    wait_for("the agent's first result", || async {
        let v: Value = s.get_auth(&format!("/api/checks/{check_id}")).send().await.unwrap().json().await.unwrap();
        v["data"]["state"]["status"] == "up" && v["data"]["state"]["where"] == place.as_str()
    })
    .await;

    // The hub goes away; the agent keeps checking and spools the results.
    let dir = s.stop();
    let down_at = common_now();
    let spool = state.path().join("checks.jsonl");
    wait_for("a check result spooled during the outage", || async {
        std::fs::read_to_string(&spool).map(|t| t.lines().count() >= 1).unwrap_or(false)
    })
    .await;
    let s = hub(port, Some(dir)).await;
    let up_at = common_now();
    wait_for("the spooled results to arrive", || async {
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
