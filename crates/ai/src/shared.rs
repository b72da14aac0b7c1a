//! Quotas shared with other gateways (several hubs on one Redis): after an engine's own budget
//! grants a call, the shared quota is asked too, so the sum over every hub stays within the
//! provider's limits. The hub implements [`SharedQuota`]; without one (the default) each gateway's
//! budget is the only limit. A shared quota that cannot decide (its store is away) answers
//! [`SharedVerdict::Unavailable`] and the local budget alone decides, as with no sharing.

use std::sync::Arc;
use std::time::Duration;

use crate::provider::local::BoxFuture;

/// An engine's configured limits (`None`: no limit on that window).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaSpec {
    pub rpm: Option<u32>,
    pub rpd: Option<u32>,
    pub tpm: Option<u32>,
}

impl QuotaSpec {
    pub fn is_limited(&self) -> bool {
        self.rpm.is_some() || self.rpd.is_some() || self.tpm.is_some()
    }
}

/// A granted call's share, settled once with the tokens the provider reported.
pub trait SharedGrant: Send {
    fn settle(self: Box<Self>, tokens: u64);
}

/// The shared quota's answer for one call.
pub enum SharedVerdict {
    Granted(Box<dyn SharedGrant>),
    /// A minute window is full across the gateways; it frees up after this long.
    Minute(Duration),
    /// A day window is full across the gateways, until the day's end.
    Day(Duration),
    /// Cannot decide now: the local budget decides alone.
    Unavailable,
}

/// Implemented by the hub over Redis (`cluster::Quota`).
pub trait SharedQuota: Send + Sync {
    /// One request of about `tokens` tokens on `engine`, within `spec`.
    fn reserve<'a>(&'a self, engine: &'a str, tokens: u64, spec: QuotaSpec) -> BoxFuture<'a, SharedVerdict>;
}

pub(crate) type Shared = Arc<dyn SharedQuota>;

/// The shared answer cache's verdict for one cacheable request (several hubs on one Redis).
pub enum SharedLookup {
    /// An answer another gateway (or this one) stored: the serialized [`crate::AiAnswer`].
    Hit(Vec<u8>),
    /// Nobody has it and nobody is computing it: this caller computes it, then publishes it;
    /// dropping the lead unpublished lets a waiting caller on any gateway compute it instead.
    Lead(Box<dyn SharedLead>),
    /// Cannot decide (the store is away, or the leader did not finish within the wait): the
    /// gateway's own cache and in-flight coalescing decide alone.
    Unavailable,
}

/// The lead on one key: [`publish`](SharedLead::publish) the answer, or drop it.
pub trait SharedLead: Send {
    fn publish(self: Box<Self>, answer: Vec<u8>) -> BoxFuture<'static, ()>;
}

/// Implemented by the hub over Redis (`cluster::Coalescer`): the answer cache and in-flight
/// coalescing shared by every gateway, so an identical question asked on two hubs calls the
/// upstream once.
pub trait SharedAnswers: Send + Sync {
    /// The answer under `key` if any gateway stored one, else the lead (held at most `lead_for`),
    /// else waits up to `wait` for the gateway that leads.
    fn lookup<'a>(&'a self, key: &'a str, lead_for: Duration, wait: Duration) -> BoxFuture<'a, SharedLookup>;
}
