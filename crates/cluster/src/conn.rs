//! The connections to Redis: a few multiplexed, self-reconnecting connections (redis-rs'
//! `ConnectionManager`) shared round-robin, TLS through rustls with the `ring` provider, every call
//! bounded in time and in number, and its outcome fed to the health state, which short-circuits
//! calls while Redis is down. The bus opens its own subscriber connection from the same client.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::RwLock;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::{TcpSettings, socket2::TcpKeepalive};
use redis::{FromRedisValue, IntoConnectionInfo, RedisResult};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::Semaphore;

use crate::config::{ClusterConfig, ConfigError, mask_url};
use crate::error::{Error, Result, classify, timed_out};
use crate::health::HealthCell;
use crate::stats::{Counters, bump};

pub(crate) struct Conn {
    client: redis::Client,
    manager_config: ConnectionManagerConfig,
    managers: RwLock<Arc<[ConnectionManager]>>,
    next: AtomicUsize,
    in_flight: Semaphore,
    pub(crate) health: HealthCell,
    pub(crate) counters: Counters,
    /// Whether `Cluster::run` is probing: then callers never wait on a probe themselves.
    pub(crate) maintained: AtomicBool,
    connect_timeout: Duration,
    command_timeout: Duration,
    retry_interval: Duration,
    /// The URL's password (as written and decoded), scrubbed from every error text.
    secrets: Vec<String>,
}

