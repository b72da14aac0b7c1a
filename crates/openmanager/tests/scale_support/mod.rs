//! Support for the multi-hub suites (database, remote_write, cluster): a fresh PostgreSQL database
//! per test (dropped afterwards), and a TCP relay to PostgreSQL that can be cut to play an outage
//! without stopping the machine's server. Tests skip (or fail under `OPENMANAGER_TEST_STRICT`)
//! when PostgreSQL does not answer on 127.0.0.1:5432.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

pub const PG_ADDR: &str = "127.0.0.1:5432";
const PG_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5";

/// A database created for one test, dropped (with its connections) when this is dropped.
pub struct PgDb {
    pub name: String,
}

impl PgDb {
    /// `None` (after the skip line) when PostgreSQL does not answer.
    pub async fn create(test: &str) -> Option<PgDb> {
        if !testkit::service(test, "PostgreSQL", PG_ADDR, "apt-get install postgresql; trust auth for user postgres") {
            return None;
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("om_hub_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        admin(&format!("CREATE DATABASE {name}")).await;
        Some(PgDb { name })
    }

    /// The URL a hub gets, at `addr` (PostgreSQL itself, or a relay to it).
    pub fn url_at(&self, addr: &str) -> String {
        format!("postgres://postgres@{addr}/{}?sslmode=disable", self.name)
    }

    pub fn url(&self) -> String {
        self.url_at(PG_ADDR)
    }

    /// A plain client on this database, for checks behind the hub's back.
    pub async fn client(&self) -> tokio_postgres::Client {
        client(&format!("host=127.0.0.1 port=5432 user=postgres dbname={}", self.name)).await
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        // Drop may run inside the test's runtime: a thread with its own waits for the DROP.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
        })
        .join();
    }
}

async fn client(conn: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn admin(sql: &str) {
    client(PG_ADMIN).await.batch_execute(sql).await.unwrap();
}

/// A TCP relay to PostgreSQL that can be cut: while down it closes every relayed connection and
/// drops new ones at once, as a database host that went away would.
pub struct Relay {
    pub addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    pub async fn start() -> Relay {
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

    pub async fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for h in self.conns.lock().await.drain(..) {
                h.abort();
            }
        }
    }
}

/// A receiver process on loopback (Prometheus, VictoriaMetrics), killed on drop, its data in a
/// temporary directory.
pub struct Daemon {
    pub base: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound, read and released; the daemon binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Daemon {
    pub fn spawn(binary: &std::path::Path, args: &[String], dir: tempfile::TempDir, port: u16) -> Self {
        let log = dir.path().join("daemon.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(binary)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Self { base: format!("http://127.0.0.1:{port}"), child, _dir: dir, log }
    }

    /// Waits until `path` answers 200 (or the process died: then its log is shown).
    pub async fn ready(mut self, path: &str) -> Self {
        let client = reqwest::Client::new();
        let url = format!("{}{path}", self.base);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return self;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{url}: exited ({status}): {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            assert!(std::time::Instant::now() < deadline, "not ready at {url}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Debian's `prometheus` with the remote-write receiver on, no scraping.
    pub async fn prometheus(test: &str) -> Option<Self> {
        let binary = testkit::tool(test, "prometheus", "prometheus", &[])?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prometheus.yml"), "global:\n  scrape_interval: 1h\n").unwrap();
        let port = free_port();
        let args = vec![
            format!("--config.file={}", dir.path().join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--web.enable-remote-write-receiver".into(),
            "--log.level=warn".into(),
        ];
        Some(Self::spawn(&binary, &args, dir, port).ready("/-/ready").await)
    }

    /// Debian's `victoria-metrics` single-node server.
    pub async fn victoria_metrics(test: &str) -> Option<Self> {
        let binary = testkit::tool(test, "victoria-metrics", "victoria-metrics", &[])?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let args = vec![
            format!("-httpListenAddr=127.0.0.1:{port}"),
            format!("-storageDataPath={}", dir.path().join("data").display()),
            "-loggerLevel=ERROR".into(),
            // Freshly written samples are searchable at once, not after the default 30 s.
            "-search.latencyOffset=0s".into(),
        ];
        Some(Self::spawn(&binary, &args, dir, port).ready("/health").await)
    }

    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base)
    }
}
