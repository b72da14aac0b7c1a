//! The command line: `serve` (the default), `check-config`, `version`.

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
