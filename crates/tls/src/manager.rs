//! The certificate manager the hub starts once: it loads what is on disk at once (so a restart or a
//! SIGUSR2 successor serves the same certificate from its first handshake), then runs as one
//! supervised task that reloads `files`, renews `acme` certificates, and swaps each new certificate in
//! atomically. Everything the hub needs hangs off the cloneable [`Tls`] handle.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use rustls::ServerConfig;
use rustls::pki_types::CertificateDer;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::certinfo::{CertError, CertInfo, Loaded, load_pair, read_bounded};
use crate::http_client::{GCE_METADATA_BASE, HttpError};
use crate::resolver::{Challenges, Resolver};
use crate::selfsigned;
use crate::serve::{HandshakeLimits, read_head, server_config};
use crate::settings::{Challenge, Identifier, Mode, Settings, SettingsError};
use crate::sniff::http_port_response;
use crate::status::{Backoff, Status};
use crate::store::{self, Record, Store};

/// Why the manager could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("tls.{key}: {cause}")]
    Cert { key: &'static str, cause: CertError },
    #[error("{what}: {cause}")]
    Io { what: String, cause: std::io::Error },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Tuning the hub normally leaves at the defaults; tests shorten the intervals.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL of the GCE metadata server (for `auto-ip`).
    pub metadata_base: String,
    pub metadata_timeout: Duration,
    /// How often files are checked for changes (`files` mode; in `acme` mode, for a certificate
    /// renewed by another process on the same data directory).
    pub reload_interval: Duration,
    /// Retry delays after a failed renewal.
    pub backoff: Backoff,
    /// Bound on one whole ACME issuance.
    pub issue_timeout: Duration,
    /// Bound on waiting for validation, and for the certificate, within an issuance.
    pub poll_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            metadata_base: GCE_METADATA_BASE.to_owned(),
            metadata_timeout: Duration::from_secs(2),
            reload_interval: Duration::from_secs(5),
            backoff: Backoff::default(),
            issue_timeout: Duration::from_secs(300),
            poll_timeout: Duration::from_secs(90),
        }
    }
}

/// What changes while running.
pub(crate) struct Live {
    pub(crate) info: Option<CertInfo>,
    pub(crate) leaf: Option<CertificateDer<'static>>,
    pub(crate) record: Record,
    pub(crate) reloads: u64,
    /// The (cert, key) file versions last loaded or rejected, to notice changes.
    pub(crate) disk: Option<FileVersions>,
    /// Identifiers with `auto-ip` resolved, once it is.
    pub(crate) resolved: Option<Vec<String>>,
    /// A renewal was asked for by [`Tls::renew_now`].
    pub(crate) forced: bool,
}

pub(crate) type FileVersions = (Option<(std::time::SystemTime, u64)>, Option<(std::time::SystemTime, u64)>);

pub(crate) struct Inner {
    pub(crate) settings: Settings,
    pub(crate) options: Options,
    pub(crate) store: Store,
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) server_config: Arc<ServerConfig>,
    pub(crate) live: Mutex<Live>,
    pub(crate) wake: Notify,
}

/// The hub's certificate manager: cheap to clone, shared by the accept loops, the plain-HTTP port,
/// health, metrics and the supervised task ([`Tls::run`]).
#[derive(Clone)]
pub struct Tls {
    pub(crate) inner: Arc<Inner>,
}

impl Tls {
    /// Checks `settings`, prepares `<data_dir>/tls/` and loads the certificate on disk: the `files`
    /// pair (an error if it is unusable), the kept self-signed certificate (generated now if there is
    /// none), or the last ACME certificate (issuance itself happens in [`Tls::run`]).
    pub async fn new(settings: Settings, data_dir: &Path, options: Options) -> Result<Self, TlsError> {
        settings.check()?;
        let store = Store::new(data_dir);
        if settings.mode != Mode::Off {
            store.ensure().map_err(|source| TlsError::Io { what: store.dir().display().to_string(), cause: source })?;
        }
        let resolver = Arc::new(Resolver::new(Arc::new(Challenges::default())));
        let acme_alpn = settings.mode == Mode::Acme && settings.challenge == Challenge::TlsAlpn01;
        let server_config = server_config(resolver.clone(), acme_alpn)?;
        let record = if settings.mode == Mode::Acme {
            store.read_json(store::STATE).unwrap_or_default()
        } else {
            Record::default()
        };
        let live = Live { info: None, leaf: None, record, reloads: 0, disk: None, resolved: None, forced: false };
        let tls = Tls {
            inner: Arc::new(Inner {
                settings,
                options,
                store,
                resolver,
                server_config,
                live: Mutex::new(live),
                wake: Notify::new(),
            }),
        };
        tls.load_initial().await?;
        Ok(tls)
    }

