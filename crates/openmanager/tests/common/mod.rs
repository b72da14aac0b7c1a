//! The one test harness: starts the real `openmanager` binary on port 0 with a temporary data
//! directory and config, waits for readiness by polling with a deadline, and kills it on drop.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The admin token every harness server gets unless a test asks for a generated one.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijklmnop";

/// How long start-up may take before a test fails (generous: CI machines are shared).
const START_DEADLINE: Duration = Duration::from_secs(30);

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_openmanager")
}

/// A command for the binary with a clean environment: no `OPENMANAGER_*`, `PORT`, `HOST` or
/// `ALLOWED_ORIGINS` leaking in from the machine running the tests.
pub fn command() -> Command {
    let mut cmd = Command::new(binary());
    clean_env(&mut cmd);
    cmd
}

/// Removes the variables the server reads (and systemd's) from `cmd`'s environment.
pub fn clean_env(cmd: &mut Command) {
    const SYSTEMD: [&str; 6] =
        ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"];
    for (k, _) in std::env::vars() {
        if k.starts_with("OPENMANAGER_")
            || ["PORT", "HOST", "ALLOWED_ORIGINS"].contains(&k.as_str())
            || SYSTEMD.contains(&k.as_str())
        {
            cmd.env_remove(k);
        }
    }
}

pub struct Builder {
    config: String,
    server: String,
    env: Vec<(String, String)>,
    admin_token: bool,
    dir: Option<tempfile::TempDir>,
    binary: Option<PathBuf>,
    https: bool,
}

impl Builder {
    /// Extra keys for the harness's `[server]` section, e.g. `handover_timeout_ms = 500`.
    pub fn server(mut self, toml: &str) -> Self {
        self.server.push_str(toml);
        self.server.push('\n');
        self
    }

    /// Run this file instead of the built binary (a copy a test may replace, as a deploy does).
    pub fn binary(mut self, path: &std::path::Path) -> Self {
        self.binary = Some(path.to_path_buf());
        self
    }

    /// Extra TOML appended to the harness config (sections other than `[server]` and `[auth]`, or
    /// use [`Builder::server`] for `[server]` keys).
    pub fn config(mut self, toml: &str) -> Self {
        self.config.push_str(toml);
        self.config.push('\n');
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A `[tls]` section (HTTPS on the port): readiness is then seen from the plain-HTTP redirect,
    /// and [`Server::url`] says `https://`.
    pub fn tls(mut self, toml: &str) -> Self {
        self.config.push_str("\n[tls]\n");
        self.config.push_str(toml);
        self.config.push('\n');
        self.https = true;
        self
    }

    /// Start without a configured admin token, so the server generates one.
    pub fn generated_token(mut self) -> Self {
        self.admin_token = false;
        self
    }

    /// Reuse a data directory (to restart a server on the same data).
    pub fn in_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// [`Builder::start`] for async tests: the waiting happens on a blocking thread, so mocks and
    /// receivers running on the test's runtime keep answering while the server starts.
    pub async fn start_async(self) -> Server {
        tokio::task::spawn_blocking(move || self.start()).await.expect("the server start panicked")
    }

    pub fn start(self) -> Server {
        let dir = self.dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let data = dir.path().join("data");
        let mut toml = format!("[server]\nhost = \"127.0.0.1\"\nport = 0\ndata_dir = \"{}\"\n", data.display());
        toml.push_str(&self.server);
        toml.push_str(&self.config);
        if self.admin_token && !self.config.contains("[auth]") {
            toml.push_str(&format!("\n[auth]\nadmin_token = \"{ADMIN_TOKEN}\"\n"));
        }
        let config = dir.path().join("config.toml");
        std::fs::write(&config, toml).unwrap();

        let mut cmd = match &self.binary {
            Some(path) => {
                let mut cmd = Command::new(path);
                clean_env(&mut cmd);
                cmd
            }
            None => command(),
        };
        cmd.arg("--config").arg(&config).env("OPENMANAGER_LOG_FORMAT", "json");
        if !self.env.iter().any(|(k, _)| k == "OPENMANAGER_LOG") {
            cmd.env("OPENMANAGER_LOG", "info");
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::piped()).stdin(Stdio::null());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn openmanager");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        let drained = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = drained.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
            // stderr closed: every line the process wrote is in `logs`.
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        let addr = match rx.recv_timeout(START_DEADLINE) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not report its address; logs:\n{}", logs.lock().unwrap().join("\n"));
            }
        };
        let mut server = Server {
            child: Some(child),
            addr,
            dir,
            logs,
            drained,
            token: String::new(),
            started,
            successors: Vec::new(),
            https: self.https,
        };
        server.token = if self.admin_token { ADMIN_TOKEN.to_string() } else { server.generated_token() };
        server.wait_ready();
        server
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["fields"]["message"] != "listening" {
        return None;
    }
    v["fields"]["addr"].as_str()?.parse().ok()
}

pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    logs: Arc<Mutex<Vec<String>>>,
    /// Set once the process's stderr closed and every line was read.
    drained: Arc<std::sync::atomic::AtomicBool>,
    pub token: String,
    pub started: Instant,
    /// Processes that took over from this one (SIGUSR2); killed on drop like the first.
    successors: Vec<u32>,
    /// Started with [`Builder::tls`].
    pub https: bool,
}

impl Server {
    pub fn builder() -> Builder {
        Builder {
            config: String::new(),
            server: String::new(),
            env: Vec::new(),
            admin_token: true,
            dir: None,
            binary: None,
            https: false,
        }
    }

    pub fn start() -> Server {
        Self::builder().start()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", if self.https { "https" } else { "http" }, self.addr, path)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// All log lines so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits (bounded) until a log line contains `text`; the successor of a hand-over logs to the
    /// same stream.
    pub fn wait_log(&self, text: &str) {
        let deadline = Instant::now() + START_DEADLINE;
        while !self.logs().contains(text) {
            assert!(Instant::now() < deadline, "no log line with {text:?}; logs:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Like [`Server::wait_log`], for async tests: waits without blocking the runtime.
    pub async fn until_log(&self, text: &str) {
        let deadline = Instant::now() + START_DEADLINE;
        while !self.logs().contains(text) {
            assert!(Instant::now() < deadline, "no log line with {text:?}; logs:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The pid of every process that logged "listening" on this stream, in order.
    pub fn listening_pids(&self) -> Vec<u32> {
        listening_pids(&self.logs.lock().unwrap())
    }

    /// The pid of the process that took over from this one (its "listening" line, waited for with
    /// a deadline), which is then also killed when this server is dropped.
    pub fn successor(&mut self) -> u32 {
        let first = self.pid();
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(&pid) = self.listening_pids().iter().rev().find(|&&p| p != first && p != 0) {
                self.track(pid);
                return pid;
            }
            assert!(Instant::now() < deadline, "no successor logged \"listening\"; logs:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills `pid` (a successor) when this server is dropped, whatever the test's outcome.
    pub fn track(&mut self, pid: u32) {
        self.successors.push(pid);
    }

    fn generated_token(&self) -> String {
        let path = self.data_dir().join("admin.token");
        std::fs::read_to_string(path).expect("generated admin.token").trim().to_string()
    }

    /// Polls `/api/health/ready` until 200, with a deadline; no fixed sleeps.
    fn wait_ready(&self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(self.addr) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = write!(s, "GET /api/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                // Over TLS the plain request is redirected: the server is up and answering.
                if buf.starts_with("HTTP/1.1 200") || (self.https && buf.starts_with("HTTP/1.1 301")) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server not ready in time; logs:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal by name (`TERM`, `INT`, `USR2`).
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // Every line is read once stderr closes; a hand-over successor keeps a copy of it
                // open, so a process that stopped in order is also done once its last line
                // ("stopped") has been read.
                let done = || {
                    self.drained.load(std::sync::atomic::Ordering::Acquire)
                        || self.logs().lines().filter(|l| l.contains(r#""message":"stopped""#)).count() > 0
                };
                while !done() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit in time; logs:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the process and hands back its data directory, for a restart on the same data.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(20));
        self.child = None;
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, placeholder)
    }

    pub fn client(&self) -> reqwest::Client {
        ai::install_tls_provider();
        reqwest::Client::builder().no_gzip().no_brotli().timeout(Duration::from_secs(30)).build().unwrap()
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client().get(self.url(path))
    }

    /// A GET with the admin token.
    pub fn get_auth(&self, path: &str) -> reqwest::RequestBuilder {
        self.get(path).bearer_auth(&self.token)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for pid in &self.successors {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        }
    }
}

/// The `pid` field of every JSON "listening" line.
pub fn listening_pids(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "listening")
        .filter_map(|v| v["fields"]["pid"].as_u64().map(|p| p as u32))
        .collect()
}

/// True while `pid` runs. A process that is not our child is reaped by init (or nobody, in some
/// containers), so a zombie counts as gone.
pub fn pid_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses, which may itself contain spaces.
        Ok(stat) => {
            stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()).is_some_and(|c| c != 'Z')
        }
        Err(_) => false,
    }
}

/// Sends SIGTERM to `pid` (not our child) and waits, bounded, until it is gone.
pub fn stop_pid(pid: u32) {
    signal_pid(pid, "TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    while pid_running(pid) {
        assert!(Instant::now() < deadline, "pid {pid} did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts the error envelope of API.md and returns the body.
pub async fn assert_envelope(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    body
}

/// Sends a signal by name to any process (agents started by a test).
pub fn signal_pid(pid: u32, sig: &str) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success());
}

/// How long [`wait_until`] polls by default: a bound, never a timing assertion.
pub const WAIT: Duration = Duration::from_secs(60);

/// Polls `f` every 50 ms until it gives a value; fails the test naming `what` after `limit`. Tests
/// wait for a state this way, never with a fixed sleep.
pub async fn poll<T>(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`poll`] for a condition.
pub async fn wait_until(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    poll(what, limit, async || f().await.then_some(())).await
}
