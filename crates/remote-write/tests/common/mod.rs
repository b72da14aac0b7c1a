//! The remote-write suites' one harness: the protobuf model (prost, independent of the crate's
//! hand encoder), an in-test receiver answering as scripted, polling with a deadline, the known
//! sample set and its expected series, and real receivers (Prometheus, VictoriaMetrics) started on
//! loopback in a temporary directory and killed on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use remote_write::{RemoteWrite, RemoteWriteConfig, ServerRef, Stats};
use tokio_util::sync::CancellationToken;

/// `prometheus.WriteRequest` and friends, derived with prost to check the hand encoder.
pub mod prompb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }
}

/// Labels of one series, as a map.
pub type Labels = BTreeMap<String, String>;
/// Series to `(timestamp ms, value)` in time order.
pub type SeriesSet = BTreeMap<Labels, Vec<(i64, f64)>>;

/// A plain client for reading receivers back (reqwest is built without a default TLS provider).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Polls `check` until it returns `Some`, at most `limit` (a deadline, not a timing assertion).
pub async fn poll<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the sender's counters satisfy `done`.
pub async fn stats_until(rw: &RemoteWrite, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    poll(what, Duration::from_secs(30), || {
        let s = rw.stats();
        let ready = done(&s).then_some(s);
        async move { ready }
    })
    .await
}

/// A sender task running in the background, stopped (and awaited) by [`Sender::stop`].
pub struct Sender {
    pub rw: RemoteWrite,
    /// Heartbeats so far.
    pub beats: Arc<AtomicU64>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Sender {
    pub fn start(config: &RemoteWriteConfig) -> Self {
        Self::start_with(RemoteWrite::new(config).unwrap())
    }

    /// Starts the task for a handle that may already hold samples.
    pub fn start_with(rw: RemoteWrite) -> Self {
        let cancel = CancellationToken::new();
        let beats = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (rw, cancel, beats) = (rw.clone(), cancel.clone(), beats.clone());
            async move {
                rw.run(cancel, move || {
                    beats.fetch_add(1, Ordering::Relaxed);
                })
                .await
            }
        });
        Self { rw, beats, cancel, task }
    }

    pub async fn stop(self) -> RemoteWrite {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("the sender stops").unwrap();
        self.rw
    }
}

/// What the in-test receiver answers to one request.
#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16, &'static str),
    /// A status with `Retry-After: <secs>`.
    RetryAfter(u16, u64),
    /// Never answers (the sender's timeout must end it).
    Hang,
}

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body_len: usize,
    pub request: prompb::WriteRequest,
    /// The status it was answered with (`None`: left hanging).
    pub status: Option<u16>,
}

#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Answer>>,
    received: Mutex<Vec<Received>>,
}

/// An HTTP remote-write receiver on loopback: decodes every request with prost and answers from
/// its script, then 204 once the script is used up.
pub struct Receiver {
    pub addr: SocketAddr,
    script: Arc<Script>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(answers: impl IntoIterator<Item = Answer>) -> Self {
        let script = Arc::new(Script { answers: Mutex::new(answers.into_iter().collect()), ..Default::default() });
        let app = axum::Router::new().route("/api/v1/write", axum::routing::post(write)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, script, _server: server }
    }

    pub fn url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.received.lock().unwrap().clone()
    }

    /// Every sample of the requests answered 2xx, per series.
    pub fn accepted(&self) -> SeriesSet {
        let mut set = SeriesSet::new();
        for r in self.received().iter().filter(|r| r.status.is_some_and(|s| (200..300).contains(&s))) {
            add_request(&mut set, &r.request);
        }
        set
    }
}

pub fn add_request(set: &mut SeriesSet, request: &prompb::WriteRequest) {
    for ts in &request.timeseries {
        let labels: Labels = ts.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
        set.entry(labels).or_default().extend(ts.samples.iter().map(|s| (s.timestamp, s.value)));
    }
}

async fn write(State(script): State<Arc<Script>>, headers: HeaderMap, body: Bytes) -> Response {
    let raw = snap::raw::Decoder::new().decompress_vec(&body).expect("snappy block format");
    let request = <prompb::WriteRequest as prost::Message>::decode(raw.as_slice()).expect("a WriteRequest");
    let answer = script.answers.lock().unwrap().pop_front().unwrap_or(Answer::Status(204, ""));
    let status = match &answer {
        Answer::Status(s, _) | Answer::RetryAfter(s, _) => Some(*s),
        Answer::Hang => None,
    };
    script.received.lock().unwrap().push(Received { headers, body_len: body.len(), request, status });
    match answer {
        Answer::Status(s, body) => (StatusCode::from_u16(s).unwrap(), body).into_response(),
        Answer::RetryAfter(s, secs) => {
            (StatusCode::from_u16(s).unwrap(), [("retry-after", secs.to_string())], "slow down").into_response()
        }
        Answer::Hang => std::future::pending().await,
    }
}

