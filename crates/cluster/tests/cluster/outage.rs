//! Redis going away and coming back: calls fail fast with `Unavailable` (at most one attempt per
//! retry interval reaches the network), health says why and since when, and everything works again
//! without a restart. A hub that starts while Redis is away comes up when it appears. Passwords
//! never show.

use cluster::{Cluster, Error, Health, RateDecision};

use crate::common::{Hub, PrivateRedis, config, eventually, free_port};

#[tokio::test]
async fn calls_fall_back_at_once_while_down_and_recover_without_a_restart() {
    let Some(mut redis) = PrivateRedis::start("calls_fall_back_at_once_while_down_and_recover_without_a_restart", &[])
    else {
        return;
    };
    let hub = Hub::start(&config(&redis.url(), "om:", "a")).await;
    assert!(hub.health().is_up(), "{:?}", hub.health());
    let limiter = hub.rate_limiter();
    assert!(matches!(limiter.check("ip:1", 600, 10).await.unwrap(), RateDecision::Allowed { .. }));
    redis.stop();
    // The first call finds out (and turns the state down, logged once)...
    assert!(matches!(limiter.check("ip:1", 600, 10).await, Err(Error::Unavailable(_))));
    let Health::Down { reason, since_ms } = hub.health() else { panic!("down: {:?}", hub.health()) };
    assert!(!reason.is_empty() && since_ms > 0);
    // ...and the next hundred fail without going to the network, except at most one probe per
    // retry interval (100 ms here) during the loop.
    let before = hub.stats();
    let started = std::time::Instant::now();
    for _ in 0..100 {
        assert!(matches!(limiter.check("ip:1", 600, 10).await, Err(Error::Unavailable(_))));
    }
    let probes_allowed = started.elapsed().as_millis() as u64 / 100 + 2;
    let after = hub.stats();
    assert!(after.commands - before.commands <= probes_allowed, "{before:?} -> {after:?}");
    assert!(after.fallbacks >= before.fallbacks + 100);
    assert_eq!(after.outages, 1, "one change to down, however many failures");
    assert!(!after.up);
    redis.resume();
    let h = &hub;
    eventually("the hub to see Redis back", || async move { h.health().is_up() }).await;
    assert!(matches!(limiter.check("ip:1", 600, 10).await.unwrap(), RateDecision::Allowed { .. }));
    assert_eq!(hub.stats().outages, 1);
}

#[tokio::test]
async fn a_hub_started_while_redis_is_away_comes_up_when_it_appears() {
    let Some(mut redis) = PrivateRedis::start("a_hub_started_while_redis_is_away_comes_up_when_it_appears", &[]) else {
        return;
    };
    redis.stop();
    // Connecting is not an error: the hub starts degraded.
    let hub = Hub::start(&config(&redis.url(), "om:", "a")).await;
    assert!(!hub.health().is_up());
    assert!(hub.ping().await.is_err());
    redis.resume();
    let h = &hub;
    eventually("the hub to come up", || async move { h.ping().await.is_ok() }).await;
    assert!(hub.health().is_up());
}

#[tokio::test]
async fn a_wrong_password_is_an_outage_and_never_shown() {
    let Some(redis) =
        PrivateRedis::start("a_wrong_password_is_an_outage_and_never_shown", &["--requirepass", "right-pw"])
    else {
        return;
    };
    let url = format!("redis://:s3cret-wrong@127.0.0.1:{}", redis.port);
    let hub = Cluster::connect(&config(&url, "om:", "a")).await.unwrap();
    let Health::Down { reason, .. } = hub.health() else { panic!("a wrong password cannot be up") };
    for shown in [reason.clone(), format!("{hub:?}"), hub.url(), hub.ping().await.unwrap_err().to_string()] {
        assert!(!shown.contains("s3cret-wrong"), "{shown}");
    }
    assert!(reason.to_lowercase().contains("auth") || reason.contains("WRONGPASS"), "{reason}");
    let good =
        Cluster::connect(&config(&format!("redis://:right-pw@127.0.0.1:{}", redis.port), "om:", "b")).await.unwrap();
    assert!(good.health().is_up(), "{:?}", good.health());
    // An address where nothing listens: also just down, with the reason.
    let nothing = Cluster::connect(&config(&format!("redis://127.0.0.1:{}", free_port()), "om:", "c")).await.unwrap();
    assert!(!nothing.is_up());
}
