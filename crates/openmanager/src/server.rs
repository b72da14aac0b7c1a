//! `openmanager serve`: prepares the data directory and token, starts the background jobs, binds
//! (or takes an inherited socket), serves, and then either drains and exits 0 on SIGTERM/SIGINT,
//! hands over to a new process on SIGUSR2, or stops for the memory guard and exits 1.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::alerts::Alerting;
use crate::analyses::Analyses;
use crate::assistant::facts::HubFacts;
use crate::budget::Budget;
use crate::checks::Checks;
use crate::component_health::Health;
use crate::config::Config;
use crate::events::EventLog;
use crate::fleet::{Fleet, IngestCounters, Thresholds};
use crate::http::state::AppState;
use crate::http::workers::{self, Workers};
use crate::jobs;
use crate::lifecycle::handover::{self, Exec, Inheritance};
use crate::lifecycle::inherited_socket::{Inherited, Origin};
use crate::lifecycle::shutdown::{Signal, Signals, StopRequest, Stopper};
use crate::lifecycle::supervisor::Supervisor;
use crate::lifecycle::systemd;
use crate::ops::lock::DataDirLock;
use crate::services::{self, Services};
use crate::telemetry::Telemetry;
use crate::telemetry::alert_series::AlertSeries;
use crate::telemetry::fleet_series::FleetSeries;
use crate::telemetry::gateway_view::GatewayView;
use crate::telemetry::tls_series::TlsSeries;
use crate::tokens::{self, AdminTokenOrigin, TokenSet};

/// During a hand-over, how long keep-alive connections may stay for one more request (answered with
/// `Connection: close`) before the idle ones are closed; at most `server.shutdown_grace_ms`.
const HANDOVER_LINGER: Duration = Duration::from_secs(5);

/// What `main` takes before any thread starts: the inherited socket, and how to start this program
/// again for a hand-over.
pub struct Start {
    pub inherited: Inherited,
    pub exec: Exec,
}

impl Start {
    /// Nothing inherited; a hand-over re-runs this executable with these arguments.
    pub fn plain() -> Self {
        Start { inherited: Inherited::none(), exec: Exec::capture() }
    }
}

/// How a server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// SIGTERM or SIGINT: drained and stopped (exit 0).
    Stopped,
    /// A successor serves now; this process drained and stopped (exit 0).
    HandedOver,
    /// The memory guard stopped it (exit 1, for the supervisor to restart it).
    MemoryLimit,
}

/// Why the serving loop ended.
enum Ending {
    Stop(Outcome),
    HandOver(handover::Successor),
}

