//! The `tcp` probe: up when a connection to `host:port` is accepted; the connection is closed at once.

use std::time::Instant;

use crate::result::Outcome;
use crate::target::{HostPort, connect};

pub(crate) async fn probe(target: &HostPort, started: Instant) -> Outcome {
    match connect(target).await {
        Ok(stream) => {
            let outcome = Outcome::up(started.elapsed());
            drop(stream);
            outcome
        }
        Err(e) => Outcome::down(started.elapsed(), e),
    }
}
