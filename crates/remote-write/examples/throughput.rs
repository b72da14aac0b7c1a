//! Remote-write throughput into a real VictoriaMetrics on loopback: a fleet of N servers with M
//! metrics each pushed every few seconds (paced, as the hub would), or all at once (burst), then
//! samples/s sent, bytes per sample on the wire, CPU time and peak RSS of this process.
//!
//! ```text
//! cargo run --release -p remote-write --example throughput -- [--servers 1000] [--metrics 30]
//!     [--every-s 5] [--duration-s 60] [--burst] [--url http://127.0.0.1:8428/api/v1/write]
//! ```
//!
//! Without `--url` it starts Debian's `victoria-metrics` itself (temporary directory, free port).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use remote_write::{RemoteWrite, RemoteWriteConfig, ServerRef};
use tokio_util::sync::CancellationToken;

const KNOWN: [&str; 13] = [
    "cpu",
    "memory",
    "disk",
    "swap",
    "net_rx",
    "net_tx",
    "disk_read",
    "disk_write",
    "load1",
    "load5",
    "load15",
    "processes",
    "uptime",
];
const TYPES: [&str; 4] = ["web", "api", "database", "cache"];

struct Args {
    servers: usize,
    metrics: usize,
    every: Duration,
    duration: Duration,
    burst: bool,
    url: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        servers: 1000,
        metrics: 30,
        every: Duration::from_secs(5),
        duration: Duration::from_secs(60),
        burst: false,
        url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match flag.as_str() {
            "--servers" => a.servers = value().parse().unwrap(),
            "--metrics" => a.metrics = value().parse().unwrap(),
            "--every-s" => a.every = Duration::from_secs(value().parse().unwrap()),
            "--duration-s" => a.duration = Duration::from_secs(value().parse().unwrap()),
            "--burst" => a.burst = true,
            "--url" => a.url = Some(value()),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// Process CPU time (user + system) from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    static HZ: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let hz = *HZ.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    });
    Duration::from_millis(ticks * 1000 / hz)
}

/// Peak resident memory (VmHWM) in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

struct Vm {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_vm() -> (Vm, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("victoria-metrics")
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-storageDataPath={}", dir.path().join("data").display()))
        .arg("-loggerLevel=ERROR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("victoria-metrics (apt-get install victoria-metrics)");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "victoria-metrics did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Vm { child, _dir: dir }, base)
}

struct Fleet {
    ids: Vec<(String, String)>,
    metrics: Vec<String>,
}

impl Fleet {
    fn new(servers: usize, metrics: usize) -> Self {
        let ids = (0..servers).map(|i| (format!("srv-{i:05}"), format!("host-{i:05}"))).collect();
        let metrics = (0..metrics)
            .map(|m| KNOWN.get(m).map_or_else(|| format!("custom_{}", m - KNOWN.len()), |k| k.to_string()))
            .collect();
        Self { ids, metrics }
    }

    /// One round: every server's sample at `t`. Returns the samples pushed.
    fn push(&self, rw: &RemoteWrite, t: i64, round: usize) -> u64 {
        for (i, (id, name)) in self.ids.iter().enumerate() {
            let server = ServerRef { id, name, server_type: TYPES[i % TYPES.len()], source: "agent" };
            // Values with a few decimals, as the hub stores them (rounded to 0.01).
            let values = self.metrics.iter().enumerate().map(|(m, k)| {
                let v = ((i * 31 + m * 7 + round * 13) % 10_000) as f64 / 100.0;
                (k.as_str(), v)
            });
            rw.push(&server, t, values);
        }
        (self.ids.len() * self.metrics.len()) as u64
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = args();
    let (_vm, url) = match &args.url {
        Some(u) => (None, u.clone()),
        None => {
            let (vm, base) = start_vm();
            (Some(vm), format!("{base}/api/v1/write"))
        }
    };
    let fleet = Fleet::new(args.servers, args.metrics);
    let rounds = (args.duration.as_secs() / args.every.as_secs().max(1)).max(1) as usize;
    let per_round = args.servers * args.metrics;
    let config = RemoteWriteConfig {
        url,
        interval_ms: args.every.as_millis() as u64,
        // Burst: everything fits; paced: the default bound (a few rounds).
        max_queue_samples: if args.burst { (rounds * per_round * 2).max(100_000) } else { 100_000 },
        labels: [("job".to_string(), "throughput".to_string())].into(),
        ..Default::default()
    };
    let rw = RemoteWrite::new(&config).unwrap();
    let cancel = CancellationToken::new();
    let cpu_start = cpu_time();
    let mut push_cpu = Duration::ZERO;
    let mut pushed = 0u64;
    let started = Instant::now();
    let sender = tokio::spawn({
        let (rw, cancel) = (rw.clone(), cancel.clone());
        async move { rw.run(cancel, || {}).await }
    });
    if args.burst {
        // All rounds at once, timestamps spaced as the paced run would space them, ending now.
        let t0 = now_ms() - (rounds as i64) * args.every.as_millis() as i64;
        let before = cpu_time();
        for r in 0..rounds {
            pushed += fleet.push(&rw, t0 + r as i64 * args.every.as_millis() as i64, r);
        }
        push_cpu += cpu_time() - before;
    } else {
        let mut tick = tokio::time::interval(args.every);
        for r in 0..rounds {
            tick.tick().await;
            let before = cpu_time();
            pushed += fleet.push(&rw, now_ms(), r);
            push_cpu += cpu_time() - before;
        }
    }
    let push_done = started.elapsed();
    // Wait until everything pushed is settled (sent, dropped or refused).
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let s = rw.stats();
        if s.samples_sent + s.samples_dropped_queue_full + s.samples_rejected >= pushed {
            break;
        }
        assert!(Instant::now() < deadline, "not drained: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    cancel.cancel();
    sender.await.unwrap();
    let cpu = cpu_time() - cpu_start;
    let s = rw.stats();
    let mode = if args.burst { "burst" } else { "paced" };
    println!(
        "mode={mode} servers={} metrics={} rounds={rounds} every={}s pushed={pushed}",
        args.servers,
        args.metrics,
        args.every.as_secs()
    );
    println!(
        "sent={} dropped={} rejected={} requests={} failed={} retries={}",
        s.samples_sent, s.samples_dropped_queue_full, s.samples_rejected, s.requests, s.requests_failed, s.retries
    );
    let drain = elapsed.saturating_sub(push_done);
    println!(
        "wall={:.2}s (pushing {:.2}s, draining after the last push {:.2}s) throughput={:.0} samples/s over the whole run",
        elapsed.as_secs_f64(),
        push_done.as_secs_f64(),
        drain.as_secs_f64(),
        s.samples_sent as f64 / elapsed.as_secs_f64()
    );
    println!(
        "wire: {} bytes in {} requests = {:.2} bytes/sample (snappy-compressed protobuf bodies)",
        s.bytes_sent,
        s.requests,
        s.bytes_sent as f64 / s.samples_sent.max(1) as f64
    );
    let sender_cpu = cpu.saturating_sub(push_cpu);
    println!(
        "cpu: total {:.2}s, of which pushing {:.2}s ({:.2} us/sample) and sending {:.2}s ({:.2} us/sample)",
        cpu.as_secs_f64(),
        push_cpu.as_secs_f64(),
        push_cpu.as_secs_f64() * 1e6 / pushed.max(1) as f64,
        sender_cpu.as_secs_f64(),
        sender_cpu.as_secs_f64() * 1e6 / s.samples_sent.max(1) as f64
    );
    println!("peak RSS of this process: {:.1} MiB (series remembered: {})", peak_rss_mib(), s.series);
}