pub async fn run(config: Config, start: Start) -> anyhow::Result<Outcome> {
    // First of all: SIGUSR2's default action would kill a server that is still starting.
    let mut signals = Signals::install().context("cannot install signal handlers")?;
    let Start { inherited, exec } = start;
    for warning in &inherited.warnings {
        tracing::warn!("{warning}");
    }
    // The socket first: a port already in use fails here, before anything is created or started.
    let tls_on = config.tls.mode != tls::Mode::Off;
    let (listener, socket) = match inherited.listener {
        Some(l) => (l, inherited.origin),
        None => {
            let port = if tls_on { config.tls.https_port.unwrap_or(config.server.port) } else { config.server.port };
            let addr = SocketAddr::new(config.server.host, port);
            let l = std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
            (l, Origin::Bound)
        }
    };
    let http_listener = http_port_listener(&config, inherited.http_listener)?;
    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    // One server per data directory; `backup restore` checks the same lock. A hand-over successor
    // shares its predecessor's (see lifecycle/handover.rs).
    let mut lock = take_lock(&data_dir, inherited.handover.is_some())?;
    let (admin_token, origin) = tokens::admin_token(config.auth.admin_token.as_ref().map(|s| s.expose()), &data_dir)?;
    let tokens = TokenSet::new(&admin_token, &config.auth);

    let store = crate::ops::database::open(&config, &data_dir).await?;
    let supervisor = Supervisor::new(CancellationToken::new());
    // Issued tokens work from the first request; a job keeps them current afterwards.
    tokens.set_issued(&crate::tokens::issued::list(&store).await.context("cannot read the issued tokens")?);
    let services = build_services(config, tokens, store, supervisor.clone()).await?;
    let state = AppState::new(services.clone());
    jobs::housekeeping::start(&services, &data_dir);
    jobs::self_monitor::start(&services);
    jobs::budget::start(&services);
    jobs::alerts::start(&services);
    jobs::checks::start(&services);
    jobs::status_page::start(&services);
    jobs::events::start(&services);
    jobs::watchdog::start(&services);
    jobs::tls::start(&services);
    jobs::remote_write::start(&services)?;
    crate::scaleout::start(&services)?;
    crate::http::start_jobs(&state);
    // Kept for the whole run, so the stop channel never closes.
    let (stopper, mut stop_requests) = Stopper::new();
    let load_state = state.clone();
    jobs::memory_guard::start(&services, stopper.clone(), move || jobs::memory_guard::Load {
        open_connections: load_state.open_connections(),
        websocket_clients: load_state.hub.receivers(),
    });
    let app = crate::http::app(&state, crate::mcp::router(&state));

    let local = listener.local_addr()?;
    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    };
    let stop = workers::Stop::default();
    let serving = workers::Serving {
        app,
        table: state.connections.clone(),
        timeouts: workers::Timeouts {
            header: Duration::from_millis(state.config.server.header_timeout_ms),
            idle: Duration::from_millis(state.config.server.idle_timeout_ms),
        },
        stop: stop.clone(),
        tls: None,
    };
    let https_port = listener.local_addr()?.port();
    let limits = tls::HandshakeLimits { timeout: serving.timeouts.header, ..tls::HandshakeLimits::default() };
    let serving = workers::Serving {
        tls: tls_on.then(|| {
            Arc::new(workers::TlsPort::new(tls::Handshaker::new(state.tls.server_config(), https_port, limits)))
        }),
        ..serving
    };
    let server = workers::spawn(&listener, workers, serving).context("cannot start HTTP workers")?;
    let http_port = match &http_listener {
        Some(l) => {
            let socket = l.try_clone().context("cannot use the plain-HTTP port's socket")?;
            let task =
                crate::http::http_port::serve(socket, state.tls.clone(), https_port, limits, stop.accepting.clone());
            tracing::info!(addr = %l.local_addr()?, "plain-HTTP port: ACME http-01 answers and redirects to https://");
            Some(tokio::spawn(task))
        }
        None => None,
    };
    // Ready before saying so: whoever waits for the "listening" line may probe readiness at once.
    // READY=1 goes first: the watchdog pings only once started, and systemd expects READY first.
    systemd::notify_ready();
    state.health.mark_started();
    let pid = std::process::id();
    tracing::info!(addr = %local, socket = socket.as_str(), tls = %state.tls.settings().mode, pid, workers, version = env!("CARGO_PKG_VERSION"), "listening");
    announce_token(&origin, &admin_token, local, tls_on);

    let mut predecessor = inherited.handover;
    let mut pending = None;
    let handover_deadline = Duration::from_millis(state.config.server.handover_timeout_ms);
    let ending = loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Signal::Stop(name) => {
                    tracing::info!(signal = name, "shutting down");
                    break Ending::Stop(Outcome::Stopped);
                }
                Signal::Handover if pending.is_some() => tracing::warn!("SIGUSR2 ignored: a hand-over is already under way"),
                Signal::Handover => match lock.share() {
                    Ok(lock) => {
                        tracing::info!(path = %exec.path.display(), "SIGUSR2 received; starting a successor");
                        let inherit = Inheritance { listener: &listener, http_listener: http_listener.as_ref(), lock };
                        pending = Some(Box::pin(handover::start(&exec, inherit, handover_deadline)));
                    }
                    Err(e) => tracing::error!(error = %e, "hand-over failed: cannot share the data directory lock; this process keeps serving"),
                },
            },
            result = poll_pending(&mut pending) => {
                pending = None;
                match result {
                    Ok(successor) => break Ending::HandOver(successor),
                    Err(e) => {
                        tracing::error!(error = %e, "hand-over failed; this process keeps serving");
                        systemd::notify_status(&format!("hand-over failed at {}: {e}", crate::clock::now_rfc3339()));
                    }
                }
            }
            _ = wait_ready(&state), if predecessor.is_some() => {
                if let Some(channel) = predecessor.take() {
                    match handover::report_ready(channel) {
                        Ok(()) => tracing::info!("told the predecessor we are ready"),
                        Err(e) => tracing::error!(error = %e, "cannot tell the predecessor we are ready; it will stop us"),
                    }
                }
            }
            Some(request) = stop_requests.recv() => match request {
                StopRequest::MemoryLimit => break Ending::Stop(Outcome::MemoryLimit),
            },
        }
    };
    // A hand-over still under way when a stop came: dropping it stops the half-started successor.
    drop(pending);
    drop(stopper);

    let grace = Duration::from_millis(state.config.server.shutdown_grace_ms);
    let outcome = match ending {
        Ending::Stop(outcome) => {
            systemd::notify_stopping();
            // Connections and jobs together; WebSocket sessions watch the jobs' token.
            stop.all();
            supervisor.token().cancel();
            finish_requests(server, grace).await;
            if !supervisor.shutdown(grace).await {
                tracing::warn!("some background jobs did not stop within the grace period");
            }
            // Last: everything acknowledged or queued reaches the disk before exit.
            if let Err(e) = state.store.close().await {
                tracing::error!(error = %e, "closing the store failed");
            }
            outcome
        }
        Ending::HandOver(successor) => {
            let successor = successor.release();
            // No STOPPING=1 from here on: systemd would take it for the service's, now the successor's.
            systemd::notify_main_pid(successor);
            if let Err(e) = lock.set_holder(successor) {
                tracing::warn!(error = %e, "cannot record the successor's pid in the lock file");
            }
            tracing::info!(successor, "the successor is ready; handing over");
            hand_over(&state, &stop, &supervisor, server, grace).await;
            // The successor has the database open and goes on writing; it checkpoints when it closes.
            if let Err(e) = state.store.close_shared().await {
                tracing::error!(error = %e, "closing the store failed");
            }
            Outcome::HandedOver
        }
    };
    if let Some(task) = http_port {
        let _ = tokio::time::timeout(grace, task).await;
    }
    // The lock goes last (a successor keeps holding it through its own handle).
    drop(lock);
    tracing::info!(?outcome, "stopped");
    Ok(outcome)
}

