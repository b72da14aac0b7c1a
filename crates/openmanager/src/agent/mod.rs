//! `openmanager agent`: samples this host with the collector and pushes the samples to a hub's
//! `POST /api/agents/report`, keeping whatever the hub has not acknowledged in a bounded spool
//! (memory and file) so an outage or a restart loses nothing.
//!
//! One current-thread runtime runs one loop: each tick takes a snapshot (about 100 µs, so inline)
//! and appends it to the spool; whenever nothing is in flight and no back-off is pending, the
//! oldest samples (at most `protocol::MAX_SAMPLES_PER_REPORT`) go out as one report. The tick keeps
//! running while a report is in flight. On SIGTERM/SIGINT the loop stops, an in-flight report is
//! abandoned (resending is safe: the hub drops duplicate timestamps), the spool file is left
//! holding exactly the unsent samples, and the process exits 0.
//!
//! Modules: [`identity`] (machine id, name), [`sampler`] (snapshot to wire types), [`spool`]
//! (bounded, persisted), [`uplink`] (HTTP, answers, back-off), `batching` (when to send; the compact
//! body's base and fall-back), [`checks`] (the checks the hub assigns, run here, their results
//! spooled and sent with the next report).

mod args;
mod batching;
pub mod checks;
pub mod identity;
pub mod sampler;
pub mod spool;
pub mod uplink;

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use anyhow::Context as _;
use collector::{Collector, CollectorConfig, ProcSource, SystemInfo};
use protocol::{AgentIdentity, MAX_SAMPLES_PER_REPORT};
use reqwest::Url;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::{LogConfig, LogFormat, Secret};
pub use args::AgentArgs;
use batching::{Batching, Compact, CompactSent};
use spool::{Spool, SpoolConfig};
use uplink::{Backoff, Outcome, Uplink};

/// Default byte bound of the spool: about 24 hours of samples at 5 s (a sample line is ~220
/// bytes), and small enough for the agent's 10 MB memory budget when full.
pub const DEFAULT_SPOOL_MAX_BYTES: usize = 4 * 1024 * 1024;
/// How much history the spool keeps by default, in time; divided by the interval for a count.
const DEFAULT_SPOOL_SPAN: Duration = Duration::from_secs(24 * 60 * 60);
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// How often the address the hub is reached from is looked up again for the inventory.
const IP_REFRESH: Duration = Duration::from_secs(10 * 60);
const MACHINE_ID_PATH: &str = "/etc/machine-id";
/// Held locked while an agent runs, so two agents cannot share a spool.
const LOCK_FILE: &str = "agent.lock";

/// What can go wrong in the agent below the run loop.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Config(String),
    #[error("cannot encode a report: {0}")]
    Encode(String),
    #[error("no randomness from the OS: {0}")]
    Random(String),
}

impl AgentError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// Parses an interval: `5s`, `500ms`, `1m`, `1h` or plain seconds (`5`, `0.5`), 100 ms to 1 h.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().map_err(|_| format!("`{s}` is not a duration like 5s, 500ms or 1m"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit `{other}` (use ms, s, m or h)")),
    };
    let d = Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is out of range"))?;
    if d < MIN_INTERVAL || d > MAX_INTERVAL {
        return Err(format!("the interval must be between {MIN_INTERVAL:?} and {MAX_INTERVAL:?}"));
    }
    Ok(d)
}

/// The agent's settings, resolved from the command line and the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub hub: Url,
    pub token: Secret,
    pub interval: Duration,
    pub batch: Duration,
    pub legacy_body: bool,
    pub name: Option<String>,
    pub state_dir: PathBuf,
    pub spool: SpoolConfig,
    /// How an https:// hub is verified.
    pub trust: tls::HubTrust,
    /// `--insecure-http` was given (the token may go in clear to a remote hub).
    pub insecure_http: bool,
}

