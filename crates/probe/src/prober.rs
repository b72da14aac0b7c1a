//! The [`Prober`]: what the probes share (TLS roots and configurations, the HTTP User-Agent, where
//! the system resolver is), built once; `probe` dispatches a check to its kind's probe under the
//! check's timeout. It holds no concurrency limit of its own: the [`Runner`](crate::Runner) bounds
//! how many probes run at once, and every scheduled or on-demand run goes through it.

use std::path::PathBuf;
use std::time::Instant;

use rustls::pki_types::CertificateDer;

use reqwest::header::HeaderValue;

use crate::check::{Check, Plan};
use crate::result::Outcome;
use crate::runner::Execute;
use crate::tls::{TlsContext, TlsSetupError};
use crate::{dns, http, ping, tcp, tls};

/// How to build a [`Prober`].
#[derive(Debug, Clone)]
pub struct ProberConfig {
    /// Trust the system's CA store (/etc/ssl/certs). Tests turn it off to trust only their own CA.
    pub system_roots: bool,
    /// Further CA certificates to trust (for example the hub's `tls.ca_roots`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Where `dns` checks without a resolver find theirs.
    pub resolv_conf: PathBuf,
    /// Sent by `http` checks that set no User-Agent header.
    pub user_agent: String,
}

impl Default for ProberConfig {
    fn default() -> Self {
        Self {
            system_roots: true,
            extra_roots: Vec::new(),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            user_agent: concat!("OpenManager-Probe/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Why a [`Prober`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

/// Runs probes. Cheap to share behind an `Arc`; build one per process.
#[derive(Debug)]
pub struct Prober {
    tls: TlsContext,
    /// Parsed once rather than per probe (`None`: not a valid header value, so none is sent).
    user_agent: Option<HeaderValue>,
    resolv_conf: PathBuf,
}

impl Prober {
    pub fn new(config: ProberConfig) -> Result<Self, SetupError> {
        // HTTP/2 when the server offers it, as a browser would see the site.
        let tls =
            TlsContext::new(config.system_roots, &config.extra_roots, vec![b"h2".to_vec(), b"http/1.1".to_vec()])?;
        let user_agent = HeaderValue::from_str(&config.user_agent).ok();
        Ok(Self { tls, user_agent, resolv_conf: config.resolv_conf })
    }

    /// Runs `check` once, bounded by its timeout. Not limited in concurrency: schedule through the
    /// runner (which is) unless this is a one-off.
    pub async fn probe(&self, check: &Check) -> Outcome {
        let started = Instant::now();
        let run = async {
            match &check.plan {
                Plan::Http(plan) => http::probe(&self.tls, self.user_agent.as_ref(), plan, started).await,
                Plan::Tcp(target) => tcp::probe(target, started).await,
                Plan::Ping(host) => ping::probe(host, started).await,
                Plan::Dns(plan) => dns::probe(plan, &self.resolv_conf, started).await,
                Plan::Tls(plan) => tls::probe(&self.tls, plan, started).await,
            }
        };
        match tokio::time::timeout(check.timeout(), run).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::down(started.elapsed(), format!("timed out after {} ms", check.def.timeout_ms)),
        }
    }
}

impl Execute for Prober {
    async fn execute(&self, check: &Check) -> Outcome {
        self.probe(check).await
    }
}
