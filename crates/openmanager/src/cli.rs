//! The command line: `serve` (the default), `check-config`, `agent`, `install`, `backup`, `version`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Flags, Secret};

#[derive(Debug, Parser)]
#[command(
    name = "openmanager",
    version,
    about = "OpenManager Backend: monitoring, AI gateway and MCP server in one binary"
)]
pub struct Cli {
    /// TOML configuration file (default: $OPENMANAGER_CONFIG, else ./openmanager.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Load and validate the configuration, print it with secrets masked, and exit (non-zero on error).
    CheckConfig(ServeArgs),
    /// Run as an agent: collect this host's metrics and push them to a hub.
    Agent(AgentArgs),
    /// Write (or print) the systemd units and environment file, and print the VM set-up advice.
    Install(InstallArgs),
    /// Create, list, verify or restore database backups.
    Backup(BackupArgs),
    /// Print the version.
    Version,
}

/// Flags that override the file and the environment.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides HOST).
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one (overrides PORT).
    #[arg(long)]
    pub port: Option<String>,
    /// Data directory (overrides OPENMANAGER_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

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
    #[arg(long, default_value = "5s", value_parser = crate::agent::parse_interval)]
    pub interval: Duration,
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
    #[arg(long, value_name = "BYTES", default_value_t = crate::agent::DEFAULT_SPOOL_MAX_BYTES)]
    pub spool_max_bytes: usize,
}

/// `openmanager install`: where the units go and what they run.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Print the files to stdout instead of writing them.
    #[arg(long)]
    pub print: bool,
    /// Root to write under (files go to PREFIX/etc/systemd/system and PREFIX/etc/openmanager).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub prefix: PathBuf,
    /// The binary `ExecStart=` runs (default: this executable).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// The system user the service runs as.
    #[arg(long, value_name = "NAME", default_value = "openmanager")]
    pub user: String,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
    /// Port, host and data directory the units are written for (default: the configuration's).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `openmanager backup ...`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Data directory (overrides the configuration and OPENMANAGER_DATA_DIR).
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a consistent copy now (safe while a server is serving) into <data_dir>/backups.
    Create,
    /// List the backups with their time and size.
    List,
    /// Check a backup's checksum, integrity and schema version.
    Verify {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Replace the database with a verified backup (the server must be stopped).
    Restore {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    if s.trim().is_empty() { Err("must not be empty".into()) } else { Ok(Secret::new(s.trim())) }
}

impl Cli {
    pub fn flags(&self, args: &ServeArgs) -> Flags {
        Flags {
            config: self.config.clone(),
            host: args.host.clone(),
            port: args.port.clone(),
            data_dir: args.data_dir.clone(),
        }
    }
}
