//! Signals and stop requests: SIGTERM and SIGINT stop the process, SIGUSR2 asks for a hand-over,
//! and components (the memory guard) can ask the server to stop for a reason of their own.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGTERM or SIGINT (or when something else cancels it).
pub async fn on_signal(token: CancellationToken) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        _ = term => tracing::info!("SIGTERM received; shutting down"),
        _ = token.cancelled() => return,
    }
    token.cancel();
}

/// What the server's signals ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT (named).
    Stop(&'static str),
    /// SIGUSR2: start the binary again and hand the socket over.
    Handover,
}

/// The server's signal handlers, installed once at the very start: SIGUSR2's default action is to
/// terminate, so a deploy that signals a server still starting must find the handler in place.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            usr2: signal(SignalKind::user_defined2())?,
        })
    }

    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop("SIGTERM"),
            _ = self.int.recv() => Signal::Stop("SIGINT"),
            _ = self.usr2.recv() => Signal::Handover,
        }
    }
}

/// Why a component asked the server to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    /// Resident memory stayed above `memory.max_mb`: stop, and exit non-zero to be restarted.
    MemoryLimit,
}

/// Lets a component ask the server to stop. Cheap to clone.
#[derive(Clone)]
pub struct Stopper(mpsc::Sender<StopRequest>);

impl Stopper {
    pub fn new() -> (Self, mpsc::Receiver<StopRequest>) {
        let (tx, rx) = mpsc::channel(4);
        (Self(tx), rx)
    }

    pub fn request(&self, why: StopRequest) {
        // Full or closed: a stop is already under way.
        let _ = self.0.try_send(why);
    }
}
