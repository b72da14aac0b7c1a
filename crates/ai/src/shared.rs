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
