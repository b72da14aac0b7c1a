//! What every test here uses: the shared Redis at 127.0.0.1:6379 (skipped with a clear line when
//! absent), a fresh random key prefix per test whose keys are checked to expire and deleted after,
//! hubs (a `Cluster` each, on its own connections, with its maintenance task running), private
//! `redis-server` instances on free loopback ports that a test may stop and start (never the
//! shared one), and polling with a deadline.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cluster::{Cluster, ClusterConfig};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub const SHARED: &str = "127.0.0.1:6379";

/// Whether the shared Redis answers (else a SKIP line, a failure under OPENMANAGER_TEST_STRICT).
pub fn shared_redis(test: &str) -> bool {
    testkit::service(test, "Redis", SHARED, "apt-get install redis-server")
}

/// The `redis-server` binary, for private instances.
pub fn redis_server(test: &str) -> Option<PathBuf> {
    testkit::tool(test, "redis-server", "redis-server", &[])
}

fn random_hex() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh key prefix on the shared Redis. On drop, checks nothing under it lacks an expiry (when
/// the test did not fail already) and deletes everything under it.
pub struct Prefix {
    pub prefix: String,
}

impl Prefix {
    pub fn new() -> Self {
        Self { prefix: format!("omtest:{}:", random_hex()) }
    }

    /// A configuration for the shared Redis under this prefix, with short retry and probe intervals.
    pub fn config(&self, hub: &str) -> ClusterConfig {
        config(&format!("redis://{SHARED}"), &self.prefix, hub)
    }

    pub fn keys(&self) -> Vec<String> {
        scan(&format!("redis://{SHARED}"), &self.prefix)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let url = format!("redis://{SHARED}");
        let keys = scan(&url, &self.prefix);
        let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
        let mut eternal = Vec::new();
        for k in &keys {
            let ttl: i64 = redis::cmd("PTTL").arg(k).query(&mut con).unwrap();
            if ttl == -1 {
                eternal.push(k.clone());
            }
            let _: i64 = redis::cmd("DEL").arg(k).query(&mut con).unwrap();
        }
        if !std::thread::panicking() {
            assert!(eternal.is_empty(), "keys without an expiry: {eternal:?}");
        }
    }
}

/// Every key under `prefix`.
pub fn scan(url: &str, prefix: &str) -> Vec<String> {
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let mut cursor = 0u64;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query(&mut con)
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

pub fn config(url: &str, prefix: &str, hub: &str) -> ClusterConfig {
    ClusterConfig {
        prefix: prefix.into(),
        hub_id: hub.into(),
        retry_interval_ms: 100,
        probe_interval_ms: 200,
        connect_timeout_ms: 1_000,
        command_timeout_ms: 1_000,
        ..ClusterConfig::new(url)
    }
}

/// One hub: its cluster handle and its maintenance task (stopped on drop: the hub "dies").
pub struct Hub {
    pub cluster: Cluster,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Hub {
    pub async fn start(config: &ClusterConfig) -> Hub {
        let cluster = Cluster::connect(config).await.unwrap();
        let cancel = CancellationToken::new();
        let task = {
            let (c, cancel) = (cluster.clone(), cancel.clone());
            tokio::spawn(async move { c.run(cancel, || {}).await })
        };
        Hub { cluster, cancel, task }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.task.abort();
    }
}

impl std::ops::Deref for Hub {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}

/// Polls `check` every 20 ms until it is true; fails the test after 30 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    testkit::free_port()
}

/// A private `redis-server` on a loopback port, in its own directory, killed on drop.
pub struct PrivateRedis {
    bin: PathBuf,
    pub port: u16,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    child: Option<Child>,
    /// Whether clients speak TLS to it.
    tls: bool,
}

impl PrivateRedis {
    /// A plain instance with `extra` arguments (e.g. `--requirepass x`). `None` (after a skip line)
    /// when redis-server is not installed.
    pub fn start(test: &str, extra: &[&str]) -> Option<PrivateRedis> {
        let bin = redis_server(test)?;
        let port = free_port();
        let mut args: Vec<String> = vec!["--port".into(), port.to_string()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut r = PrivateRedis { bin, port, dir: tempfile::tempdir().unwrap(), args, child: None, tls: false };
        r.resume();
        Some(r)
    }

    /// A TLS-only instance with this certificate and key. `None` (after a skip line) when
    /// redis-server is absent or was built without TLS.
    pub fn start_tls(test: &str, cert: &Path, key: &Path) -> Option<PrivateRedis> {
        let bin = redis_server(test)?;
        let port = free_port();
        let args = vec![
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            cert.display().to_string(),
            "--tls-key-file".into(),
            key.display().to_string(),
            "--tls-auth-clients".into(),
            "no".into(),
        ];
        let mut r = PrivateRedis { bin, port, dir: tempfile::tempdir().unwrap(), args, child: None, tls: true };
        if !r.spawn() {
            testkit::skip(test, "redis-server was built without TLS support (--tls-port refused)");
            return None;
        }
        Some(r)
    }

    fn spawn(&mut self) -> bool {
        let mut child = Command::new(&self.bin)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(["--loglevel", "warning", "--dir"])
            .arg(self.dir.path())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A configuration the server refuses (no TLS support) makes it exit at once.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not listen on {} within 10 s", self.port);
    }

    /// `redis://127.0.0.1:<port>` (or `rediss://`).
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "rediss" } else { "redis" }, self.port)
    }

    /// Kills it (SIGKILL: no goodbye to clients), waiting for the process to be gone.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (`STOP`: connections stay open but nothing answers, as with a VM that froze
    /// or a network that drops packets; `CONT`: answers again).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
    }

    /// Starts it again on the same port (an empty dataset: nothing is saved).
    pub fn resume(&mut self) {
        assert!(self.child.is_none());
        assert!(self.spawn(), "redis-server exited at start");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