impl Settings {
    pub fn from_args(args: &AgentArgs) -> Result<Self, AgentError> {
        let hub = Url::parse(args.hub.trim())
            .map_err(|e| AgentError::Config(format!("--hub `{}` is not a URL: {e}", args.hub)))?;
        uplink::report_url(&hub)?;
        // No token leaves in clear for another host unless asked for by name.
        tls::plain_http_allowed(hub.as_str(), args.insecure_http).map_err(|e| AgentError::Config(e.to_string()))?;
        let trust = match (&args.ca_file, &args.pin_sha256) {
            (Some(file), _) => tls::HubTrust::CaFile(file.clone()),
            (None, Some(pin)) => {
                tls::HubTrust::PinSha256(tls::normalize_pin(pin).map_err(|e| AgentError::Config(e.to_string()))?)
            }
            (None, None) => tls::HubTrust::SystemRoots,
        };
        if trust != tls::HubTrust::SystemRoots && hub.scheme() != "https" {
            return Err(AgentError::Config("--ca-file and --pin-sha256 need an https:// --hub".into()));
        }
        let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
        let per_span = DEFAULT_SPOOL_SPAN.as_secs_f64() / args.interval.as_secs_f64();
        let max_samples = args.spool_max_samples.unwrap_or(per_span.ceil() as usize).max(1);
        Ok(Self {
            hub,
            token: args.token.clone(),
            interval: args.interval,
            batch: Duration::from_secs(args.batch_seconds),
            legacy_body: args.legacy_body,
            name: args.name.clone(),
            state_dir,
            spool: SpoolConfig { max_samples, max_bytes: args.spool_max_bytes.max(1024) },
            trust,
            insecure_http: args.insecure_http,
        })
    }
}

/// `$XDG_STATE_HOME/openmanager-agent` when that variable holds an absolute path, else
/// `./agent-state`.
fn default_state_dir() -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME").map(PathBuf::from) {
        Some(base) if base.is_absolute() => base.join("openmanager-agent"),
        _ => PathBuf::from("agent-state"),
    }
}

/// The agent's logging: the config's log defaults, with `OPENMANAGER_LOG` and
/// `OPENMANAGER_LOG_FORMAT` honoured as for the server.
fn log_config() -> LogConfig {
    let mut log = LogConfig::default();
    if let Ok(filter) = std::env::var("OPENMANAGER_LOG") {
        log.filter = filter;
    }
    if std::env::var("OPENMANAGER_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        log.format = LogFormat::Json;
    }
    log
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(args: &AgentArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(args)?;
    let _log_guard = crate::logging::init(&log_config()).context("cannot start logging")?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    // The caller prints a failure to stderr, so it is not logged here as well.
    runtime.block_on(run_agent(settings))
}

async fn run_agent(settings: Settings) -> anyhow::Result<()> {
    let dir = &settings.state_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the state directory {}", dir.display()))?;
    let _lock = lock_state_dir(dir)?;
    let machine_id = identity::machine_id(Path::new(MACHINE_ID_PATH), dir)?;
    // The ring holds only the latest snapshot: the agent sends samples, it keeps no history view.
    let config = CollectorConfig { ring_capacity: 1, ..CollectorConfig::default() };
    let mut collector = Collector::new(ProcSource::new(), config);
    let info = collector.system_info().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the host description; reporting without it");
        SystemInfo::default()
    });
    let name = identity::display_name(settings.name.as_deref(), &info.hostname, &machine_id);
    let agent = AgentIdentity {
        machine_id,
        name,
        hostname: info.hostname.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let spool = Spool::open(dir, settings.spool)?;
    let cancel = CancellationToken::new();
    let agent_checks = checks::AgentChecks::open(dir, cancel.child_token())?;
    let uplink = Uplink::new(&settings.hub, settings.token.expose(), &settings.trust)?;
    if uplink.url().scheme() == "http" && !is_loopback(uplink.url()) {
        // Only reachable with --insecure-http (Settings::from_args refuses it otherwise).
        tracing::warn!(
            insecure_http = settings.insecure_http,
            "the hub URL is plain http: the token and the metrics cross the network unencrypted"
        );
    }
    tracing::info!(
        hub = %uplink.url(),
        machine_id = %agent.machine_id,
        name = %agent.name,
        interval = ?settings.interval,
        spool = %spool.path().display(),
        spool_max_samples = settings.spool.max_samples,
        spool_max_bytes = settings.spool.max_bytes,
        "agent started"
    );
    let mut agent = Agent {
        collector,
        info,
        identity: agent,
        spool,
        uplink,
        backoff: Backoff::new(),
        batch_limit: MAX_SAMPLES_PER_REPORT,
        retry_at: None,
        ip: String::new(),
        ip_checked: None,
        hub: settings.hub.clone(),
        checks: agent_checks,
        batching: Batching::new(settings.batch),
        compact: Compact::new(!settings.legacy_body, settings.batch, settings.interval),
    };
    agent.run_loop(settings.interval, &cancel).await;
    cancel.cancel();
    let unsent = agent.spool.len();
    agent.spool.flush().context("cannot flush the spool at shutdown")?;
    agent.checks.spool.flush().context("cannot flush the checks spool at shutdown")?;
    tracing::info!(unsent, "agent stopped");
    Ok(())
}

