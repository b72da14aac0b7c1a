//! The shared cache and coalescing: a value set on one hub is read on another; concurrent identical
//! requests on several hubs make one leader whose result every follower gets; a leader dropped
//! without a result hands over at once.

use std::time::Duration;

use cluster::{Error, Lookup};

use crate::common::{Hub, Prefix, shared_redis};

#[tokio::test]
async fn values_are_shared_bounded_and_expire() {
    if !shared_redis("values_are_shared_bounded_and_expire") {
        return;
    }
    let p = Prefix::new();
    let a = Hub::start(&cluster::ClusterConfig { max_entry_bytes: 1_000, ..p.config("a") }).await;
    let b = Hub::start(&p.config("b")).await;
    let key = b"prompt: how is web-1?";
    assert_eq!(b.cache().get(key).await.unwrap(), None);
    a.cache().set(key, b"web-1 is fine", Duration::from_secs(30)).await.unwrap();
    assert_eq!(b.cache().get(key).await.unwrap().as_deref(), Some(&b"web-1 is fine"[..]));
    assert!(matches!(a.cache().set(b"big", &[0u8; 1_001], Duration::from_secs(30)).await, Err(Error::InvalidInput(_))));
    assert!(a.cache().set(key, b"x", Duration::ZERO).await.is_err(), "a zero TTL is refused");
    assert!(p.keys().iter().all(|k| !k.contains("prompt")));
    b.cache().remove(key).await.unwrap();
    assert_eq!(a.cache().get(key).await.unwrap(), None);
}

#[tokio::test]
async fn one_leader_across_hubs_and_everyone_gets_its_result() {
    if !shared_redis("one_leader_across_hubs_and_everyone_gets_its_result") {
        return;
    }
    let p = Prefix::new();
    let mut hubs = Vec::new();
    for name in ["a", "b", "c"] {
        hubs.push(Hub::start(&p.config(name)).await);
    }
    let mut tasks = Vec::new();
    for i in 0..12 {
        let co = hubs[i % 3].coalescer();
        tasks.push(tokio::spawn(async move {
            match co.begin(b"same request", Duration::from_secs(60), Duration::from_secs(30)).await.unwrap() {
                Lookup::Leader(guard) => {
                    guard.publish(b"the answer", Duration::from_secs(10)).await.unwrap();
                    "leader".to_owned()
                }
                Lookup::Done(v) => String::from_utf8(v.to_vec()).unwrap(),
                Lookup::TimedOut => "timed out".to_owned(),
            }
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    assert_eq!(got.iter().filter(|g| *g == "leader").count(), 1, "{got:?}");
    assert_eq!(got.iter().filter(|g| *g == "the answer").count(), 11, "{got:?}");
}

#[tokio::test]
async fn a_dropped_leader_hands_over_and_waits_are_bounded() {
    if !shared_redis("a_dropped_leader_hands_over_and_waits_are_bounded") {
        return;
    }
    let p = Prefix::new();
    let a = Hub::start(&p.config("a")).await;
    let b = Hub::start(&p.config("b")).await;
    let Lookup::Leader(guard) = a.coalescer().begin(b"k", Duration::from_secs(600), Duration::ZERO).await.unwrap()
    else {
        panic!("the first caller leads")
    };
    // While the leader works, a follower with a short wait gives up and goes itself.
    let short = b.coalescer().begin(b"k", Duration::from_secs(600), Duration::from_millis(100)).await.unwrap();
    assert!(matches!(short, Lookup::TimedOut), "{short:?}");
    // A follower with a long wait: the leader fails (its guard dropped), and the follower takes
    // over long before the 600 s claim would expire.
    let follower = {
        let co = b.coalescer();
        tokio::spawn(async move { co.begin(b"k", Duration::from_secs(600), Duration::from_secs(60)).await.unwrap() })
    };
    drop(guard);
    assert!(matches!(follower.await.unwrap(), Lookup::Leader(_)));
}
