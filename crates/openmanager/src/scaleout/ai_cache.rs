//! The AI gateway's answer cache and in-flight coalescing shared by every hub: `ai::SharedAnswers`
//! over `cluster::Coalescer`, whose result key is the shared cache entry (namespaced under the
//! Redis prefix, expiring after `[ai.cache] ttl_secs`, at most `[redis] max_entry_bytes`; a
//! larger answer stays local). The first hub to ask leads and calls upstream; an identical
//! question on another hub meanwhile waits for its answer, and later ones read it. Redis away:
//! `Unavailable`, and each hub's own cache and coalescing decide, as without Redis.

use std::time::Duration;

use ai::{BoxFuture, SharedAnswers, SharedLead, SharedLookup};

pub struct ClusterAnswers {
    pub coalescer: cluster::Coalescer,
    /// How long an answer is kept.
    pub ttl: Duration,
}

struct Lead {
    guard: cluster::LeaderGuard,
    ttl: Duration,
}

impl SharedLead for Lead {
    fn publish(self: Box<Self>, answer: Vec<u8>) -> BoxFuture<'static, ()> {
        let Lead { guard, ttl } = *self;
        Box::pin(async move {
            // Refused (too large) or Redis away: the lead is released, followers call upstream.
            if let Err(e) = guard.publish(&answer, ttl).await {
                tracing::debug!(error = %e, "AI answer not shared with other hubs");
            }
        })
    }
}

impl SharedAnswers for ClusterAnswers {
    fn lookup<'a>(&'a self, key: &'a str, lead_for: Duration, wait: Duration) -> BoxFuture<'a, SharedLookup> {
        Box::pin(async move {
            match self.coalescer.begin(key.as_bytes(), lead_for, wait).await {
                Ok(cluster::Lookup::Done(bytes)) => SharedLookup::Hit(bytes.to_vec()),
                Ok(cluster::Lookup::Leader(guard)) => SharedLookup::Lead(Box::new(Lead { guard, ttl: self.ttl })),
                Ok(cluster::Lookup::TimedOut) | Err(_) => SharedLookup::Unavailable,
            }
        })
    }
}