/// The plain-HTTP port's socket (`tls.http_port`, with TLS on): inherited, or bound here.
fn http_port_listener(
    config: &Config,
    inherited: Option<std::net::TcpListener>,
) -> anyhow::Result<Option<std::net::TcpListener>> {
    if config.tls.mode == tls::Mode::Off {
        if inherited.is_some() || config.tls.http_port.is_some() {
            tracing::warn!("tls.http_port is ignored while tls.mode = \"off\"");
        }
        return Ok(None);
    }
    match (inherited, config.tls.http_port) {
        (Some(l), _) => Ok(Some(l)),
        (None, Some(port)) => {
            let addr = SocketAddr::new(config.server.host, port);
            let l = std::net::TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on {addr} (tls.http_port)"))?;
            Ok(Some(l))
        }
        (None, None) => Ok(None),
    }
}

/// Stops taking connections and lets the successor have them, without failing a request: stop
/// accepting (the successor accepts from the same socket), stop the jobs and WebSocket sessions
/// (clients reconnect, to the successor), answer each keep-alive connection's next request with
/// `Connection: close`, then close what is left and let in-flight requests finish.
async fn hand_over(state: &AppState, stop: &workers::Stop, supervisor: &Supervisor, server: Workers, grace: Duration) {
    state.set_draining();
    stop.accepting.cancel();
    if !supervisor.shutdown(grace).await {
        tracing::warn!("some background jobs did not stop within the grace period");
    }
    let deadline = Instant::now() + grace.min(HANDOVER_LINGER);
    while state.open_connections() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open = state.open_connections();
    if open > 0 {
        tracing::info!(open, "closing idle connections");
    }
    stop.serving.cancel();
    finish_requests(server, grace).await;
}

async fn finish_requests(server: Workers, grace: Duration) {
    if server.join(grace).await {
        tracing::info!("in-flight requests finished");
    } else {
        let grace_ms = grace.as_millis() as u64;
        tracing::warn!(grace_ms, "requests still in flight after the grace period; closing them");
    }
}

