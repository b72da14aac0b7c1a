//! The AI gateway's per-provider quotas shared by every hub: the gateway's `ai::SharedQuota` over
//! `cluster::Quota` (minute and Pacific-day windows in Redis), so the sum over all hubs never
//! exceeds a provider's configured `rpm`, `rpd` and `tpm`. Redis away: `Unavailable`, and each
//! hub's own budget decides (N hubs may then allow up to N times a limit, never none).

use std::time::Duration;

use ai::{BoxFuture, QuotaSpec, SharedGrant, SharedQuota, SharedVerdict};

pub struct ClusterQuota(pub cluster::Quota);

struct Grant {
    quota: cluster::Quota,
    reservation: cluster::Reservation,
}

impl SharedGrant for Grant {
    fn settle(self: Box<Self>, tokens: u64) {
        let Grant { quota, reservation } = *self;
        // Off the request path: the answer is ready, the correction can follow.
        tokio::spawn(async move {
            let _ = quota.settle(reservation, tokens).await;
        });
    }
}

/// Today's Pacific day, the window Google's daily quotas use (as the local budget does).
fn pacific_day(now_ms: i64) -> cluster::DayWindow {
    let at = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let end = ai::quota::next_pacific_midnight(at(now_ms)).as_millisecond();
    let start = ai::quota::next_pacific_midnight(at(now_ms - 86_400_000)).as_millisecond();
    cluster::DayWindow { start_ms: start.min(now_ms), end_ms: end }
}

impl SharedQuota for ClusterQuota {
    fn reserve<'a>(&'a self, engine: &'a str, tokens: u64, spec: QuotaSpec) -> BoxFuture<'a, SharedVerdict> {
        Box::pin(async move {
            let limits = cluster::QuotaLimits {
                requests_per_minute: spec.rpm.map(u64::from),
                tokens_per_minute: spec.tpm.map(u64::from),
                requests_per_day: spec.rpd.map(u64::from),
                tokens_per_day: None,
                day: pacific_day(crate::clock::now_millis()),
            };
            match self.0.reserve(engine, 1, tokens, &limits).await {
                Ok(cluster::Reserve::Granted(reservation)) => {
                    SharedVerdict::Granted(Box::new(Grant { quota: self.0.clone(), reservation }))
                }
                Ok(cluster::Reserve::Exhausted { window, retry_after }) => match window {
                    cluster::QuotaWindow::DayRequests | cluster::QuotaWindow::DayTokens => {
                        SharedVerdict::Day(retry_after.max(Duration::from_secs(1)))
                    }
                    _ => SharedVerdict::Minute(retry_after),
                },
                Err(_) => SharedVerdict::Unavailable,
            }
        })
    }
}
