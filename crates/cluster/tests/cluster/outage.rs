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

#[tokio::test]
async fn without_the_maintenance_task_one_caller_per_interval_probes() {
    let Some(mut redis) = PrivateRedis::start("without_the_maintenance_task_one_caller_per_interval_probes", &[])
    else {
        return;
    };
    // No `run`: nobody probes in the background.
    let cluster = Cluster::connect(&config(&redis.url(), "om:", "a")).await.unwrap();
    let cache = cluster.cache();
    cache.set(b"k", b"v", std::time::Duration::from_secs(60)).await.unwrap();
    redis.stop();
    assert!(cache.get(b"k").await.is_err());
    redis.resume();
    let c = &cache;
    // A call that finds the retry interval over goes to Redis and brings the state back up.
    eventually("a caller's probe to find Redis back", || async move { c.get(b"k").await.is_ok() }).await;
    assert!(cluster.is_up());
    assert_eq!(cluster.stats().outages, 1);
}

#[tokio::test]
async fn a_redis_that_stops_answering_times_out_and_comes_back() {
    let Some(redis) = PrivateRedis::start("a_redis_that_stops_answering_times_out_and_comes_back", &[]) else {
        return;
    };
    let hub = Hub::start(&config(&redis.url(), "om:", "a")).await;
    assert!(hub.ping().await.is_ok());
    redis.signal("STOP");
    // Connections stay open, nothing answers: the command timeout ends the wait.
    let err = hub.cache().get(b"k").await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err}");
    let Health::Down { reason, .. } = hub.health() else { panic!("down") };
    assert!(reason.contains("timed out") || reason.to_lowercase().contains("timeout"), "{reason}");
    redis.signal("CONT");
    let h = &hub;
    eventually("the hub to see Redis answer again", || async move { h.health().is_up() }).await;
    assert!(hub.cache().get(b"k").await.is_ok());
}
