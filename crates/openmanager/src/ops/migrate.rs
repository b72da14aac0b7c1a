//! `openmanager migrate --from sqlite://... --to postgres://...`: copy an embedded history (raw
//! samples, rollups, watermarks, kv state such as alert rules and issued tokens) into another
//! store, with `store::copy_store`. Resumable (a second run skips what an interrupted one
//! finished) and checked: counts are compared at the end and a difference is a failure.

use std::path::Path;

use anyhow::{Context, anyhow, bail};

use crate::cli::{Cli, MigrateArgs, ServeArgs};
use crate::config;

pub fn run(cli: &Cli, args: &MigrateArgs) -> anyhow::Result<()> {
    let loaded = config::load(&cli.flags(&ServeArgs::default())).map_err(|e| anyhow!("{e}"))?;
    let (from, to) = (args.from.trim(), args.to.trim());
    let (src, dst) = (store::DatabaseUrl::parse(from)?, store::DatabaseUrl::parse(to)?);
    if src == dst {
        bail!("--from and --to name the same database ({src})");
    }
    // A typo must not create (and copy) an empty database: the source has to exist.
    if let store::DatabaseUrl::Sqlite(path) = &src {
        refuse_if_served(path)?;
        if !path.is_file() {
            bail!("the source database {} does not exist", path.display());
        }
    }
    let cwd = std::env::current_dir()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let cfg = || super::database::store_config(&loaded.config, &cwd);
        let source = super::database::open_url(from, cfg(), &cwd).await.context("source")?;
        let target = super::database::open_url(to, cfg(), &cwd).await.context("target")?;
        eprintln!("copying {src} into {dst}");
        let mut last = String::new();
        let outcome = store::copy_store(&source, &target, |p| {
            // One line per server and phase, not per batch.
            let line = format!("{} {}", p.server, p.phase);
            if line != last {
                eprintln!("  {line}");
                last = line;
            }
        })
        .await;
        let closed = (source.close().await, target.close().await);
        let report = outcome.map_err(|e| anyhow!("copy failed (run the same command again to resume): {e}"))?;
        closed.0?;
        closed.1?;
        println!("{report}");
        if !report.ok() {
            bail!("counts differ between source and target (run again to resume, or investigate)");
        }
        Ok(())
    })
}

/// A hub serving this file would keep writing while it is copied: refuse while its data
/// directory's lock is held.
fn refuse_if_served(db: &Path) -> anyhow::Result<()> {
    let Some(dir) = db.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d }) else {
        return Ok(());
    };
    if !dir.join(super::lock::LOCK_FILE).exists() {
        return Ok(());
    }
    match super::lock::lock_data_dir(dir) {
        Ok(lock) => {
            drop(lock);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            bail!("a server is using {} ({e}); stop it first, then migrate", dir.display())
        }
        Err(_) => Ok(()),
    }
}
