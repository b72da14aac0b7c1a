//! The HTTP client the remote providers share, one reqwest client per thread that uses it.
//!
//! The hub serves HTTP on one single-threaded runtime per core. A pooled reqwest connection is driven
//! by a task on the runtime that opened it, so a request made on another serving thread handed its
//! request and its answer across threads: two wake-ups of a thread that may be parked, or busy with
//! its own request, on every call. That was the gateway's tail latency. With a client per thread,
//! each connection stays on the thread whose requests use it; the threads are few and fixed (the
//! serving threads and the main runtime's), so the clients are too.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ProviderError;

/// Clients kept per thread, newest first: one per [`HttpClient`] in use (a router rebuilt by a
/// configuration reload makes a new one; the oldest beyond this are dropped with their pools).
const PER_THREAD: usize = 4;

thread_local! {
    static CLIENTS: RefCell<Vec<(u64, reqwest::Client)>> = const { RefCell::new(Vec::new()) };
}

/// How to build the client, and one built up front (proof that the settings build, and the client a
/// thread falls back to if building its own ever failed).
struct Settings {
    id: u64,
    connect: Duration,
    read: Duration,
    fallback: reqwest::Client,
}

/// Cheap to clone; [`HttpClient::get`] gives the calling thread's client.
#[derive(Clone)]
pub struct HttpClient(Arc<Settings>);

impl HttpClient {
    /// Connect and read timeouts, but no whole-request timeout, which would cut long streams (the
    /// router applies deadlines itself).
    pub fn new(connect: Duration, read: Duration) -> Result<Self, ProviderError> {
        static IDS: AtomicU64 = AtomicU64::new(1);
        let fallback = build(connect, read).map_err(|e| ProviderError::NotConfigured(format!("http client: {e}")))?;
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        // The one just built is also this thread's, rather than a second one built on first use.
        remember(id, fallback.clone());
        Ok(Self(Arc::new(Settings { id, connect, read, fallback })))
    }

    /// This thread's client (built on its first use here).
    pub fn get(&self) -> reqwest::Client {
        let s = &self.0;
        let kept = CLIENTS.with(|cell| cell.borrow().iter().find(|(id, _)| *id == s.id).map(|(_, c)| c.clone()));
        if let Some(client) = kept {
            return client;
        }
        let client = build(s.connect, s.read).unwrap_or_else(|_| s.fallback.clone());
        remember(s.id, client.clone());
        client
    }
}

/// Keeps `client` as this thread's for `id`, newest first, at most [`PER_THREAD`].
fn remember(id: u64, client: reqwest::Client) {
    CLIENTS.with(|cell| {
        let mut clients = cell.borrow_mut();
        clients.insert(0, (id, client));
        clients.truncate(PER_THREAD);
    });
}

fn build(connect: Duration, read: Duration) -> reqwest::Result<reqwest::Client> {
    super::install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(connect)
        .read_timeout(read)
        .pool_idle_timeout(Duration::from_secs(60))
        // Enough idle connections for the concurrency the gateway sees, so bursts reuse them instead of
        // opening (and leaving in TIME_WAIT) a new one per request; each idle one costs a few KiB.
        .pool_max_idle_per_host(64)
        .user_agent(concat!("openmanager-ai/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_thread_keeps_its_own_client_and_a_bounded_number() {
        let a = HttpClient::new(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        a.get();
        a.get();
        assert_eq!(CLIENTS.with(|c| c.borrow().len()), 1, "one client per HttpClient per thread");
        let other = {
            let a = a.clone();
            std::thread::spawn(move || {
                a.get();
                CLIENTS.with(|c| c.borrow().len())
            })
            .join()
            .unwrap()
        };
        assert_eq!(other, 1, "another thread builds its own");
        for _ in 0..2 * PER_THREAD {
            HttpClient::new(Duration::from_secs(1), Duration::from_secs(1)).unwrap().get();
        }
        assert_eq!(CLIENTS.with(|c| c.borrow().len()), PER_THREAD);
    }
}
