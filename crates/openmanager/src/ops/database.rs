//! Opening the history store as the server and the commands that share its data do: the path from
//! the configuration, the durability asked for, and the settings that suit a 1 GB machine.

use std::path::Path;

use anyhow::Context;

use crate::config::{Config, Durability};

pub fn open(config: &Config, data_dir: &Path) -> anyhow::Result<store::Store> {
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
    store::Store::open(cfg).with_context(|| format!("cannot open the store at {}", path.display()))
}
