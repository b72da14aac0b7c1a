//! Thread-per-core serving: `server.workers` threads, each with its own single-threaded tokio runtime,
//! all accepting from one listening socket, the way nginx's worker processes do. A request is then
//! handled start to finish on the thread that accepted it, with no cross-thread wake-ups; on the 2-vCPU
//! target this answers about 30% more small requests per second than tokio's work-stealing runtime
//! (measured with `bench/http.sh`). Background jobs run on the main runtime, not here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::ServiceExt;
use axum::serve::ListenerExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::connections::BoundedListener;

pub struct Workers {
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// How serving stops: first `accepting` (no new connections; a hand-over stops here first and lets
/// keep-alive clients finish), then `serving` (idle connections close, in-flight requests finish).
#[derive(Clone, Default)]
pub struct Stop {
    pub accepting: CancellationToken,
    pub serving: CancellationToken,
}

impl Stop {
    /// Both at once: a plain shutdown.
    pub fn all(&self) {
        self.accepting.cancel();
        self.serving.cancel();
    }
}

/// Starts `count` serving threads on `listener` (bound or inherited; the caller keeps its own handle).
/// `permits` bounds open connections across them. They stop as `stop` says and finish when their
/// in-flight requests have.
pub fn spawn(
    listener: &std::net::TcpListener,
    count: usize,
    permits: Arc<Semaphore>,
    app: super::App,
    stop: Stop,
) -> std::io::Result<Workers> {
    listener.set_nonblocking(true)?;
    let mut handles = Vec::with_capacity(count);
    for i in 0..count.max(1) {
        let socket = listener.try_clone()?;
        let (app, stop, permits) = (app.clone(), stop.clone(), permits.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(socket) {
                    Ok(l) => {
                        let listener = BoundedListener::new(l, permits, stop.accepting);
                        if let Err(e) = serve(listener, app, stop.serving.cancelled_owned()).await {
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
/// requests finish (the caller bounds how long).
pub async fn serve(
    listener: BoundedListener,
    app: super::App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // `tap_io` only so that axum's `ConnectInfo<SocketAddr>` applies to our listener type.
    let listener = listener.tap_io(|_| {});
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
