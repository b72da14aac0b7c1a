//! Opening the history store as the server and the commands that share its data do: the embedded
//! SQLite file from the configuration (the default, with the settings that suit a 1 GB machine),
//! or the database `database.url` names (`OPENMANAGER_DATABASE_URL`: PostgreSQL for several hubs).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, Durability};

/// The store's configuration before a URL is applied: the embedded path in `data_dir`, the
/// durability asked for, the pool knobs.
pub fn store_config(config: &Config, data_dir: &Path) -> store::Config {
    let path = data_dir.join(&config.store.path);
    let mut cfg = store::Config::new(&path);
    cfg.durability = match config.store.durability {
        Durability::Full => store::Durability::Full,
        Durability::Normal => store::Durability::Normal,
    };
    // A small page cache per connection: the VM has 1 GB and the OS caches the file anyway.
    cfg.cache_kib = 2048;
    // Group commit happens by itself: requests that arrive while a transaction commits go into the
    // next one. Waiting for more only adds latency to each acknowledgement.
    cfg.batch_linger = std::time::Duration::ZERO;
    config.database.apply(&mut cfg);
    cfg
}

/// Open the configured store: with no `database.url`, exactly the embedded store of before.
pub async fn open(config: &Config, data_dir: &Path) -> anyhow::Result<store::Store> {
    let cfg = store_config(config, data_dir);
    match config.database.url() {
        None => {
            let path = cfg.path.clone();
            store::Store::open_url(None, cfg)
                .await
                .with_context(|| format!("cannot open the store at {}", path.display()))
        }
        Some(url) => open_url(url, cfg, data_dir).await,
    }
}

/// Open the store `url` names; a relative `sqlite://` path is inside `data_dir`, as `store.path`
/// is. Errors show the URL masked.
pub async fn open_url(url: &str, cfg: store::Config, data_dir: &Path) -> anyhow::Result<store::Store> {
    let parsed = store::DatabaseUrl::parse(url)?;
    let url = match &parsed {
        store::DatabaseUrl::Sqlite(p) if p.is_relative() => format!("sqlite://{}", data_dir.join(p).display()),
        _ => url.to_owned(),
    };
    let masked = store::mask_url(&url);
    let store =
        store::Store::open_url(Some(&url), cfg).await.with_context(|| format!("cannot open the store at {masked}"))?;
    tracing::info!(backend = store.backend(), url = %masked, "store opened");
    Ok(store)
}

/// The file a `sqlite://` URL names (relative to the working directory), for checks before opening.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    match store::DatabaseUrl::parse(url) {
        Ok(store::DatabaseUrl::Sqlite(p)) => Some(p),
        _ => None,
    }
}