    async fn load_initial(&self) -> Result<(), TlsError> {
        let settings = &self.inner.settings;
        match settings.mode {
            Mode::Off => Ok(()),
            Mode::Files => {
                let (cert, key) = self.files_paths();
                let versions = (Store::signature(&cert), Store::signature(&key));
                let loaded = load_files(&cert, &key)?;
                tracing::info!(
                    serial = %loaded.info.serial, not_after = %loaded.info.not_after, identifiers = ?loaded.info.identifiers,
                    "TLS certificate loaded from tls.cert_path"
                );
                self.install(loaded, Some(versions));
                Ok(())
            }
            Mode::SelfSigned => {
                let names = self.resolve_identifiers().await?;
                let store = &self.inner.store;
                let (loaded, generated) = selfsigned::load_or_generate(store, &names)
                    .map_err(|source| TlsError::Cert { key: "mode", cause: source })?;
                tracing::info!(
                    sha256 = %loaded.info.sha256, identifiers = ?loaded.info.identifiers, generated,
                    "self-signed TLS certificate; agents can trust it with --pin-sha256 {}", loaded.info.sha256
                );
                self.install(loaded, None);
                Ok(())
            }
            Mode::Acme => {
                self.reload_acme_from_disk();
                Ok(())
            }
        }
    }

