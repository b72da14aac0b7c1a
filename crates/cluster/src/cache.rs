//! A byte cache shared by every hub (the AI gateway's answers): get and set with a TTL, each value at
//! most `max_entry_bytes`. Keys are digests of the caller's key, so a prompt can be the key.
//!
//! Fallback: on `Err` the hub reads and fills its own moka cache only (`ai::cache`), as without
//! Redis. Filling both (local first) keeps hits local when Redis is slow or away.

use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::{Cluster, ttl_ms};

/// The shared cache; cheap to clone.
#[derive(Clone)]
pub struct SharedCache {
    cluster: Cluster,
}

impl SharedCache {
    pub(crate) fn new(cluster: Cluster) -> Self {
        Self { cluster }
    }

    fn key(&self, key: &[u8]) -> String {
        self.cluster.inner.keys.hashed("c", key)
    }

    /// The value under `key`, if any hub stored one that has not expired.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        let v: Option<Vec<u8>> = self.cluster.inner.conn.query(redis::cmd("GET").arg(self.key(key))).await?;
        Ok(v.map(Bytes::from))
    }

    /// Stores `value` under `key` for `ttl`. A value over `max_entry_bytes` is refused
    /// ([`Error::InvalidInput`]): keep it local.
    pub async fn set(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        check_size(&self.cluster, value.len())?;
        let ms = ttl_ms(ttl)?;
        self.cluster.inner.conn.query::<()>(redis::cmd("SET").arg(self.key(key)).arg(value).arg("PX").arg(ms)).await
    }

    /// Forgets `key` on every hub.
    pub async fn remove(&self, key: &[u8]) -> Result<()> {
        self.cluster.inner.conn.query::<i64>(redis::cmd("DEL").arg(self.key(key))).await.map(drop)
    }
}

pub(crate) fn check_size(cluster: &Cluster, len: usize) -> Result<()> {
    let max = cluster.inner.config.max_entry_bytes;
    if len > max {
        return Err(Error::InvalidInput(format!("a value of {len} bytes is over max_entry_bytes ({max})")));
    }
    Ok(())
}
