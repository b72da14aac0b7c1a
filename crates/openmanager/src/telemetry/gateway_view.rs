//! The AI gateway's status as last read by a job: what the local engine answers from for "which
//! engines?" or "what is the cache hit rate?" (it cannot ask the router it runs inside without a
//! reference back to it).

use parking_lot::RwLock;

/// The gateway's status as last read (the router cannot be asked from inside its own local engine
/// without a reference back to it): engines, quotas, cache, and the queries answered.
#[derive(Default)]
pub struct GatewayView(RwLock<Option<(ai::AiStatus, u64)>>);

impl GatewayView {
    pub fn set(&self, status: ai::AiStatus, queries: u64) {
        *self.0.write() = Some((status, queries));
    }

    pub fn get(&self) -> Option<(ai::AiStatus, u64)> {
        self.0.read().clone()
    }
}
