//! Notify-once: exactly one hub is first; decisions taken while Redis was down are written back, so
//! no hub sends again afterwards.

use std::time::Duration;

use cluster::Verdict;

use crate::common::{Hub, Prefix, PrivateRedis, config, eventually, shared_redis};

#[tokio::test]
async fn exactly_one_hub_is_first() {
    if !shared_redis("exactly_one_hub_is_first") {
        return;
    }
    let p = Prefix::new();
    let mut hubs = Vec::new();
    for name in ["a", "b", "c"] {
        hubs.push(Hub::start(&p.config(name)).await);
    }
    let mut tasks = Vec::new();
    for i in 0..30 {
        let dedup = hubs[i % 3].dedup(100);
        tasks.push(tokio::spawn(async move {
            dedup.first("alert:cpu-high:web-1:1767254400", Duration::from_secs(60)).await.unwrap()
        }));
    }
    let mut firsts = 0;
    for t in tasks {
        firsts += usize::from(t.await.unwrap());
    }
    assert_eq!(firsts, 1);
    let d = hubs[0].dedup(100);
    assert_eq!(d.check("alert:cpu-high:web-1:1767254400", Duration::from_secs(60)).await, Verdict::Duplicate);
    assert_eq!(d.check("alert:cpu-high:web-2:1767254400", Duration::from_secs(60)).await, Verdict::First);
}

#[tokio::test]
async fn decisions_taken_during_an_outage_are_written_back() {
    let Some(mut redis) = PrivateRedis::start("decisions_taken_during_an_outage_are_written_back", &[]) else {
        return;
    };
    let a = Hub::start(&config(&redis.url(), "om:", "a")).await;
    let b = Hub::start(&config(&redis.url(), "om:", "b")).await;
    let (da, db) = (a.dedup(100), b.dedup(100));
    let ttl = Duration::from_secs(600);
    redis.stop();
    // Redis is away: `a` decides locally, once.
    assert_eq!(da.check("alert:1", ttl).await, Verdict::FirstLocal);
    assert_eq!(da.check("alert:1", ttl).await, Verdict::DuplicateLocal);
    assert_eq!(da.pending(), 1);
    redis.resume();
    let (ra, rb) = (&a, &b);
    eventually("both hubs to see Redis back", || async move { ra.is_up() && rb.is_up() }).await;
    // `a` writes its decision back (its alert tick calls flush; a check does too)...
    assert_eq!(da.flush().await.unwrap(), 1);
    assert_eq!(da.pending(), 0);
    // ...so `b` does not send it again, nor does `a`.
    assert_eq!(db.check("alert:1", ttl).await, Verdict::Duplicate);
    assert_eq!(da.check("alert:1", ttl).await, Verdict::Duplicate);
    let stats = a.stats();
    assert_eq!((stats.dedup_local, stats.dedup_replayed), (1, 1));
}