/// Takes an exclusive lock on the state directory for the agent's lifetime (released when the
/// returned file is dropped or the process dies): two agents appending to one spool would
/// interleave lines and acknowledge each other's samples.
fn lock_state_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::File::options()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("another agent is already running with the state directory {}", dir.display())
        }
        // A filesystem without locks (some network mounts): carry on rather than refuse to run.
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot lock the state directory")
        }
    }
    Ok(file)
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A report on its way: the request, and what it acknowledges.
struct InFlight {
    request: Pin<Box<dyn Future<Output = Outcome>>>,
    /// The samples' and the check results' acknowledging sequence numbers, when the report has any.
    through_seq: Option<u64>,
    samples: usize,
    checks_through: Option<u64>,
    /// Set for a compact body.
    compact: Option<CompactSent>,
}

/// What woke the run loop.
enum Wake {
    Stop,
    Answer(Outcome),
    Tick,
    CheckResult(probe::CheckResult),
    Retry,
}

struct Agent {
    collector: Collector<ProcSource>,
    info: SystemInfo,
    identity: AgentIdentity,
    spool: Spool,
    uplink: Uplink,
    backoff: Backoff,
    /// Samples per report; halved on 413, grown back on success.
    batch_limit: usize,
    /// When the next attempt may start after a failure; `None` means now.
    retry_at: Option<Instant>,
    ip: String,
    ip_checked: Option<Instant>,
    hub: Url,
    checks: checks::AgentChecks,
    batching: Batching,
    compact: Compact,
}

impl Agent {
    fn has_unsent(&self) -> bool {
        !self.spool.is_empty() || !self.checks.spool.is_empty()
    }

    async fn run_loop(&mut self, interval: Duration, cancel: &CancellationToken) {
        let signal = crate::lifecycle::shutdown::on_signal(cancel.clone());
        tokio::pin!(signal);
        let mut ticker = tokio::time::interval(interval);
        // After a stall, carry on from now rather than firing a burst of catch-up samples.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut in_flight: Option<InFlight> = None;
        loop {
            let now = Instant::now();
            let samples_due = !self.spool.is_empty() && self.batching.due_at().is_some_and(|t| t <= now);
            // Check results go with the next batch of samples, or at once when no sample waits.
            let checks_due = !self.checks.spool.is_empty() && self.spool.is_empty();
            let ready = self.retry_at.is_none_or(|t| t <= now) && (samples_due || checks_due);
            if in_flight.is_none() && ready {
                self.refresh_ip().await;
                in_flight = self.start_report();
            }
            let waiting_to_retry = in_flight.is_none() && self.has_unsent();
            // A back-off wins over the batch time (both only ever delay).
            let retry_at =
                if self.spool.is_empty() { self.retry_at } else { self.retry_at.max(self.batching.due_at()) };
            let wake = tokio::select! {
                biased;
                _ = &mut signal => Wake::Stop,
                _ = cancel.cancelled() => Wake::Stop,
                outcome = answer(&mut in_flight) => Wake::Answer(outcome),
                _ = ticker.tick() => Wake::Tick,
                result = self.checks.next_result() => Wake::CheckResult(result),
                _ = wait_until(retry_at), if waiting_to_retry => Wake::Retry,
            };
            match wake {
                Wake::Stop => break,
                Wake::Answer(outcome) => {
                    if let Some(sent) = in_flight.take() {
                        self.handle(outcome, &sent);
                    }
                }
                Wake::Tick => self.sample(),
                Wake::CheckResult(result) => self.checks.keep(&result),
                Wake::Retry => {}
            }
        }
    }

