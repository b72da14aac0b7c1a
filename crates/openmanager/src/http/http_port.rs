//! The plain-HTTP port next to HTTPS (`tls.http_port`, e.g. 80): it answers ACME http-01 challenges
//! and redirects everything else to `https://`, one request per connection. Its work is bounded: a
//! fixed number of connections at once (more are closed at once), each with the handshake timeout for
//! its request head and a cap on the head's size.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connections answered at once; a redirect takes microseconds, so only a flood reaches this.
const MAX_CONCURRENT: usize = 256;

/// Accepts on `listener` until `stop` fires, answering each connection from `manager`; returns once
/// the connections in progress finished.
pub async fn serve(
    listener: std::net::TcpListener,
    manager: tls::Tls,
    https_port: u16,
    limits: tls::HandshakeLimits,
    stop: CancellationToken,
) {
    let listener = match listener.set_nonblocking(true).and_then(|()| tokio::net::TcpListener::from_std(listener)) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot use the plain-HTTP port's socket");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    let tasks = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed on the plain-HTTP port");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "plain-HTTP port busy; connection closed");
            continue;
        };
        let manager = manager.clone();
        tasks.spawn(async move {
            if let Err(e) = manager.answer_http_port(tcp, https_port, &limits).await {
                tracing::debug!(%peer, error = %e, "plain-HTTP port connection ended");
            }
            drop(permit);
        });
    }
    tasks.close();
    tasks.wait().await;
}
