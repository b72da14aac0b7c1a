//! Thread-per-core serving: `server.workers` threads, each with its own single-threaded tokio runtime,
//! all accepting from one listening socket, the way nginx's worker processes do. A request is then
//! handled start to finish on the thread that accepted it, with no cross-thread wake-ups; on the 2-vCPU
//! target this answers about 30% more small requests per second than tokio's work-stealing runtime
//! (measured with `bench/http.sh`). Background jobs run on the main runtime, not here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::listener::BoundedListener;

pub struct Workers {
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// Starts `count` serving threads on `listener` (already bound). They stop accepting when `cancel`
/// fires and finish when their in-flight requests have.
pub fn spawn(
    listener: std::net::TcpListener,
    count: usize,
    max_connections: usize,
    app: Router,
    cancel: CancellationToken,
) -> std::io::Result<Workers> {
    listener.set_nonblocking(true)?;
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut handles = Vec::with_capacity(count);
    for i in 0..count.max(1) {
        let socket = listener.try_clone()?;
        let (app, cancel, permits) = (app.clone(), cancel.clone(), permits.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(socket) {
                    Ok(l) => {
                        if let Err(e) = serve(l, permits, app, cancel.cancelled_owned()).await {
                            tracing::error!(error = %e, "HTTP worker stopped with an error");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "HTTP worker cannot use the listening socket"),
                }
            });
        })?;
        handles.push(handle);
    }
    Ok(Workers { handles })
}

impl Workers {
    /// Waits for every worker to finish, at most `limit`. Returns false if some were still busy.
    pub async fn join(self, limit: Duration) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            for h in self.handles {
                let _ = h.join();
            }
            let _ = tx.send(());
        });
        tokio::time::timeout(limit, rx).await.is_ok()
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and lets in-flight
/// requests finish (the caller bounds how long). `permits` bounds open connections across workers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    permits: Arc<Semaphore>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // `tap_io` only so that axum's `ConnectInfo<SocketAddr>` applies to our listener type.
    let listener = BoundedListener::new(listener, permits).tap_io(|_| {});
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