/// The known samples: three servers (one named in Korean with a space, one without a name), mapped
/// and custom metrics, three points each, a minute apart, ending a minute ago.
pub struct Known {
    pub base_ms: i64,
}

pub const SERVERS: [ServerRef<'static>; 3] = [
    ServerRef { id: "srv-web-1", name: "web-1", server_type: "web", source: "agent" },
    ServerRef { id: "srv-db-1", name: "데이터베이스 1", server_type: "database", source: "static" },
    ServerRef { id: "srv-hub", name: "", server_type: "monitoring", source: "self" },
];

pub const METRICS: [(&str, &str); 6] = [
    ("cpu", "openmanager_server_cpu_percent"),
    ("net_rx", "openmanager_server_network_receive_bytes_per_second"),
    ("load1", "node_load1"),
    ("processes", "node_processes_pids"),
    ("uptime", "openmanager_server_uptime_seconds"),
    ("gpu.temp", "openmanager_server_custom_gpu_temp"),
];

impl Known {
    /// Timestamps at whole milliseconds with an odd remainder, so a receiver rounding to seconds
    /// would show.
    pub fn new() -> Self {
        Self { base_ms: now_ms() - 3 * 60_000 - 123 }
    }

    fn value(server: usize, metric: usize, point: usize) -> f64 {
        // Fractions that print exactly and differ for every (server, metric, point).
        (server * 1000 + metric * 10 + point) as f64 + 0.125 * (point + 1) as f64
    }

    pub fn push(&self, rw: &RemoteWrite) {
        for point in 0..3 {
            for (s, server) in SERVERS.iter().enumerate() {
                let values = METRICS.iter().enumerate().map(|(m, (stored, _))| (*stored, Self::value(s, m, point)));
                rw.push(server, self.base_ms + point as i64 * 60_000, values);
            }
        }
    }

    pub fn count() -> u64 {
        (3 * SERVERS.len() * METRICS.len()) as u64
    }

    /// What a receiver must hold, with `extra` labels on every series.
    pub fn expected(&self, extra: &[(&str, &str)]) -> SeriesSet {
        let mut set = SeriesSet::new();
        for (s, server) in SERVERS.iter().enumerate() {
            for (m, (_, name)) in METRICS.iter().enumerate() {
                let mut labels: Labels = [
                    ("__name__", *name),
                    ("instance", if server.name.is_empty() { server.id } else { server.name }),
                    ("server_id", server.id),
                    ("server_type", server.server_type),
                    ("source", server.source),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
                labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                let points = (0..3).map(|p| (self.base_ms + p as i64 * 60_000, Self::value(s, m, p))).collect();
                set.insert(labels, points);
            }
        }
        set
    }
}

/// A free loopback port (bound, read and released; the receiver binds it right after).
pub fn free_port() -> u16 {
    testkit::free_port()
}

/// A receiver process on loopback, killed and reaped on drop, with its data in a temporary dir.
pub struct Daemon {
    pub base: String,
    child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn spawn(binary: PathBuf, args: impl Fn(&std::path::Path, u16) -> Vec<String>, dir: tempfile::TempDir) -> Self {
        let port = free_port();
        let log = dir.path().join("daemon.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .args(args(dir.path(), port))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Self { base: format!("http://127.0.0.1:{port}"), child, _dir: dir, log }
    }

    /// Waits until `path` answers 200 (or the process died: then its log is shown).
    async fn ready(mut self, path: &str) -> Self {
        let client = client();
        let url = format!("{}{path}", self.base);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return self;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("receiver exited ({status}): {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            assert!(tokio::time::Instant::now() < deadline, "receiver not ready at {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Debian's `prometheus` with the remote-write receiver on, no scraping.
    pub async fn prometheus(test: &str) -> Option<Self> {
        let binary = testkit::tool(test, "prometheus", "prometheus", &[])?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prometheus.yml"), "global:\n  scrape_interval: 1h\n").unwrap();
        let args = |dir: &std::path::Path, port: u16| {
            vec![
                format!("--config.file={}", dir.join("prometheus.yml").display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--web.enable-remote-write-receiver".into(),
                "--log.level=warn".into(),
            ]
        };
        Some(Self::spawn(binary, args, dir).ready("/-/ready").await)
    }

    /// Debian's `victoria-metrics` single-node server.
    pub async fn victoria_metrics(test: &str) -> Option<Self> {
        let binary = testkit::tool(test, "victoria-metrics", "victoria-metrics", &[])?;
        let dir = tempfile::tempdir().unwrap();
        let args = |dir: &std::path::Path, port: u16| {
            vec![
                format!("-httpListenAddr=127.0.0.1:{port}"),
                format!("-storageDataPath={}", dir.join("data").display()),
                "-loggerLevel=ERROR".into(),
            ]
        };
        Some(Self::spawn(binary, args, dir).ready("/health").await)
    }

    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base)
    }
}
