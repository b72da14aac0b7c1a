//! PostgreSQL only: outages (connections killed, the server unreachable and back), the
//! maintenance lock, and credentials kept out of errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::common::*;
use store::{Config, ErrorKind, Store, Tier};

async fn pg(test: &str) -> Option<TestDb> {
    TestDb::postgres(test).await
}

/// Poll `f` until it is true, for at most 30 s (a generous bound, not a timing assertion).
async fn wait_until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_is_skipped_while_another_hub_holds_the_lock() {
    let Some(db) = pg("maintenance_is_skipped_while_another_hub_holds_the_lock").await else { return };
    let store = db.open().await;
    write_all(&store, series("s", T0, 5_000, 12 * 30)).await;
    // Another hub (here: a plain session) is running maintenance.
    let other = db.pg_client().await;
    other.execute("SELECT pg_advisory_lock($1)", &[&store::PG_MAINTENANCE_LOCK_KEY]).await.unwrap();
    let r = store.rollup(T0 + HOUR).await.unwrap();
    assert!(r.skipped && r.points == [0, 0, 0], "{r:?}");
    assert!(store.apply_retention(T0 + 30 * 24 * HOUR).await.unwrap().skipped);
    assert!(all_points(&store, Tier::M1, "s", &[], T0, T0 + HOUR).await.is_empty());
    other.execute("SELECT pg_advisory_unlock($1)", &[&store::PG_MAINTENANCE_LOCK_KEY]).await.unwrap();
    let r = store.rollup(T0 + HOUR).await.unwrap();
    assert!(!r.skipped && r.points[0] == 30 * 2, "{r:?}");
    // The store released the lock: another session can take it now.
    let got: bool =
        other.query_one("SELECT pg_try_advisory_lock($1)", &[&store::PG_MAINTENANCE_LOCK_KEY]).await.unwrap().get(0);
    assert!(got);
}

/// Writers keep going while every connection of the store is terminated again and again; each
/// writer retries what failed (as an agent does with its spool). Every acknowledged sample is
/// stored, and writes resume by themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_mid_ingest_lose_no_acknowledged_sample() {
    let Some(db) = pg("connections_killed_mid_ingest_lose_no_acknowledged_sample").await else { return };
    let store = db.open().await;
    let acked = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut writers = tokio::task::JoinSet::new();
    const PER_AGENT: i64 = 300;
    for agent in 0..6 {
        let (store, acked, failures) = (store.clone(), Arc::clone(&acked), Arc::clone(&failures));
        writers.spawn(async move {
            let mut stored = Vec::new();
            for i in 0..PER_AGENT {
                let s = sample(&format!("a{agent}"), T0 + i * 5_000, i as f64);
                loop {
                    match store.write(vec![s.clone()]).await {
                        Ok(out) => {
                            assert_eq!(out.late, 0);
                            stored.push(s.timestamp_ms);
                            acked.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                            failures.fetch_add(1, Ordering::Relaxed);
                            tokio::task::yield_now().await;
                        }
                    }
                }
            }
            (agent, stored)
        });
    }
    // Kill every backend of this database five times, each time once ingest has made progress.
    let killer = db.pg_client().await;
    let mut killed = 0u64;
    for round in 1..=5u64 {
        let target = round * 200;
        wait_until("ingest progress", async || acked.load(Ordering::Relaxed) >= target).await;
        let rows = killer
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        killed += rows.len() as u64;
    }
    let results = writers.join_all().await;
    assert!(killed >= 5, "no connection was terminated");
    eprintln!("killed {killed} connections; {} failed writes retried", failures.load(Ordering::Relaxed));
    for (agent, stored) in results {
        assert_eq!(stored.len() as i64, PER_AGENT);
        let points = all_points(&store, Tier::Raw, &format!("a{agent}"), &["cpu"], T0, T0 + HOUR).await;
        let got: Vec<i64> = points.iter().map(|p| p.timestamp_ms).collect();
        assert_eq!(got, stored, "agent {agent}");
    }
    store.health().await.unwrap();
}

/// A TCP relay to PostgreSQL that can be cut: while down it closes every relayed connection and
/// refuses new ones at once, as a database host that went away would.
struct Relay {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (u, c) = (Arc::clone(&up), Arc::clone(&conns));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !u.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                c.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(PG_ADDR).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Relay { addr, up, conns }
    }

    async fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for h in self.conns.lock().await.drain(..) {
                h.abort();
            }
        }
    }
}

/// The database goes away during ingest: writes fail with `Unavailable` (nothing acknowledged),
/// health says so; it comes back: writes and health recover without reopening the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_then_back_recovers_without_a_restart() {
    let Some(db) = pg("database_down_then_back_recovers_without_a_restart").await else { return };
    let relay = Relay::start().await;
    let url = db.url().replace("127.0.0.1:5432", &relay.addr.to_string());
    let mut cfg = db.config();
    cfg.connect_timeout = Duration::from_secs(2);
    let store = Store::open_url(Some(&url), cfg).await.unwrap();
    assert_eq!(store.write(series("s", T0, 5_000, 10)).await.unwrap().inserted, 10);

    relay.set_up(false).await;
    let err = store.write(series("s", T0 + MIN, 5_000, 10)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let health = store.health().await.unwrap_err();
    assert_eq!(health.kind(), ErrorKind::Unavailable, "{health}");
    assert_eq!(store.history("s", &[], T0, T0 + HOUR, 100, None).await.unwrap_err().kind(), ErrorKind::Unavailable);

    relay.set_up(true).await;
    // Recovery is the store's own doing: poll its probe, as the hub's health job would.
    wait_until("health to recover", async || store.health().await.is_ok()).await;
    let out = store.write(series("s", T0 + MIN, 5_000, 10)).await.unwrap();
    assert_eq!(out.inserted, 10);
    store.health().await.unwrap();
    assert_eq!(store.history("s", &["cpu"], T0, T0 + HOUR, 100, None).await.unwrap().points.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_unavailable_and_the_password_never_shows() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://admin:s3cret-pw@127.0.0.1:{port}/db?sslmode=disable");
    let mut cfg = Config::new("unused.db");
    cfg.connect_timeout = Duration::from_secs(2);
    let err = Store::open_url(Some(&url), cfg).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }
    let parsed = store::DatabaseUrl::parse(&url).unwrap();
    assert!(!format!("{parsed} {parsed:?}").contains("s3cret-pw"));
    let bad = Store::open_url(Some("mysql://admin:s3cret-pw@h/db"), Config::new("unused.db")).await.err().unwrap();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    assert!(!bad.to_string().contains("s3cret-pw"));
}
