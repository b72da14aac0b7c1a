//! The last write's fate, for `Store::health`: an outage or a full disk that made a write fail is
//! reported until a later write succeeds, so readiness fails while ingest fails and recovers with it.

use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

#[derive(Default)]
pub(crate) struct WriteHealth {
    failure: Mutex<Option<(ErrorKind, String)>>,
}

impl WriteHealth {
    /// Remember an outage or a full disk; other failures are the request's own, not the store's.
    pub(crate) fn failed(&self, e: &Error) {
        let kind = e.kind();
        if matches!(kind, ErrorKind::DiskFull | ErrorKind::Unavailable) {
            *self.lock() = Some((kind, e.to_string()));
        }
    }

    pub(crate) fn succeeded(&self) {
        let mut g = self.lock();
        if g.is_some() {
            *g = None;
        }
    }

    /// The database answered a probe: an outage is over (a full disk is only over once a write
    /// succeeds, which a probe cannot tell).
    pub(crate) fn reachable(&self) {
        let mut g = self.lock();
        if matches!(*g, Some((ErrorKind::Unavailable, _))) {
            *g = None;
        }
    }

    /// `Err` with the kind and message of a write failure not yet followed by a success.
    pub(crate) fn check(&self) -> Result<()> {
        match &*self.lock() {
            Some((ErrorKind::DiskFull, msg)) => Err(Error::DiskFull(msg.clone())),
            Some((_, msg)) => Err(Error::Unavailable(msg.clone())),
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(ErrorKind, String)>> {
        self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
