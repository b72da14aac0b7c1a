//! End-to-end test of `openmanager agent`: the real binary reports to a stand-in hub on loopback
//! (an axum app that gunzips, records samples and acknowledges, and can be told to answer 503).
//! Checks delivery, spooling through an outage with no gaps or duplicates, and delivery of the
//! spool after a SIGTERM and a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use protocol::{AgentMessage, ReportAck, Sample};

const TOKEN: &str = "agent-test-token-0123456789";
/// Generous: the machine running the tests may be busy.
const DEADLINE: Duration = Duration::from_secs(60);

/// The stand-in hub's record of what arrived.
#[derive(Default)]
struct Hub {
    failing: AtomicBool,
    refused: AtomicUsize,
    /// Every delivered sample's timestamp, in arrival order (duplicates included).
    received: Mutex<Vec<i64>>,
    machine_ids: Mutex<BTreeSet<String>>,
    inventories: AtomicUsize,
    /// Compact bodies refused as an old hub does: the agent must fall back after the first.
    compact_refused: AtomicUsize,
    /// Requests that were malformed (wrong token, encoding or body): must stay empty.
    bad: Mutex<Vec<String>>,
}

impl Hub {
    fn received(&self) -> Vec<i64> {
        self.received.lock().unwrap().clone()
    }
}

async fn report(State(hub): State<Arc<Hub>>, headers: HeaderMap, body: Bytes) -> Response {
    let bad = |why: String| {
        hub.bad.lock().unwrap().push(why.clone());
        (StatusCode::BAD_REQUEST, why).into_response()
    };
    let h = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if h(header::AUTHORIZATION) != format!("Bearer {TOKEN}") {
        return bad(format!("authorization {:?}", h(header::AUTHORIZATION)));
    }
    if h(header::CONTENT_ENCODING) != "gzip" || h(header::CONTENT_TYPE) != "application/json" {
        return bad(format!("headers {headers:?}"));
    }
    if hub.failing.load(Ordering::SeqCst) {
        hub.refused.fetch_add(1, Ordering::SeqCst);
        let envelope = r#"{"success":false,"error":"unavailable","message":"hub is restarting"}"#;
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], envelope).into_response();
    }
    let mut json = String::new();
    if let Err(e) = flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut json) {
        return bad(format!("gzip: {e}"));
    }
    // This stand-in is an old hub: it refuses the compact body, and the agent falls back.
    if json.starts_with(r#"{"type":"compact""#) {
        hub.compact_refused.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::UNPROCESSABLE_ENTITY, "unknown variant `compact`").into_response();
    }
    let AgentMessage::Report(report) = match serde_json::from_str::<AgentMessage>(&json) {
        Ok(m) => m,
        Err(e) => return bad(format!("json: {e}: {json}")),
    };
    if let Err(e) = report.validate() {
        return bad(format!("invalid: {}", e.0));
    }
    if report.inventory.as_ref().is_some_and(|i| i.cpu_cores > 0) {
        hub.inventories.fetch_add(1, Ordering::SeqCst);
    }
    hub.machine_ids.lock().unwrap().insert(report.agent.machine_id.clone());
    let mut received = hub.received.lock().unwrap();
    let seen: BTreeSet<i64> = received.iter().copied().collect();
    let duplicates = report.samples.iter().filter(|s| seen.contains(&s.timestamp_ms)).count() as u32;
    received.extend(report.samples.iter().map(|s| s.timestamp_ms));
    let ack = ReportAck {
        version: protocol::PROTOCOL_VERSION,
        accepted: report.samples.len() as u32 - duplicates,
        duplicates,
        server_id: "srv-test".into(),
        check_results: 0,
        checks: None,
        checks_hash: None,
    };
    axum::Json(ack).into_response()
}

async fn start_hub() -> (Arc<Hub>, u16) {
    let hub = Arc::new(Hub::default());
    let app = Router::new().route("/api/agents/report", post(report)).with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (hub, port)
}

