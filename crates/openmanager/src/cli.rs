//! The command line: `serve` (the default), `check-config`, `agent`, `install`, `backup`, `token`,
//! `tls`, `migrate`, `version`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Flags;

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
    Agent(crate::agent::AgentArgs),
    /// Write (or print) the systemd units and environment file, and print the VM set-up advice.
    Install(InstallArgs),
    /// Create, list, verify or restore database backups.
    Backup(BackupArgs),
    /// Create, list or revoke API tokens (kept hashed in the store; a running server picks up a
    /// change within seconds, no restart).
    Token(TokenArgs),
    /// The HTTPS certificate: `tls status` shows mode, identifiers, issuer, expiry, next renewal and
    /// the last error, read from the data directory (works with or without a running server).
    Tls(TlsArgs),
    /// Copy the history and state from one database to another, e.g. the embedded SQLite file into
    /// PostgreSQL before running several hubs (resumable; counts checked at the end).
    Migrate(MigrateArgs),
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
    /// HTTPS on 443 and 80 through the socket unit (no root, no capability), with an ACME
    /// certificate for the VM's public IP; prints the firewall rule for both ports.
    #[arg(long)]
    pub https: bool,
    /// Port, host and data directory the units are written for (default: the configuration's).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `openmanager migrate --from URL --to URL`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database to copy from: `sqlite://PATH` (the hub must be stopped) or `postgres://...`.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The database to copy into: `postgres://...` (or `sqlite://PATH`).
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// `openmanager token ...`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Data directory (overrides the configuration and OPENMANAGER_DATA_DIR).
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once (only its SHA-256 is kept).
    Create {
        /// A name to list and revoke it by: letters, digits, `-`, `_`, `.`.
        #[arg(long)]
        name: String,
        /// What it may do (repeat for several): read, write, ingest, admin.
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<crate::config::Scope>,
    },
    /// List issued tokens (names, scopes, when made; never the tokens).
    List,
    /// Revoke the token with this name.
    Revoke {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

fn parse_scope(s: &str) -> Result<crate::config::Scope, String> {
    serde_json::from_value(serde_json::Value::String(s.to_lowercase()))
        .map_err(|_| format!("`{s}` is not a scope (read, write, ingest, admin)"))
}

/// `openmanager tls ...`.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Data directory (overrides the configuration and OPENMANAGER_DATA_DIR).
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: TlsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Show the certificate the configured mode serves (add --json for the machine-readable form).
    Status {
        #[arg(long)]
        json: bool,
    },
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