/// The pending hand-over's result, or never when there is none.
async fn poll_pending<F: Future + Unpin>(pending: &mut Option<F>) -> F::Output {
    match pending {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Resolves once every critical health check passes (a successor reports ready only then).
async fn wait_ready(state: &AppState) {
    while !state.health.ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// This directory's lock: taken, or adopted from the predecessor, whose lock file is our standard
/// input (see lifecycle/handover.rs).
fn take_lock(data_dir: &Path, successor: bool) -> anyhow::Result<DataDirLock> {
    if successor {
        let file = std::io::stdin().as_fd().try_clone_to_owned().map(std::fs::File::from)?;
        return DataDirLock::adopt(data_dir, file)
            .context("cannot take over the data directory lock from the predecessor");
    }
    crate::ops::lock::lock_data_dir(data_dir)
        .with_context(|| format!("the data directory {} is in use", data_dir.display()))
}

/// The domain services, bottom up: telemetry, the fleet (restored from the store), the budget,
/// alerting (rules, silences and channels loaded), analyses, and the AI gateway whose local engine
/// reads the fleet and alerts. Each is complete before the next that needs it is made.
pub async fn build_services(
    config: Config,
    tokens: TokenSet,
    store: store::Store,
    supervisor: Supervisor,
) -> anyhow::Result<Services> {
    let cluster = crate::scaleout::connect(&config).await?;
    let telemetry = Telemetry::new();
    let exporter = telemetry.exporter.clone();
    let counters = IngestCounters {
        reports: exporter.ingest_reports.clone(),
        samples: exporter.ingest_samples.clone(),
        duplicates: exporter.ingest_duplicates.clone(),
    };
    let thresholds = Thresholds {
        warning: config.fleet.warning_threshold,
        critical: config.fleet.critical_threshold,
        offline_after_ms: (config.fleet.offline_after_seconds as i64).saturating_mul(1000),
    };
    let simulation = config.simulation.enabled.then_some(config.simulation.seed);
    // Before the fleet: servers in a window in effect show `maintenance` in every listing.
    let maintenance =
        Arc::new(crate::maintenance::Maintenance::load(&store).await.context("cannot load maintenance windows")?);
    let fleet = Arc::new(Fleet::new(thresholds, simulation, store.clone(), counters, maintenance.clone()));
    fleet.restore().await.context("cannot restore the fleet from the store")?;
    let budget = Arc::new(Budget::new(&config.budget));
    let alerting = Arc::new(
        Alerting::load(&store, &config.alerts, budget.egress.outbound("notify"))
            .await
            .context("cannot load alert rules and channels")?,
    );
    let status_page = Arc::new(
        crate::status_page::StatusPage::load(&store, &config.status_page)
            .await
            .context("cannot load the status page")?,
    );
    let checks =
        Arc::new(Checks::load(&store, &config.checks, maintenance.clone()).await.context("cannot load checks")?);
    let analyses = Arc::new(Analyses::new(fleet.clone(), supervisor.clone()));
    let events = Arc::new(EventLog::default());
    let gateway_view = Arc::new(GatewayView::default());
    let facts = Arc::new(HubFacts {
        fleet: fleet.clone(),
        alerting: alerting.clone(),
        budget: budget.clone(),
        events: events.clone(),
        checks: checks.clone(),
        gateway: gateway_view.clone(),
    });
    let local_engine = Arc::new(ai::EngineBackend::new(facts));
    // The certificate on disk is loaded now, so the first handshake (a hand-over successor's too)
    // serves it; issuance and renewal run in the `tls` job.
    let tls = tls::Tls::new(config.tls.clone(), &config.server.data_dir, tls::Options::default())
        .await
        .context("cannot start TLS")?;
    let gateway =
        ai::Router::new_counted(&config.ai, local_engine.clone(), budget.egress.outbound("ai")).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|(k, r)| format!("`{k}`: {r}")).collect();
            anyhow::anyhow!("invalid AI configuration:\n{}", lines.join("\n"))
        })?;
    exporter.with_registry(|r| {
        gateway.metrics().register(r.sub_registry_with_prefix("openmanager"));
        r.register_collector(Box::new(FleetSeries(fleet.clone())));
        r.register_collector(Box::new(TlsSeries(tls.clone())));
        r.register_collector(Box::new(crate::telemetry::check_series::CheckSeries(checks.clone())));
        r.register_collector(Box::new(AlertSeries {
            alerting: alerting.clone(),
            gateway: gateway.clone(),
            budget: budget.clone(),
        }));
    });
    Ok(Services::new(services::Inner {
        tls,
        config,
        tokens,
        started: Instant::now(),
        health: Health::default(),
        telemetry,
        supervisor,
        store,
        fleet,
        alerting,
        checks,
        maintenance,
        status_page,
        budget,
        analyses,
        events,
        gateway,
        local_engine,
        gateway_view,
        cluster,
    }))
}

/// Says once where the admin token is. Like Jupyter, a first start on a terminal also prints the
/// sign-in URL with the token; that goes to the terminal only, never to a log.
fn announce_token(origin: &AdminTokenOrigin, token: &str, local: SocketAddr, https: bool) {
    let host = if local.ip().is_unspecified() { "127.0.0.1".to_string() } else { local.ip().to_string() };
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    let scheme = if https { "https" } else { "http" };
    let url = format!("{scheme}://{host}:{}/", local.port());
    match origin {
        AdminTokenOrigin::Generated(path) => {
            tracing::info!(file = %path.display(), dashboard = %url, "generated an admin token and saved it (mode 0600); it will not be logged");
            if std::io::stderr().is_terminal() {
                eprintln!("\n    Sign in to the dashboard at:\n        {url}?token={token}\n");
            }
        }
        AdminTokenOrigin::File(path) => {
            tracing::info!(file = %path.display(), dashboard = %url, "admin token is in the data directory")
        }
        AdminTokenOrigin::Configured => {}
    }
}
