//! The embedded backend: one SQLite file, one writer thread fed by a bounded channel (group
//! commit, a write acknowledged only after its commit), and a small pool of read-only connections.

mod backup;
mod kv;
mod ops;
mod pool;
mod schema;
mod writer;

use std::any::Any;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

pub use backup::{FileReport, backup_file, verify_file};
pub use schema::SCHEMA_VERSION;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::health::WriteHealth;
use crate::query;
use crate::retention::RetentionReport;
use crate::rollup::RollupReport;
use crate::types::{Config, History, IntegrityReport, Sample, WriteOutcome};
use crate::{HistoryArgs, PendingWrite};
use pool::Pool;
use writer::{Command, Writer};

pub(crate) struct SqliteStore {
    cfg: Config,
    tx: flume::Sender<Command>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<Pool>,
    health: Arc<WriteHealth>,
}

impl SqliteStore {
    /// Open (creating and migrating as needed) and start the writer thread. Blocking.
    pub(crate) fn open(cfg: Config) -> Result<SqliteStore> {
        let conn = schema::open_writer(&cfg)?;
        let (tx, rx) = flume::bounded(cfg.queue_capacity.max(1));
        let health = Arc::new(WriteHealth::default());
        let writer = Writer::new(conn, cfg.clone(), Arc::clone(&health));
        let handle = std::thread::Builder::new().name("store-writer".into()).spawn(move || writer.run(rx))?;
        let readers = Arc::new(Pool::new(&cfg));
        Ok(SqliteStore { cfg, tx, writer: Mutex::new(Some(handle)), readers, health })
    }

    pub(crate) fn submit(&self, samples: Vec<Sample>) -> Result<PendingWrite> {
        let (ack, rx) = oneshot::channel();
        self.tx.try_send(Command::Write { samples, ack }).map_err(|e| match e {
            flume::TrySendError::Full(_) => Error::Busy,
            flume::TrySendError::Disconnected(_) => Error::Closed,
        })?;
        Ok(PendingWrite { rx })
    }

    pub(crate) async fn write(&self, samples: Vec<Sample>) -> Result<WriteOutcome> {
        self.request(|ack| Command::Write { samples, ack }).await
    }

    async fn request<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Command) -> Result<T> {
        let (ack, rx) = oneshot::channel();
        self.tx.send_async(make(ack)).await.map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    pub(crate) async fn rollup(&self, now_ms: i64) -> Result<RollupReport> {
        self.request(|ack| Command::Rollup { now_ms, ack }).await
    }

    pub(crate) async fn apply_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        self.request(|ack| Command::Retention { now_ms, ack }).await
    }

    pub(crate) async fn delete_server(&self, server: String) -> Result<bool> {
        self.request(|ack| Command::DeleteServer { server, ack }).await
    }

    pub(crate) async fn history(&self, args: HistoryArgs) -> Result<History> {
        let cfg = self.cfg.clone();
        self.readers.run(move |conn| query::history(conn, &cfg, &args.request())).await
    }

    /// Run `f` with a read connection (a consistent snapshot for its duration).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        self.readers.run(move |conn| f(conn)).await
    }

    /// Run `f` in one write transaction on the writer thread (after everything queued before).
    pub(crate) async fn exec<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        let f: writer::ExecFn = Box::new(move |conn: &Connection| Ok(Box::new(f(conn)?) as Box<dyn Any + Send>));
        let out = self.request(|ack| Command::Exec { f, ack }).await?;
        out.downcast::<T>().map(|b| *b).map_err(|_| Error::Join("exec result of an unexpected type".into()))
    }

    pub(crate) async fn put_kv(&self, key: String, value: String, now_ms: i64) -> Result<()> {
        self.request(|ack| Command::PutKv { key, value, now_ms, ack }).await
    }

    pub(crate) async fn get_kv(&self, key: String) -> Result<Option<serde_json::Value>> {
        self.readers.run(move |conn| kv::get(conn, &key)).await
    }

    pub(crate) async fn delete_kv(&self, key: String) -> Result<bool> {
        self.request(|ack| Command::DeleteKv { key, ack }).await
    }

    pub(crate) async fn kv_keys(&self, prefix: String) -> Result<Vec<String>> {
        self.readers.run(move |conn| kv::keys_with_prefix(conn, &prefix)).await
    }

    pub(crate) async fn integrity_check(&self) -> Result<IntegrityReport> {
        self.readers.run(backup::integrity_check).await
    }

    pub(crate) async fn schema_version(&self) -> Result<i64> {
        self.readers.run(schema::user_version).await
    }

    /// A write that failed for want of space is reported until a later one succeeds; then a
    /// trivial read proves the file still opens and answers.
    pub(crate) async fn health(&self) -> Result<()> {
        self.health.check()?;
        if self.tx.is_disconnected() {
            return Err(Error::Closed);
        }
        self.readers.run(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)).await.map(drop)
    }

    pub(crate) async fn backup_to(&self, target: &Path) -> Result<()> {
        let target = target.to_path_buf();
        let cfg = self.cfg.clone();
        // Through the pool only to share its concurrency bound; the backup opens its own connection.
        self.readers.run(move |_| backup::backup_to(&cfg.path, &cfg, &target)).await
    }

    pub(crate) async fn close_with(&self, checkpoint: bool) -> Result<()> {
        let (ack, rx) = oneshot::channel();
        if self.tx.send_async(Command::Shutdown { ack, checkpoint }).await.is_ok() {
            // An Err here means the writer already stopped (another clone closed it).
            let _ = rx.await;
        }
        let handle = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        self.readers.clear();
        if let Some(handle) = handle {
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|e| Error::Join(e.to_string()))?
                .map_err(|_| Error::Join("store writer thread panicked".into()))?;
        }
        Ok(())
    }
}