impl Conn {
    /// Builds the client and the (lazy) connections; opens nothing yet. Must run inside a tokio
    /// runtime: the connections' tasks run on it.
    pub(crate) fn new(config: &ClusterConfig) -> Result<Conn, ConfigError> {
        let url = config.parsed_url()?;
        let fail = |key: &str, message: String| ConfigError { key: key.into(), message };
        let masked = mask_url(&config.url);
        let mut secrets: Vec<String> = url.password().map(str::to_owned).into_iter().collect();
        if let Some(p) = url.password() {
            let decoded = percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned();
            if decoded != p {
                secrets.push(decoded);
            }
        }
        let tcp = TcpSettings::default()
            .set_nodelay(true)
            // A peer that vanished (VM gone, network cut) is noticed within these bounds, not after
            // the kernel's ~15 minutes of retransmissions.
            .set_keepalive(
                TcpKeepalive::new().with_time(Duration::from_secs(30)).with_interval(Duration::from_secs(10)),
            )
            .set_user_timeout(config.command_timeout().max(Duration::from_secs(10)));
        let info = url
            .as_str()
            .into_connection_info()
            .map_err(|e| fail("url", format!("{masked}: {}", classify(&e, &secrets))))?
            .set_tcp_settings(tcp);
        // redis-rs builds its rustls ClientConfig with the process default provider. An error only
        // means one is already installed (the hub installs ring at start).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match &config.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| fail("ca_file", format!("{}: {e}", path.display())))?;
                let certs = CertificateDer::pem_slice_iter(&pem).filter(|c| c.is_ok()).count();
                if certs == 0 {
                    return Err(fail("ca_file", format!("{}: no PEM certificate in it", path.display())));
                }
                let tls = redis::TlsCertificates { client_tls: None, root_cert: Some(pem) };
                redis::Client::build_with_tls(info, tls)
            }
            None => redis::Client::open(info),
        }
        .map_err(|e| fail("url", format!("{masked}: {}", classify(&e, &secrets))))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout()))
            .set_response_timeout(Some(config.command_timeout()))
            // One attempt per reconnection: the health gate and `Cluster::run` pace the retries, so
            // no caller waits through a back-off inside the client.
            .set_number_of_retries(0);
        let conn = Conn {
            managers: RwLock::new(Arc::from(Vec::new())),
            next: AtomicUsize::new(0),
            in_flight: Semaphore::new(config.max_in_flight),
            health: HealthCell::new(masked),
            counters: Counters::default(),
            maintained: AtomicBool::new(false),
            connect_timeout: config.connect_timeout(),
            command_timeout: config.command_timeout(),
            retry_interval: config.retry_interval(),
            secrets,
            client,
            manager_config,
        };
        conn.rebuild(config.connections).map_err(|e| fail("url", e.to_string()))?;
        Ok(conn)
    }

    /// Replaces every command connection with a fresh one (lazy: it connects on first use). Used
    /// at start and by the probe while Redis is down, so a connection the client would not reconnect
    /// by itself (an authentication or TLS failure) is retried too.
    fn rebuild(&self, n: usize) -> Result<()> {
        let mut fresh = Vec::with_capacity(n);
        for _ in 0..n {
            let m = ConnectionManager::new_lazy_with_config(self.client.clone(), self.manager_config.clone())
                .map_err(|e| classify(&e, &self.secrets))?;
            fresh.push(m);
        }
        *self.managers.write() = Arc::from(fresh);
        Ok(())
    }

    fn manager(&self) -> Option<ConnectionManager> {
        let all = self.managers.read().clone();
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        all.get(i % all.len().max(1)).cloned()
    }

    /// A command.
    pub(crate) async fn query<T: FromRedisValue + Send>(&self, cmd: &redis::Cmd) -> Result<T> {
        self.exec(false, None, |mut m| async move { cmd.query_async(&mut m).await }).await
    }

    /// A Lua script (EVALSHA, loading it on NOSCRIPT).
    pub(crate) async fn script<T: FromRedisValue + Send>(&self, inv: &redis::ScriptInvocation<'_>) -> Result<T> {
        self.exec(false, None, |mut m| async move { inv.invoke_async(&mut m).await }).await
    }

    /// One call to Redis: gated by health (while down, every call fails at once, except, when
    /// `Cluster::run` is not probing, one per `retry_interval` that goes as the probe), bounded in
    /// number (`max_in_flight`) and in time (connect + command timeouts), its outcome counted and
    /// fed back to health. `on`: this connection rather than the next one in turn.
    async fn exec<T, F, Fut>(&self, force: bool, on: Option<ConnectionManager>, op: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let allowed = self.health.is_up()
            || force
            || (!self.maintained.load(Ordering::Acquire) && self.health.permit(self.retry_interval));
        if !allowed {
            bump(&self.counters.fallbacks, 1);
            return Err(Error::Unavailable(self.health.reason()));
        }
        let Ok(_permit) = self.in_flight.try_acquire() else {
            bump(&self.counters.fallbacks, 1);
            return Err(Error::Busy);
        };
        let Some(m) = on.or_else(|| self.manager()) else {
            return Err(Error::Internal("no connection configured".into()));
        };
        bump(&self.counters.commands, 1);
        // The client bounds the command itself (response timeout) and a connection attempt; this
        // bound covers both in a row (a lazy connection opened by this very call).
        let bound = self.connect_timeout + self.command_timeout;
        let err = match tokio::time::timeout(bound, op(m)).await {
            Ok(Ok(v)) => {
                self.health.mark_up();
                return Ok(v);
            }
            Ok(Err(e)) => classify(&e, &self.secrets),
            Err(_) => timed_out("redis command", bound),
        };
        bump(&self.counters.errors, 1);
        bump(&self.counters.fallbacks, 1);
        if let Error::Unavailable(reason) = &err
            && self.health.mark_down(reason, self.retry_interval)
        {
            bump(&self.counters.outages, 1);
        }
        Err(err)
    }

    /// Checks Redis now, whatever the gate says (the maintenance task's probe). While down, the
    /// connections are replaced first, so this also recovers from failures the client would keep.
    pub(crate) async fn probe(&self, connections: usize) -> Result<()> {
        let was_up = self.health.is_up();
        if !was_up {
            self.rebuild(connections)?;
        }
        // Every connection, so each is open (on this task's runtime) before callers need it.
        let all = self.managers.read().clone();
        for m in all.iter() {
            let ping = |mut c: ConnectionManager| async move { redis::cmd("PING").query_async::<()>(&mut c).await };
            self.exec(true, Some(m.clone()), ping).await?;
        }
        Ok(())
    }

    /// A dedicated subscriber connection for the bus (not one of the command connections), opened
    /// within the connect timeout.
    pub(crate) async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        match tokio::time::timeout(self.connect_timeout, self.client.get_async_pubsub()).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(e)) => Err(classify(&e, &self.secrets)),
            Err(_) => Err(timed_out("redis subscriber connection", self.connect_timeout)),
        }
    }

    pub(crate) fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    pub(crate) fn classify(&self, e: &redis::RedisError) -> Error {
        classify(e, &self.secrets)
    }
}
