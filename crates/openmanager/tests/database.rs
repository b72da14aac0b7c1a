//! The hub on PostgreSQL (`OPENMANAGER_DATABASE_URL`), end to end against the real binary and the
//! machine's PostgreSQL: ingest acknowledged and served, a second hub on the same database seeing
//! the history, credentials never shown, an outage answered with 503 (readiness with the reason,
//! ingest with `Retry-After`, live reads still served) and recovered without a restart, and
//! `openmanager migrate` from the embedded store, resumable and checked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod scale_support;

use std::io::Write;
use std::time::Duration;

use common::{ADMIN_TOKEN, Server, WAIT, wait_until};
use scale_support::{PgDb, Relay};
use serde_json::{Value, json};

fn report(machine: &str, start_ms: i64, n: i64) -> Value {
    let samples: Vec<Value> = (0..n)
        .map(|i| json!({"timestampMs": start_ms + i * 5000, "values": {"cpu": 10.0 + i as f64, "memory": 40.0}}))
        .collect();
    json!({"type": "report", "version": 1,
        "agent": {"machineId": machine, "name": machine, "hostname": format!("{machine}.lan"), "agentVersion": "0.1.0"},
        "samples": samples})
}

fn gzip(v: &Value) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(v.to_string().as_bytes()).unwrap();
    e.finish().unwrap()
}

