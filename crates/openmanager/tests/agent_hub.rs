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
