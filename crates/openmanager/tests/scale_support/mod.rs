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

/// A plain HTTP client (reqwest here has no default TLS provider: install the binary's).
pub fn http() -> reqwest::Client {
    ai::install_tls_provider();
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}

/// A free loopback port (bound, read and released; the daemon binds it right after).
pub fn free_port() -> u16 {
    testkit::free_port()
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
        let client = http();
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

/// A private `redis-server` on a free loopback port (so a test may stop and start it), its data
/// in a temporary directory; killed on drop.
pub struct PrivateRedis {
    pub port: u16,
    binary: std::path::PathBuf,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    pub async fn start(test: &str) -> Option<PrivateRedis> {
        let binary = testkit::tool(test, "redis-server", "redis-server", &[])?;
        let mut r = PrivateRedis { port: free_port(), binary, dir: tempfile::tempdir().unwrap(), child: None };
        r.up().await;
        Some(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port) and waits until it accepts connections.
    pub async fn up(&mut self) {
        let child = std::process::Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Kills it (as an outage would).
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.down();
    }
}

/// A unique Redis key prefix per test (keys expire by themselves).
pub fn redis_prefix(test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let short: String = test.chars().filter(char::is_ascii_alphanumeric).take(24).collect();
    format!("omtest:{short}:{}:{}:", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// nginx in front of `backends`, as deploy/multi-hub/nginx.conf has it (WebSocket upgrade,
/// retries on another hub), run in the foreground with its pid file, logs and temp files in a
/// temporary prefix; killed on drop.
pub struct Nginx {
    pub addr: std::net::SocketAddr,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    pub async fn start(test: &str, backends: &[std::net::SocketAddr]) -> Option<Nginx> {
        let binary = testkit::tool(test, "nginx", "nginx-light", &["/usr/sbin/nginx"])?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let p = dir.path().display();
        let servers: String =
            backends.iter().map(|b| format!("        server {b} max_fails=1 fail_timeout=5s;\n")).collect();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {p}/body;\n    proxy_temp_path {p}/proxy;\n\
             fastcgi_temp_path {p}/fastcgi;\n    uwsgi_temp_path {p}/uwsgi;\n    scgi_temp_path {p}/scgi;\n\
             map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}\n\
             upstream hubs {{\n        least_conn;\n{servers}        keepalive 16;\n    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        client_max_body_size 2m;\n\
             location / {{\n            proxy_pass http://hubs;\n            proxy_http_version 1.1;\n\
             proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection $connection_upgrade;\n\
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
             proxy_next_upstream error timeout http_502 http_503 http_504;\n            proxy_read_timeout 60s;\n\
             }}\n    }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = std::process::Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Some(Nginx { addr, child, _dir: dir })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A private PostgreSQL cluster (`initdb` + `pg_ctl`) on a free loopback port, so a test may stop
/// and start it; as user `postgres` when the tests run as root (PostgreSQL refuses root). Stopped
/// on drop.
pub struct PrivatePg {
    pub port: u16,
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
}

impl PrivatePg {
    pub async fn start(test: &str) -> Option<PrivatePg> {
        let bin = glob_bin("initdb").map(|p| p.parent().unwrap().to_path_buf());
        let Some(bin) = bin.filter(|b| b.join("pg_ctl").is_file()) else {
            testkit::skip(test, "initdb/pg_ctl are not installed (apt-get install postgresql)");
            return None;
        };
        let root = std::process::Command::new("id").arg("-u").output().ok()?.stdout == b"0\n";
        let dir = tempfile::tempdir().unwrap();
        if root {
            let ok = std::process::Command::new("chown").arg("-R").arg("postgres:").arg(dir.path()).status();
            if !ok.is_ok_and(|s| s.success()) {
                testkit::skip(test, "running as root without a `postgres` user to run a private PostgreSQL");
                return None;
            }
        }
        let pg = PrivatePg { port: free_port(), bin, dir, as_postgres: root };
        let data = pg.dir.path().join("data");
        let out = pg
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        pg.up();
        Some(pg)
    }

    fn command(&self, tool: &str) -> std::process::Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        }
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn up(&self) {
        let d = self.dir.path();
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, d.display());
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(d.join("data"))
            .arg("-l")
            .arg(d.join("log"))
            .args(["-o", &opts, "-w", "start"])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Stops it at once (`-m fast`: sessions are cut, as in a restart by an operator).
    pub fn down(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .output();
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        self.down();
    }
}

/// `/usr/lib/postgresql/<version>/bin/<name>` (the newest), else `<name>` on PATH.
fn glob_bin(name: &str) -> Option<std::path::PathBuf> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().or_else(|| {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}
