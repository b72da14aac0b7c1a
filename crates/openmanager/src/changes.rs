//! "Something was edited here": a bounded signal each service with editable state (fleet, checks,
//! maintenance windows) raises after an edit is stored, so that with several hubs (`scaleout`) the
//! others reload that state from the shared store. It says only that something changed: the
//! store holds what, so a missed signal is repaired by any later reload.

use tokio::sync::broadcast;

/// Signals kept for a slow subscriber (past it, it is told it lagged and reloads anyway).
const BUFFER: usize = 16;

#[derive(Debug)]
pub struct Changed(broadcast::Sender<()>);

impl Default for Changed {
    fn default() -> Self {
        Self(broadcast::channel(BUFFER).0)
    }
}

impl Changed {
    /// After an edit is stored and applied. Nobody listening (one hub) is not an error.
    pub fn notify(&self) {
        let _ = self.0.send(());
    }

    pub fn subscribe(&self) -> broadcast::Receiver<()> {
        self.0.subscribe()
    }
}
