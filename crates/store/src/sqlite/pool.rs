//! A small bounded pool of read-only connections; queries run on tokio's blocking threads.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::schema::open_reader;
use crate::error::{Error, Result};
use crate::types::Config;

pub(crate) struct Pool {
    path: PathBuf,
    cfg: Config,
    idle: Mutex<Vec<Connection>>,
    /// At most `cfg.readers` queries at once, hence at most that many connections ever exist.
    permits: Arc<Semaphore>,
}

impl Pool {
    pub(crate) fn new(cfg: &Config) -> Self {
        Self {
            path: cfg.path.clone(),
            cfg: cfg.clone(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(cfg.readers.max(1))),
        }
    }

    fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        match idle {
            Some(c) => Ok(c),
            None => open_reader(&self.path, &self.cfg),
        }
    }

    fn give_back(&self, conn: Connection) {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(conn);
    }

    /// Run `f` with a read connection on a blocking thread.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|_| Error::Closed)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = pool.take()?;
            let r = f(&conn);
            // A connection is only discarded when it is unusable (e.g. the file vanished).
            if conn.is_autocommit() {
                pool.give_back(conn);
            }
            r
        })
        .await
        .map_err(|e| Error::Join(e.to_string()))?
    }

    pub(crate) fn clear(&self) {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}
