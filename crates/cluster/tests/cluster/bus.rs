//! The bus: messages reach every other hub (never the sender), a slow subscriber is told what it
//! missed, and after Redis comes back subscribers are told to resynchronise and messages flow again.

use std::time::Duration;

use cluster::{BusEvent, ClusterConfig, Missed};
use serde::{Deserialize, Serialize};

use crate::common::{Hub, Prefix, PrivateRedis, config, eventually, shared_redis};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Update {
    server: String,
    cpu: f64,
}

fn update(server: &str, cpu: f64) -> Update {
    Update { server: server.into(), cpu }
}

async fn connected(hubs: &[&Hub]) {
    eventually("every hub's bus to be subscribed", || async move { hubs.iter().all(|h| h.stats().bus_connected) })
        .await;
}

async fn next<T: serde::de::DeserializeOwned>(sub: &mut cluster::Subscriber<T>) -> BusEvent<T> {
    tokio::time::timeout(Duration::from_secs(30), sub.recv()).await.expect("a bus event within 30 s").unwrap()
}

#[tokio::test]
async fn messages_reach_every_other_hub_in_order_and_not_the_sender() {
    if !shared_redis("messages_reach_every_other_hub_in_order_and_not_the_sender") {
        return;
    }
    let p = Prefix::new();
    let (a, b, c) =
        (Hub::start(&p.config("a")).await, Hub::start(&p.config("b")).await, Hub::start(&p.config("c")).await);
    connected(&[&a, &b, &c]).await;
    let (fa, fb, fc) = (
        a.channel::<Update>("fleet").unwrap(),
        b.channel::<Update>("fleet").unwrap(),
        c.channel::<Update>("fleet").unwrap(),
    );
    let (mut sa, mut sb, mut sc) = (fa.subscribe(), fb.subscribe(), fc.subscribe());
    // Another channel's subscribers see nothing of this one.
    let mut alerts_b = b.channel::<Update>("alerts").unwrap().subscribe();
    for i in 0..3 {
        fa.publish(&update("web-1", f64::from(i))).await.unwrap();
    }
    for sub in [&mut sb, &mut sc] {
        for i in 0..3 {
            assert_eq!(next(sub).await, BusEvent::Message { from: "a".into(), message: update("web-1", f64::from(i)) });
        }
    }
    // `a` received its own messages before `b`'s on its one subscriber connection: the first thing
    // it gets is `b`'s, so it got none of its own.
    fb.publish(&update("db-1", 50.0)).await.unwrap();
    assert_eq!(next(&mut sa).await, BusEvent::Message { from: "b".into(), message: update("db-1", 50.0) });
    assert_eq!(next(&mut sc).await, BusEvent::Message { from: "b".into(), message: update("db-1", 50.0) });
    assert!(alerts_b.try_recv().is_none());
    // A message that does not decode as this channel's type is skipped and counted.
    let raw = c.channel::<serde_json::Value>("fleet").unwrap();
    raw.publish(&serde_json::json!({"unexpected": true})).await.unwrap();
    fc.publish(&update("web-2", 1.0)).await.unwrap();
    assert_eq!(next(&mut sb).await, BusEvent::Message { from: "c".into(), message: update("web-2", 1.0) });
    assert_eq!(b.stats().bus_undecodable, 1);
    assert!(a.channel::<Update>("_co").is_err() && a.channel::<Update>("a*").is_err(), "reserved and glob names");
    assert_eq!(a.stats().bus_published, 3);
}

#[tokio::test]
async fn a_slow_subscriber_is_told_what_it_missed() {
    if !shared_redis("a_slow_subscriber_is_told_what_it_missed") {
        return;
    }
    let p = Prefix::new();
    let a = Hub::start(&p.config("a")).await;
    let b = Hub::start(&ClusterConfig { bus_queue: 4, ..p.config("b") }).await;
    connected(&[&a, &b]).await;
    let fa = a.channel::<u32>("live").unwrap();
    let mut slow = b.channel::<u32>("live").unwrap().subscribe();
    for i in 0..20 {
        fa.publish(&i).await.unwrap();
    }
    let b_ref = &b;
    eventually("b to receive all 20", || async move { b_ref.stats().bus_received == 20 }).await;
    assert_eq!(next(&mut slow).await, BusEvent::Missed(Missed::Lagged { count: 16 }));
    for i in 16..20 {
        assert_eq!(next(&mut slow).await, BusEvent::Message { from: "a".into(), message: i });
    }
    let stats = b.stats();
    assert_eq!((stats.bus_dropped, stats.bus_missed), (16, 1));
}

#[tokio::test]
async fn after_redis_returns_subscribers_resynchronise_and_messages_flow() {
    let Some(mut redis) = PrivateRedis::start("after_redis_returns_subscribers_resynchronise_and_messages_flow", &[])
    else {
        return;
    };
    let a = Hub::start(&config(&redis.url(), "om:", "a")).await;
    let b = Hub::start(&config(&redis.url(), "om:", "b")).await;
    connected(&[&a, &b]).await;
    let fa = a.channel::<Update>("fleet").unwrap();
    let mut sb = b.channel::<Update>("fleet").unwrap().subscribe();
    fa.publish(&update("web-1", 1.0)).await.unwrap();
    assert!(matches!(next(&mut sb).await, BusEvent::Message { .. }));
    redis.stop();
    let b_ref = &b;
    eventually("b's subscription to be lost", || async move { !b_ref.stats().bus_connected }).await;
    assert!(fa.publish(&update("web-1", 2.0)).await.is_err(), "nothing to publish to");
    redis.resume();
    // Resubscribed: told to resynchronise (anything published meanwhile is gone).
    assert!(matches!(next(&mut sb).await, BusEvent::Missed(Missed::Reconnected { .. })));
    let a_ref = &a;
    eventually("a's commands to reach Redis again", || async move { a_ref.ping().await.is_ok() }).await;
    fa.publish(&update("web-1", 3.0)).await.unwrap();
    assert_eq!(next(&mut sb).await, BusEvent::Message { from: "a".into(), message: update("web-1", 3.0) });
}
