//! `openmanager tls status`: the certificate the configured `[tls]` mode serves, read from the files
//! (the data directory, or `tls.cert_path` in `files` mode), so it works whether or not a server runs.

use anyhow::anyhow;

use crate::cli::{Cli, ServeArgs, TlsArgs, TlsCommand};
use crate::config;

pub fn run(cli: &Cli, args: &TlsArgs) -> anyhow::Result<()> {
    let serve = ServeArgs { data_dir: args.data_dir.clone(), ..ServeArgs::default() };
    let loaded = config::load(&cli.flags(&serve)).map_err(|e| anyhow!("{e}"))?;
    let data_dir = std::path::absolute(&loaded.config.server.data_dir)?;
    match args.command {
        TlsCommand::Status { json } => {
            let status = tls::offline_status(&loaded.config.tls, &data_dir);
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", render(&status));
            }
        }
    }
    Ok(())
}

/// The status as `key: value` lines, absent values left out.
pub fn render(s: &tls::Status) -> String {
    let mut out = format!("mode: {}\nstate: {}\n", s.mode, s.state.as_str());
    if !s.identifiers.is_empty() {
        out.push_str(&format!("identifiers: {}\n", s.identifiers.join(", ")));
    }
    let lines = [
        ("issuer", s.issuer.clone()),
        ("not before", s.not_before.map(|t| t.to_string())),
        ("not after", s.not_after.map(|t| t.to_string())),
        ("serial", s.serial.clone()),
        ("sha256", s.sha256.clone()),
        ("next renewal", s.next_renewal.map(|t| t.to_string())),
        ("last error", s.last_error.clone()),
        ("last error at", s.last_error_at.map(|t| t.to_string())),
    ];
    for (key, value) in lines {
        if let Some(v) = value {
            out.push_str(&format!("{key}: {v}\n"));
        }
    }
    if s.mode == tls::Mode::Acme {
        out.push_str(&format!("renewals: {} succeeded, {} failed\n", s.renewals_succeeded, s.renewals_failed));
    }
    if s.mode == tls::Mode::SelfSigned
        && let Some(pin) = &s.sha256
    {
        out.push_str(&format!("agents: openmanager agent --hub https://<this host>:<port> --pin-sha256 {pin}\n"));
    }
    out
}