    fn sample(&mut self) {
        let snapshot = match self.collector.sample() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "reading host metrics failed; skipping this interval");
                return;
            }
        };
        let sample = sampler::to_sample(snapshot);
        if sample.values.is_empty() {
            return;
        }
        if let Err(e) = self.spool.push(&sample) {
            tracing::warn!(error = %e, "cannot write the spool file; the sample is kept in memory");
        }
        self.batching.sampled(&sample, self.oldest_ms());
    }

    /// Starts sending the oldest samples, with the current inventory.
    fn start_report(&mut self) -> Option<InFlight> {
        let batch = self.spool.batch(self.batch_limit);
        let check_batch = self.checks.batch(self.batch_limit.min(protocol::MAX_CHECK_RESULTS_PER_REPORT));
        // The compact body carries samples only; check results go in the version 1 body. Either
        // answer tells an agent that has checks which ones (a compact one only when it has any).
        if check_batch.is_none()
            && let Some(batch) = &batch
        {
            let samples = batch.lines.len();
            let (info, latest, ip) = (&self.info, self.collector.latest(), &self.ip);
            let inventory = || sampler::to_inventory(info, latest, ip);
            match self.compact.encode(&self.identity, &batch.lines, inventory, self.checks.hash()) {
                Some(Ok((body, sent))) => {
                    let uplink = self.uplink.clone();
                    tracing::debug!(samples, bytes = body.len(), "sending a compact report");
                    let request = Box::pin(async move { uplink.send_compact(body).await });
                    return Some(InFlight {
                        request,
                        through_seq: Some(batch.through_seq),
                        samples,
                        checks_through: None,
                        compact: Some(sent),
                    });
                }
                Some(Err(e)) => tracing::warn!(error = %e, "cannot encode a compact report; sending version 1"),
                None => {}
            }
        }
        if batch.is_none() && check_batch.is_none() {
            return None;
        }
        let inventory = sampler::to_inventory(&self.info, self.collector.latest(), &self.ip);
        let samples = batch.as_ref().map_or(0, |b| b.lines.len());
        let through_seq = batch.as_ref().map(|b| b.through_seq);
        let checks_through = check_batch.as_ref().map(|b| b.through_seq);
        let lines = batch.map(|b| b.lines).unwrap_or_default();
        let check_lines = check_batch.map(|b| b.lines).unwrap_or_default();
        let hash = self.checks.hash();
        match uplink::encode_report_with_checks(&self.identity, lines, Some(&inventory), check_lines, hash) {
            Ok(body) => {
                let uplink = self.uplink.clone();
                tracing::debug!(samples, bytes = body.len(), "sending a report");
                Some(InFlight {
                    request: Box::pin(async move { uplink.send(body).await }),
                    through_seq,
                    samples,
                    checks_through,
                    compact: None,
                })
            }
            Err(e) => {
                // Cannot happen with in-memory buffers; back off rather than spin if it does.
                tracing::error!(error = %e, "cannot encode a report");
                self.retry_at = Some(Instant::now() + self.backoff.next_delay(false, None));
                None
            }
        }
    }

    fn handle(&mut self, outcome: Outcome, sent: &InFlight) {
        match outcome {
            Outcome::Acked(ack) => {
                if self.backoff.failures() > 0 {
                    tracing::info!(backlog = self.spool.len(), "the hub accepts reports again");
                }
                self.backoff.reset();
                self.retry_at = None;
                self.batch_limit = (self.batch_limit * 2).min(MAX_SAMPLES_PER_REPORT);
                if let Some(c) = &sent.compact {
                    self.compact.acked(c);
                }
                match &ack {
                    _ if sent.compact.is_some() => {
                        tracing::debug!(samples = sent.samples, "compact report delivered")
                    }
                    Some(a) if (a.accepted + a.duplicates) as usize != sent.samples => tracing::warn!(
                        sent = sent.samples,
                        accepted = a.accepted,
                        duplicates = a.duplicates,
                        "the hub acknowledged a different number of samples than were sent"
                    ),
                    Some(a) => tracing::debug!(accepted = a.accepted, duplicates = a.duplicates, "report delivered"),
                    None => tracing::warn!(
                        "the hub answered 200 without a readable acknowledgement; taking it as delivered"
                    ),
                }
                if let Some(a) = ack
                    && let Some(defs) = a.checks
                {
                    self.checks.apply(&a.server_id, defs, a.checks_hash);
                }
                self.remove(sent);
            }
            Outcome::Retry { retry_after, slow, refused, reason } => {
                let delay = self.backoff.next_delay(slow, retry_after);
                self.retry_at = Some(Instant::now() + delay);
                let (failures, backlog) = (self.backoff.failures(), self.spool.len());
                if slow {
                    tracing::error!(%reason, retry_in = ?delay, backlog, "the hub refuses the agent token; keeping the samples and retrying slowly");
                } else if refused {
                    tracing::error!(%reason, retry_in = ?delay, failures, backlog, "the hub refused a report");
                } else {
                    tracing::warn!(%reason, retry_in = ?delay, failures, backlog, "cannot deliver a report; will retry");
                }
            }
            Outcome::Rejected { reason } => {
                // A batch the hub will never accept must not block the spool forever.
                tracing::error!(%reason, dropped = sent.samples, "the hub rejected a report as invalid; dropping its samples");
                self.remove(sent);
            }
            Outcome::Resync if sent.compact.as_ref().is_some_and(|c| self.compact.resync(c)) => {
                tracing::debug!("the hub asks for a whole report; resending");
            }
            Outcome::Resync => {
                let delay = self.backoff.next_delay(false, None);
                self.retry_at = Some(Instant::now() + delay);
                tracing::warn!(retry_in = ?delay, "the hub keeps asking for a whole report; will retry");
            }
            Outcome::Unsupported { reason } => {
                self.compact.enabled = false;
                tracing::warn!(%reason, "the hub does not take the compact body; sending version 1 from now on");
            }
            Outcome::TooLarge if sent.samples <= 1 => {
                tracing::error!("the hub refuses even a single sample as too large; dropping it");
                self.remove(sent);
            }
            Outcome::TooLarge => {
                self.batch_limit = (self.batch_limit / 2).max(1);
                tracing::warn!(
                    batch_limit = self.batch_limit,
                    "the hub found a report too large; sending fewer samples at a time"
                );
            }
        }
    }

    /// Removes what `sent` carried from both spools.
    fn remove(&mut self, sent: &InFlight) {
        if let Some(through_seq) = sent.through_seq
            && let Err(e) = self.spool.ack(through_seq)
        {
            tracing::warn!(error = %e, "cannot compact the spool file; it will be rewritten later");
        }
        if let Some(through_seq) = sent.checks_through {
            self.checks.ack(through_seq);
        }
        self.batching.sent(self.oldest_ms());
    }

    /// The oldest unsent sample's time.
    fn oldest_ms(&self) -> Option<i64> {
        let batch = self.spool.batch(1)?;
        let line = batch.lines.first()?;
        // A line that does not parse is sent at once, for the hub to judge.
        Some(serde_json::from_str::<protocol::Sample>(line).map_or(0, |s| s.timestamp_ms))
    }

    /// Looks up the local address the hub is reached from (a UDP "connect" sends nothing) for the
    /// inventory, at start and every [`IP_REFRESH`].
    async fn refresh_ip(&mut self) {
        if self.ip_checked.is_some_and(|t| t.elapsed() < IP_REFRESH) {
            return;
        }
        self.ip_checked = Some(Instant::now());
        let (Some(host), Some(port)) = (self.hub.host_str(), self.hub.port_or_known_default()) else { return };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let lookup = async {
            let addr = tokio::net::lookup_host((host.as_str(), port)).await.ok()?.next()?;
            let bind: std::net::SocketAddr = if addr.is_ipv4() { ([0u8; 4], 0).into() } else { ([0u16; 8], 0).into() };
            let socket = tokio::net::UdpSocket::bind(bind).await.ok()?;
            socket.connect(addr).await.ok()?;
            Some(socket.local_addr().ok()?.ip().to_string())
        };
        if let Ok(Some(ip)) = tokio::time::timeout(Duration::from_secs(2), lookup).await {
            self.ip = ip;
        }
    }
}

async fn answer(in_flight: &mut Option<InFlight>) -> Outcome {
    match in_flight {
        Some(f) => f.request.as_mut().await,
        None => std::future::pending().await,
    }
}

async fn wait_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_interval("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_interval("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval(" 2 s "), Ok(Duration::from_secs(2)));
        for bad in ["", "s", "5x", "0", "50ms", "2h", "-1s", "1e3"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