    /// The rustls configuration for the HTTPS port (its resolver is this manager's).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.inner.server_config.clone()
    }

    /// The certificate resolver (also inside [`Tls::server_config`]).
    pub fn resolver(&self) -> Arc<Resolver> {
        self.inner.resolver.clone()
    }

    /// The pending challenge answers.
    pub fn challenges(&self) -> Arc<Challenges> {
        self.inner.resolver.challenges().clone()
    }

    /// The key authorization to answer `GET <path>` with on the plain-HTTP port, if `path` is a
    /// pending http-01 challenge.
    pub fn http01_response(&self, path: &str) -> Option<String> {
        self.inner.resolver.challenges().http01_response(path)
    }

    /// The whole answer on the plain-HTTP port for a request head: an http-01 answer or a redirect to
    /// `https://host[:https_port]/path`.
    pub fn http_port_response(&self, head: &[u8], https_port: u16) -> Vec<u8> {
        http_port_response(head, https_port, self.inner.resolver.challenges())
    }

    /// Serves one connection of the plain-HTTP port: reads the request head (within `limits.timeout`
    /// and `limits.max_request_head`), answers [`Tls::http_port_response`], and closes.
    pub async fn answer_http_port(
        &self,
        mut tcp: tokio::net::TcpStream,
        https_port: u16,
        limits: &HandshakeLimits,
    ) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let work = async {
            let head = read_head(&mut tcp, limits.max_request_head).await?;
            tcp.write_all(&self.http_port_response(&head, https_port)).await?;
            tcp.shutdown().await
        };
        tokio::time::timeout(limits.timeout, work).await.unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Status now.
    pub fn status(&self) -> Status {
        self.status_at(Timestamp::now())
    }

    /// Status as it would be at `now` (the state depends on the time).
    pub fn status_at(&self, now: Timestamp) -> Status {
        let live = self.live();
        let configured = live.resolved.clone().unwrap_or_else(|| self.inner.settings.identifiers.clone());
        Status::build(self.inner.settings.mode, live.info.as_ref(), &configured, &live.record, live.reloads, now)
    }

    /// Asks the running task to renew (`acme`) or reload (`files`) now, without waiting for the
    /// schedule or a back-off.
    pub fn renew_now(&self) {
        self.live().forced = true;
        self.inner.wake.notify_one();
    }

    /// The supervised task: reloads `files`, renews `acme`, and otherwise waits. Returns when `cancel`
    /// fires; `heartbeat` is called at least every reload interval.
    pub async fn run(&self, cancel: CancellationToken, heartbeat: impl Fn() + Send + Sync) -> Result<(), TlsError> {
        match self.inner.settings.mode {
            Mode::Acme => self.run_acme(&cancel, &heartbeat).await,
            Mode::Files => loop {
                heartbeat();
                let forced = std::mem::take(&mut self.live().forced);
                self.reload_files(forced);
                if self.pause(&cancel, self.inner.options.reload_interval).await {
                    return Ok(());
                }
            },
            Mode::Off | Mode::SelfSigned => loop {
                heartbeat();
                if self.pause(&cancel, self.inner.options.reload_interval).await {
                    return Ok(());
                }
            },
        }
    }

    /// Waits `d`, or less if woken; true when cancelled.
    pub(crate) async fn pause(&self, cancel: &CancellationToken, d: Duration) -> bool {
        tokio::select! {
            _ = cancel.cancelled() => true,
            _ = tokio::time::sleep(d) => false,
            _ = self.inner.wake.notified() => false,
        }
    }

    pub(crate) fn live(&self) -> MutexGuard<'_, Live> {
        // A panic while holding this lock cannot leave it inconsistent in a way that matters more
        // than stopping TLS would: keep going with the data as it is.
        self.inner.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Serves `loaded` from the next handshake on.
    pub(crate) fn install(&self, loaded: Loaded, versions: Option<FileVersions>) {
        let leaf = loaded.key.cert.first().cloned();
        self.inner.resolver.set(loaded.key);
        let mut live = self.live();
        live.info = Some(loaded.info);
        live.leaf = leaf;
        if versions.is_some() {
            live.disk = versions;
        }
    }

    fn files_paths(&self) -> (PathBuf, PathBuf) {
        let s = &self.inner.settings;
        (s.cert_path.clone().unwrap_or_default(), s.key_path.clone().unwrap_or_default())
    }

    /// `files` mode: loads the pair again if either file changed; a bad pair keeps the old
    /// certificate and says why (in the log and in status).
    fn reload_files(&self, forced: bool) {
        let (cert, key) = self.files_paths();
        let versions = (Store::signature(&cert), Store::signature(&key));
        if !forced && self.live().disk == Some(versions) {
            return;
        }
        let outcome = load_files(&cert, &key).map_err(|e| e.to_string()).and_then(|loaded| {
            let now = Timestamp::now();
            let current_valid = self.live().info.as_ref().is_some_and(|c| c.not_after > now);
            if loaded.info.not_after <= now && current_valid {
                Err(format!("the new certificate expired at {}", loaded.info.not_after))
            } else {
                Ok(loaded)
            }
        });
        match outcome {
            Ok(loaded) => {
                tracing::info!(
                    serial = %loaded.info.serial, not_after = %loaded.info.not_after,
                    "TLS certificate reloaded from tls.cert_path"
                );
                self.install(loaded, Some(versions));
                let mut live = self.live();
                live.reloads += 1;
                live.record.last_error = None;
                live.record.last_attempt_failed = false;
            }
            Err(why) => {
                tracing::warn!(error = %why, cert = %cert.display(), key = %key.display(), "new TLS files not used; keeping the current certificate");
                let mut live = self.live();
                live.disk = Some(versions);
                live.record.last_error = Some(why);
                live.record.last_error_at = Some(Timestamp::now());
            }
        }
    }

    /// `acme` mode: picks up the certificate on disk if it changed (written by this process before a
    /// restart, or by another process on the same data directory). Returns whether it changed.
    pub(crate) fn reload_acme_from_disk(&self) -> bool {
        let store = &self.inner.store;
        let (cert, key) = (store.path(store::ACME_CERT), store.path(store::ACME_KEY));
        let versions = (Store::signature(&cert), Store::signature(&key));
        if versions.0.is_none() || self.live().disk == Some(versions) {
            return false;
        }
        match load_files(&cert, &key) {
            Ok(loaded) => {
                let same = self.live().info.as_ref().is_some_and(|c| c.sha256 == loaded.info.sha256);
                if !same {
                    tracing::info!(serial = %loaded.info.serial, not_after = %loaded.info.not_after, "ACME certificate loaded from the data directory");
                }
                self.install(loaded, Some(versions));
                if let Some(record) = store.read_json::<Record>(store::STATE) {
                    self.live().record = record;
                }
                !same
            }
            Err(e) => {
                // Mid-write by another process (key replaced, certificate not yet): try again later.
                tracing::debug!(error = %e, "ACME certificate on disk not loaded");
                self.live().disk = Some(versions);
                false
            }
        }
    }

    /// The configured identifiers with `auto-ip` replaced by the discovered public IP.
    pub(crate) async fn resolve_identifiers(&self) -> Result<Vec<String>, TlsError> {
        if let Some(done) = self.live().resolved.clone() {
            return Ok(done);
        }
        let mut out = Vec::new();
        for id in self.inner.settings.parsed_identifiers()? {
            let value = match id {
                Identifier::AutoIp => {
                    let o = &self.inner.options;
                    let ip = crate::http_client::discover_public_ip(&o.metadata_base, o.metadata_timeout).await?;
                    tracing::info!(ip = %ip, "auto-ip: public IP from the metadata server");
                    ip.to_string()
                }
                other => other.to_string(),
            };
            if !out.contains(&value) {
                out.push(value);
            }
        }
        self.live().resolved = Some(out.clone());
        Ok(out)
    }
}

/// Loads a certificate file and a key file as a checked pair.
pub(crate) fn load_files(cert: &Path, key: &Path) -> Result<Loaded, TlsError> {
    let provider = rustls::crypto::ring::default_provider();
    let cert_pem = read_bounded(cert).map_err(|source| TlsError::Cert { key: "cert_path", cause: source })?;
    let key_pem = read_bounded(key).map_err(|source| TlsError::Cert { key: "key_path", cause: source })?;
    load_pair(&cert_pem, &key_pem, &provider).map_err(|source| TlsError::Cert { key: "cert_path", cause: source })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reason is in the message and not also a `source`: an error chain printed whole (`{:#}`,
    /// as the hub's start-up failure is) would otherwise say it twice.
    #[test]
    fn a_certificate_error_says_its_reason_once() {
        let e = TlsError::Cert { key: "cert_path", cause: CertError::NoCertificate };
        assert_eq!(e.to_string(), "tls.cert_path: no PEM certificate found");
        assert!(std::error::Error::source(&e).is_none());
        let io = TlsError::Io { what: "/x".into(), cause: std::io::Error::other("denied") };
        assert_eq!(io.to_string(), "/x: denied");
        assert!(std::error::Error::source(&io).is_none());
    }
}
