//! The data directory's file system fills up (a real one: a small tmpfs mounted for the test, then
//! grown): agent ingest answers 503 with `Retry-After` and a message naming the cause, health says
//! `degraded` with the reason, readiness fails, the store alert fires; once there is space again the
//! hub recovers by itself and every acknowledged sample is there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server};
use serde_json::{Value, json};

/// Unmounts on drop, also when the test fails.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(test: &str, at: &Path, size: &str) -> Option<Mounted> {
    testkit::tool(test, "mount", "mount", &[])?;
    std::fs::create_dir_all(at).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        testkit::skip(test, "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
        return None;
    }
    Some(Mounted(at.to_path_buf()))
}

/// A batch of `n` samples of agent `machine` with noisy values (so rows do not compress to nothing).
fn report(machine: &str, start_ms: i64, n: i64) -> Value {
    let samples: Vec<Value> = (0..n)
        .map(|i| {
            let t = start_ms + i * 5000;
            let v = |k: f64| ((t / 5000) as f64 * k).sin().abs() * 1e5 + 0.123;
            json!({"timestampMs": t, "values": {"cpu": v(7.31) % 100.0, "memory": v(3.7) % 100.0, "disk": v(1.3) % 100.0,
                "net_rx": v(11.1), "net_tx": v(13.3), "load1": v(0.7) % 10.0}})
        })
        .collect();
    json!({"type": "report", "version": 1,
        "agent": {"machineId": machine, "name": machine, "hostname": machine, "agentVersion": "0.1.0"},
        "samples": samples})
}

async fn get_json(s: &Server, path: &str) -> (u16, Value) {
    let res = s.get_auth(path).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// Polls `f` until it is true, within a minute.
async fn until<F: Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_full_disk_is_reported_loses_nothing_acknowledged_and_recovers() {
    let test = "a_full_disk_is_reported_loses_nothing_acknowledged_and_recovers";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let Some(_mounted) = mount_tmpfs(test, &data, "3m") else { return };
    let s = Server::builder()
        .in_dir(dir)
        .config("[alerts]\ninterval_seconds = 1\n[simulation]\nenabled = false\n")
        .start_async()
        .await;
    let url = s.url("/api/agents/report");
    let post = |body: Value| s.client().post(&url).bearer_auth(ADMIN_TOKEN).json(&body).send();

    // Fill the file system with acknowledged batches until the hub says it cannot store more: one
    // agent per batch, each with the last 40 minutes, so everything acknowledged is still raw and
    // readable at full resolution afterwards.
    let start = jiff::Timestamp::now().as_millisecond() - 40 * 60_000;
    let mut acked: Vec<String> = Vec::new();
    let mut refusal = None;
    for i in 0..400 {
        let machine = format!("m-full-{i}");
        let res = post(report(&machine, start, 480)).await.unwrap();
        match res.status().as_u16() {
            200 => acked.push(machine),
            503 => {
                refusal = Some(res);
                break;
            }
            other => panic!("batch {i}: unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    let refusal = refusal.expect("the file system never filled up");
    assert!(!acked.is_empty(), "some batches were stored before the disk filled");
    let retry_after: u64 = refusal.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let body: Value = refusal.json().await.unwrap();
    assert_eq!(body["error"], "UNAVAILABLE");
    assert!(body["message"].as_str().unwrap().contains("full"), "the message names the cause: {body}");

    // Health says what is wrong, readiness fails, and the store alert fires.
    until("health degraded", || async {
        let (_, h) = get_json(&s, "/api/health").await;
        h["status"] == "degraded" && h["checks"]["store"].as_str().is_some_and(|c| c.contains("full"))
    })
    .await;
    let ready = s.get("/api/health/ready").send().await.unwrap();
    assert_eq!(ready.status(), 503);
    until("the store alert fires", || async {
        let (_, a) = get_json(&s, "/api/alerts?state=firing").await;
        a["data"].as_array().is_some_and(|l| l.iter().any(|x| x["ruleId"] == "default-store-failing"))
    })
    .await;

    // Space returns: the hub takes writes again by itself and everything acknowledged is there.
    let grown = Command::new("mount").args(["-o", "remount,size=64m"]).arg(&data).status().unwrap();
    assert!(grown.success());
    until("healthy and ready again", || async {
        let (_, h) = get_json(&s, "/api/health").await;
        let ready = s.get("/api/health/ready").send().await.unwrap();
        h["status"] == "healthy" && ready.status() == 200
    })
    .await;
    let res = post(report("m-after", start, 10)).await.unwrap();
    assert_eq!(res.status(), 200);
    for machine in &acked {
        let path = format!("/api/metrics/history?serverId={machine}&metric=cpu&from={start}&limit=10000");
        let (status, page) = get_json(&s, &path).await;
        assert_eq!(status, 200, "{page}");
        let stored = page["data"].as_array().unwrap().iter().filter(|p| !p["cpu"].is_null()).count();
        assert_eq!(stored, 480, "every acknowledged sample of {machine} is stored");
    }
}