async fn post_report(s: &Server, body: &Value) -> reqwest::Response {
    s.client()
        .post(s.url("/api/agents/report"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(body))
        .send()
        .await
        .unwrap()
}

/// Timestamps of the raw history points of `server`'s cpu in the last hour.
async fn history(s: &Server, server: &str) -> Vec<i64> {
    let h: Value = s
        .get_auth(&format!("/api/metrics/history?serverId={server}&timeRange=1h"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let points = h["data"].as_array().unwrap_or_else(|| panic!("no history: {h}"));
    let mut ts: Vec<i64> = points
        .iter()
        .filter_map(|p| {
            let t = p["timestamp"].as_str()?;
            Some(t.parse::<jiff::Timestamp>().ok()?.as_millisecond())
        })
        .collect();
    ts.sort_unstable();
    ts
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn hub(url: &str) -> common::Builder {
    Server::builder()
        .env("OPENMANAGER_DATABASE_URL", url)
        .config("[simulation]\nenabled = false\n[database]\nconnect_timeout_ms = 1000\nstatement_timeout_ms = 5000\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_on_postgres_share_the_history_and_never_show_the_password() {
    let Some(db) = PgDb::create("hubs_on_postgres_share_the_history_and_never_show_the_password").await else {
        return;
    };
    // Trust authentication ignores the password; it is there to be masked.
    let url = db.url().replace("postgres@", "postgres:s3cret-pw@");
    let a = hub(&url).start_async().await;
    let start = now_ms() - 120_000;
    let res = post_report(&a, &report("m-pg-1", start, 12)).await;
    assert_eq!(res.status(), 200);
    let ack: Value = res.json().await.unwrap();
    assert_eq!(ack["accepted"], 12, "{ack}");
    assert_eq!(history(&a, "m-pg-1").await.len(), 12);
    // The samples are in PostgreSQL, not in a file of the data directory.
    let client = db.client().await;
    let n: i64 = client.query_one("SELECT count(*) FROM raw", &[]).await.unwrap().get(0);
    assert_eq!(n, 12);
    assert!(!a.data_dir().join("openmanager.db").exists());

    // A second hub with its own data directory serves the same fleet and history.
    let b = hub(&url).start_async().await;
    let server: Value = b.get_auth("/api/servers/m-pg-1").send().await.unwrap().json().await.unwrap();
    assert_eq!(server["data"]["source"], "agent", "{server}");
    assert_eq!(history(&b, "m-pg-1").await.len(), 12);
    let again: Value = post_report(&b, &report("m-pg-1", start, 12)).await.json().await.unwrap();
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(12)));

    let out = common::command()
        .args(["check-config"])
        .env("OPENMANAGER_DATABASE_URL", &url)
        .env("OPENMANAGER_DATA_DIR", a.data_dir())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("postgres:***@127.0.0.1:5432/"), "{shown}");
    for logs in [a.logs(), b.logs(), shown.to_string()] {
        assert!(!logs.contains("s3cret-pw"), "the password was shown:\n{logs}");
    }
    assert!(a.logs().contains("\"backend\":\"postgres\""), "{}", a.logs());
}

/// PostgreSQL goes away (a relay in front of it is cut) and comes back; no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_with_503_and_recovers() {
    let Some(db) = PgDb::create("a_database_outage_is_answered_with_503_and_recovers").await else { return };
    let relay = Relay::start().await;
    let s = hub(&db.url_at(&relay.addr.to_string())).start_async().await;
    let start = now_ms() - 600_000;
    assert_eq!(post_report(&s, &report("m-out", start, 10)).await.status(), 200);

    relay.set_up(false).await;
    // Ingest: 503 with Retry-After, nothing acknowledged (the agent keeps its spool).
    let res = post_report(&s, &report("m-out", start + 50_000, 10)).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some(), "{:?}", res.headers());
    // Readiness says why, once the store probe noticed.
    let mut reason = String::new();
    wait_until("readiness to fail", WAIT, async || {
        let res = s.get("/api/health/ready").send().await.unwrap();
        if res.status() != 503 {
            return false;
        }
        let body: Value = res.json().await.unwrap();
        reason = body["reason"].as_str().unwrap_or_default().to_string();
        true
    })
    .await;
    assert!(reason.starts_with("store: "), "{reason}");
    // Live state is still served from memory.
    let live: Value = s.get_auth("/api/servers/m-out").send().await.unwrap().json().await.unwrap();
    assert_eq!(live["data"]["cpu"], 19.0, "{live}");
    let health: Value = s.get("/api/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");

    relay.set_up(true).await;
    wait_until("readiness to recover", WAIT, async || s.get("/api/health/ready").send().await.unwrap().status() == 200)
        .await;
    // The agent's retry of the refused batch is stored now.
    let res = post_report(&s, &report("m-out", start + 50_000, 10)).await;
    assert_eq!(res.status(), 200);
    let expected: Vec<i64> = (0..20).map(|i| start + i * 5000).collect();
    assert_eq!(history(&s, "m-out").await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_the_embedded_history_resumably() {
    let Some(db) = PgDb::create("migrate_copies_the_embedded_history_resumably").await else { return };
    let embedded = Server::builder().config("[simulation]\nenabled = false\n").start_async().await;
    let start = now_ms() - 300_000;
    for m in ["m-a", "m-b"] {
        assert_eq!(post_report(&embedded, &report(m, start, 20)).await.status(), 200);
    }
    let file = embedded.data_dir().join("openmanager.db");
    let from = format!("sqlite://{}", file.display());

    // Refused while the hub serves the file: it would go on writing during the copy.
    let out = common::command().args(["migrate", "--from", &from, "--to", &db.url()]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it first"), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = embedded.stop();
    let file = dir.path().join("data/openmanager.db");
    let from = format!("sqlite://{}", file.display());

    let out = common::command().args(["migrate", "--from", &from, "--to", &db.url()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("2 servers") && stdout.contains("40 raw rows") && stdout.contains("counts match"),
        "{stdout}"
    );
    // A second run finds everything done.
    let out = common::command().args(["migrate", "--from", &from, "--to", &db.url()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("2 already copied"), "{stdout}");

    // A hub on PostgreSQL serves the migrated history.
    let s = hub(&db.url()).start_async().await;
    let expected: Vec<i64> = (0..20).map(|i| start + i * 5000).collect();
    assert_eq!(history(&s, "m-a").await, expected);
    assert_eq!(history(&s, "m-b").await, expected);

    // A missing source is an error, not a fresh empty database.
    let out = common::command()
        .args(["migrate", "--from", "sqlite:///nonexistent/x.db", "--to", &db.url()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// A private PostgreSQL stopped and started again while agents report: refused batches are sent
/// again (as agents do from their spool) and every acknowledged sample is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_during_ingest_loses_no_acknowledged_sample() {
    let test = "a_postgres_restart_during_ingest_loses_no_acknowledged_sample";
    let Some(pg) = scale_support::PrivatePg::start(test).await else { return };
    // The agents retry from one address while the database is down: no per-client limit here.
    let s = hub(&pg.url("postgres")).config("[rate_limit]\nenabled = false\n").start_async().await;
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = now_ms() - 900_000;
    const PER_AGENT: i64 = 60;
    let mut writers = tokio::task::JoinSet::new();
    for agent in 0..3 {
        let (acked, url) = (acked.clone(), s.url("/api/agents/report"));
        writers.spawn(async move {
            let client = scale_support::http();
            let id = format!("r-{agent}");
            let mut stored = Vec::new();
            for i in 0..PER_AGENT {
                let t = start + i * 5000;
                let body = gzip(&report(&id, t, 1));
                loop {
                    let res = client
                        .post(&url)
                        .bearer_auth(ADMIN_TOKEN)
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(body.clone())
                        .send()
                        .await;
                    if res.is_ok_and(|r| r.status() == 200) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                stored.push(t);
                acked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (id, stored)
        });
    }
    wait_until("ingest progress", WAIT, async || acked.load(std::sync::atomic::Ordering::Relaxed) >= 40).await;
    pg.down();
    wait_until("readiness to fail", WAIT, async || s.get("/api/health/ready").send().await.unwrap().status() == 503)
        .await;
    pg.up();
    let results = writers.join_all().await;
    for (id, stored) in results {
        assert_eq!(history(&s, &id).await, stored, "{id}");
    }
}
