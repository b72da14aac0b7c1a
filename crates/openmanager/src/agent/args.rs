//! `openmanager agent`'s command line: where to report, how often, and where to keep state.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::Secret;

/// `openmanager agent`: where to report, how often, and where to keep state.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The hub's base URL, e.g. https://hub.example.com.
    #[arg(long, env = "OPENMANAGER_HUB", value_name = "URL")]
    pub hub: String,
    /// The agent token the hub issued (sent as a bearer token).
    #[arg(long, env = "OPENMANAGER_AGENT_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub token: Secret,
    /// Sampling interval: "5s", "500ms", "1m" or plain seconds.
    #[arg(long, default_value = "5s", value_parser = super::parse_interval)]
    pub interval: Duration,
    /// Seconds between reports (samples are still taken every interval); a sample that changes the
    /// status (warning above 80% CPU or memory, critical above 90%) is sent at once. 0 sends each sample.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub batch_seconds: u64,
    /// Always send the version 1 body (whole samples and the inventory every report), as older agents do.
    #[arg(long)]
    pub legacy_body: bool,
    /// The name the hub shows (default: the hostname).
    #[arg(long)]
    pub name: Option<String>,
    /// Where the machine id and the spool live (default: $XDG_STATE_HOME/openmanager-agent, else ./agent-state).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Most samples kept while the hub is unreachable (default: 24 hours at the interval).
    #[arg(long, value_name = "N")]
    pub spool_max_samples: Option<usize>,
    /// Most bytes of samples kept while the hub is unreachable; the oldest are dropped beyond it.
    #[arg(long, value_name = "BYTES", default_value_t = super::DEFAULT_SPOOL_MAX_BYTES)]
    pub spool_max_bytes: usize,
    /// Trust only the CAs in this PEM file for an https:// hub (default: the system's CA store).
    #[arg(long, value_name = "FILE", conflicts_with = "pin_sha256")]
    pub ca_file: Option<PathBuf>,
    /// Trust exactly the hub certificate with this SHA-256 fingerprint (the hub's self-signed
    /// certificate; `openmanager tls status` on the hub prints it).
    #[arg(long, value_name = "HEX")]
    pub pin_sha256: Option<String>,
    /// Allow sending the token over plain http:// to a hub that is not on this host (warned at
    /// every start).
    #[arg(long)]
    pub insecure_http: bool,
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    if s.trim().is_empty() { Err("must not be empty".into()) } else { Ok(Secret::new(s.trim())) }
}