/// The agent process; killed on drop, its log kept in a file for failure messages.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn start(port: u16, state_dir: &Path, log_dir: &Path, run: u32) -> Self {
        let log = log_dir.join(format!("agent-{run}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_openmanager"));
        for (k, _) in std::env::vars() {
            if k.starts_with("OPENMANAGER_") || k == "XDG_STATE_HOME" {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .args([
                "agent",
                "--hub",
                &format!("http://127.0.0.1:{port}"),
                "--interval",
                "200ms",
                "--batch-seconds",
                "0",
                "--state-dir",
            ])
            .arg(state_dir)
            .env("OPENMANAGER_AGENT_TOKEN", TOKEN)
            .env("OPENMANAGER_LOG", "openmanager=debug,info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < DEADLINE, "the agent did not stop on SIGTERM\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `cond` until it holds, failing with `what` and the agent's log after [`DEADLINE`].
async fn wait_for(agent: &mut Agent, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if let Some(status) = agent.child.try_wait().unwrap() {
            panic!("the agent exited ({status}) while waiting for {what}\n{}", agent.logs());
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}\n{}", agent.logs());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Timestamps of the whole lines in the spool file (a line being appended may be cut short).
fn spooled(state_dir: &Path) -> Vec<i64> {
    std::fs::read_to_string(state_dir.join("spool.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Sample>(l).ok())
        .map(|s| s.timestamp_ms)
        .collect()
}

fn assert_no_duplicates_oldest_first(hub: &Hub) {
    let received = hub.received();
    let mut counts = BTreeMap::new();
    for ts in &received {
        *counts.entry(*ts).or_insert(0) += 1;
    }
    let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    assert!(received.windows(2).all(|w| w[0] < w[1]), "not oldest first: {received:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_delivers_spools_through_outages_and_restarts() {
    let (hub, port) = start_hub().await;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");

    // 1. Samples arrive, with the agent's identity and inventory.
    let mut agent = Agent::start(port, &state, tmp.path(), 1);
    wait_for(&mut agent, "first samples", || hub.received().len() >= 3 && hub.inventories.load(Ordering::SeqCst) > 0)
        .await;

    // A second agent on the same state directory refuses to start rather than share the spool.
    let mut second = Agent::start(port, &state, tmp.path(), 99);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = second.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < DEADLINE, "a second agent kept running\n{}", second.logs());
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(!status.success() && second.logs().contains("another agent"), "{status}\n{}", second.logs());

    // 2. While the hub fails, samples pile up in the spool; after recovery all arrive, in order.
    hub.failing.store(true, Ordering::SeqCst);
    let mut during = Vec::new();
    wait_for(&mut agent, "samples spooled during the outage", || {
        during = spooled(&state);
        during.len() >= 5 && hub.refused.load(Ordering::SeqCst) >= 2
    })
    .await;
    hub.failing.store(false, Ordering::SeqCst);
    wait_for(&mut agent, "the outage's samples", || {
        let got: BTreeSet<i64> = hub.received().into_iter().collect();
        during.iter().all(|ts| got.contains(ts))
    })
    .await;
    assert_no_duplicates_oldest_first(&hub);

    // 3. SIGTERM while the hub fails: the spool is flushed and exit is clean; a restarted agent
    //    delivers what was left.
    hub.failing.store(true, Ordering::SeqCst);
    let refused = hub.refused.load(Ordering::SeqCst);
    wait_for(&mut agent, "samples spooled before the stop", || {
        spooled(&state).len() >= 3 && hub.refused.load(Ordering::SeqCst) > refused
    })
    .await;
    let status = agent.terminate();
    assert!(status.success(), "exit {status}\n{}", agent.logs());
    let left = spooled(&state);
    assert!(left.len() >= 3, "{left:?}\n{}", agent.logs());
    let delivered: BTreeSet<i64> = hub.received().into_iter().collect();
    assert!(left.iter().all(|ts| !delivered.contains(ts)), "the flushed spool holds only unsent samples");
    hub.failing.store(false, Ordering::SeqCst);

    let mut agent = Agent::start(port, &state, tmp.path(), 2);
    let newest_left = *left.iter().max().unwrap();
    wait_for(&mut agent, "the spool left by the first run, then new samples", || {
        let got = hub.received();
        let set: BTreeSet<i64> = got.iter().copied().collect();
        left.iter().all(|ts| set.contains(ts)) && got.iter().filter(|ts| **ts > newest_left).count() >= 2
    })
    .await;
    assert_no_duplicates_oldest_first(&hub);
    assert_eq!(hub.machine_ids.lock().unwrap().len(), 1, "one identity across restarts");
    let bad = hub.bad.lock().unwrap().clone();
    assert!(bad.is_empty(), "malformed requests: {bad:?}");
    // One refusal per agent run (each run starts by trying the compact body).
    let refused = hub.compact_refused.load(Ordering::SeqCst);
    assert!((1..=4).contains(&refused), "compact bodies refused: {refused}");
    let status = agent.terminate();
    assert!(status.success(), "{}", agent.logs());
}
