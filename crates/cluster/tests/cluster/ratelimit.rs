//! Rate limits: a bucket's burst, then refusals with a wait; one bucket shared by several hubs.

use std::time::Duration;

use cluster::RateDecision;

use crate::common::{Hub, Prefix, shared_redis};

#[tokio::test]
async fn a_burst_then_refusals_with_a_wait() {
    if !shared_redis("a_burst_then_refusals_with_a_wait") {
        return;
    }
    let p = Prefix::new();
    let hub = Hub::start(&p.config("a")).await;
    let limiter = hub.rate_limiter();
    // One request a minute, five at once.
    for left in (0..5).rev() {
        assert_eq!(limiter.check("ip:203.0.113.9", 1, 5).await.unwrap(), RateDecision::Allowed { remaining: left });
    }
    match limiter.check("ip:203.0.113.9", 1, 5).await.unwrap() {
        RateDecision::Limited { retry_after } => {
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60), "{retry_after:?}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Another client has its own bucket.
    assert!(matches!(limiter.check("ip:203.0.113.10", 1, 5).await.unwrap(), RateDecision::Allowed { .. }));
    assert!(limiter.check("ip:x", 0, 5).await.is_err(), "a zero limit is refused");
    // Keys are digests: nothing the caller passed is stored in clear.
    assert!(p.keys().iter().all(|k| !k.contains("203.0.113")), "{:?}", p.keys());
}

#[tokio::test]
async fn several_hubs_share_one_bucket() {
    if !shared_redis("several_hubs_share_one_bucket") {
        return;
    }
    let p = Prefix::new();
    let mut hubs = Vec::new();
    for name in ["a", "b", "c"] {
        hubs.push(Hub::start(&p.config(name)).await);
    }
    // 60 concurrent requests from one client through three hubs; a bucket of 10 refilled once a
    // minute lets exactly 10 through.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let limiter = hubs[i % 3].rate_limiter();
        tasks.push(tokio::spawn(async move { limiter.check("token:abc", 1, 10).await.unwrap() }));
    }
    let mut allowed = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), RateDecision::Allowed { .. }) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
}
