//! The lease: one holder among several hubs; it moves within a TTL when its holder dies without
//! releasing it, with a larger fencing token; a stale holder is detected; release hands over at once.

use std::time::Duration;

use cluster::{Lease, LeaseState};

use crate::common::{Hub, Prefix, eventually, shared_redis};

const TTL: Duration = Duration::from_millis(900);

async fn hubs(p: &Prefix, names: &[&str]) -> Vec<(Hub, Lease)> {
    let mut out = Vec::new();
    for name in names {
        let hub = Hub::start(&p.config(name)).await;
        let lease = hub.lease("alert-evaluator", TTL).unwrap();
        out.push((hub, lease));
    }
    out
}

#[tokio::test]
async fn one_holder_and_it_moves_when_the_holder_dies() {
    if !shared_redis("one_holder_and_it_moves_when_the_holder_dies") {
        return;
    }
    let p = Prefix::new();
    let mut hubs = hubs(&p, &["a", "b", "c"]).await;
    let mut states = Vec::new();
    for (_, lease) in &hubs {
        states.push(lease.tick().await.unwrap());
    }
    let holders: Vec<usize> = (0..3).filter(|i| matches!(states[*i], LeaseState::Holder { .. })).collect();
    assert_eq!(holders.len(), 1, "{states:?}");
    let dead = holders[0];
    let LeaseState::Holder { fence: old } = states[dead] else { unreachable!() };
    for (i, (hub, lease)) in hubs.iter().enumerate() {
        assert_eq!(lease.is_holder(), i == dead);
        if i != dead {
            assert_eq!(states[i], LeaseState::Follower { holder: Some(hubs[dead].0.hub_id().to_owned()) });
            let _ = hub;
        }
    }
    // Renewals keep the token.
    assert_eq!(hubs[dead].1.tick().await.unwrap(), LeaseState::Holder { fence: old });
    // The holder dies: no release, no more renewals, its connections gone.
    drop(hubs.remove(dead));
    // The survivors tick as the alert job would (every ttl/3) until one of them holds it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (winner, fence) = 'found: loop {
        for (i, (_, lease)) in hubs.iter().enumerate() {
            if let LeaseState::Holder { fence } = lease.tick().await.unwrap() {
                break 'found (i, fence);
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no survivor took the lease");
        tokio::time::sleep(TTL / 3).await;
    };
    assert!(fence > old, "fencing tokens only grow: {fence} after {old}");
    let other = 1 - winner;
    assert!(matches!(hubs[other].1.tick().await.unwrap(), LeaseState::Follower { .. }));
    assert!(hubs[winner].1.is_holder() && !hubs[other].1.is_holder());
}

#[tokio::test]
async fn a_stale_holder_is_detected_and_release_hands_over() {
    if !shared_redis("a_stale_holder_is_detected_and_release_hands_over") {
        return;
    }
    let p = Prefix::new();
    let hubs = hubs(&p, &["a", "b"]).await;
    let (a, b) = (&hubs[0].1, &hubs[1].1);
    let LeaseState::Holder { fence: f1 } = a.tick().await.unwrap() else { panic!("a holds it") };
    assert!(a.check(f1).await.unwrap());
    // `a` stalls (stops renewing); its own clock tells it first that it may no longer act...
    eventually("a's lease to run out locally", || async move { !a.is_holder() }).await;
    assert_eq!(a.fence(), None);
    assert!(a.held_last(), "a was the holder at the last answer");
    // ...then `b` takes over once Redis expired it.
    eventually("b to take over", || async move { matches!(b.tick().await.unwrap(), LeaseState::Holder { .. }) }).await;
    let f2 = b.fence().unwrap();
    assert!(f2 > f1);
    // A side effect stamped with `a`'s token is now known to be stale.
    assert!(!a.check(f1).await.unwrap());
    assert_eq!(a.tick().await.unwrap(), LeaseState::Follower { holder: Some("b".into()) });
    assert!(!a.held_last());
    // On shutdown `b` releases: `a` gets it at its next tick, not a TTL later.
    b.release().await.unwrap();
    assert!(!b.is_holder());
    let LeaseState::Holder { fence: f3 } = a.tick().await.unwrap() else { panic!("a takes it at once") };
    assert!(f3 > f2);
    let stats = hubs[0].0.stats();
    assert_eq!((stats.lease_acquired, stats.lease_lost), (2, 1), "{stats:?}");
}

#[tokio::test]
async fn hubs_given_the_same_id_never_share_a_lease_and_still_hear_each_other() {
    if !shared_redis("hubs_given_the_same_id_never_share_a_lease_and_still_hear_each_other") {
        return;
    }
    let p = Prefix::new();
    let twins = hubs(&p, &["same", "same"]).await;
    let first = twins[0].1.tick().await.unwrap();
    let second = twins[1].1.tick().await.unwrap();
    assert!(matches!(first, LeaseState::Holder { .. }));
    assert_eq!(second, LeaseState::Follower { holder: Some("same".into()) });
    assert!(twins[0].1.is_holder() && !twins[1].1.is_holder());
    let (one, two) = (&twins[0].0, &twins[1].0);
    eventually("both buses subscribed", || async move { one.stats().bus_connected && two.stats().bus_connected }).await;
    let mut sub = two.channel::<u8>("fleet").unwrap().subscribe();
    one.channel::<u8>("fleet").unwrap().publish(&7).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(30), sub.recv()).await.unwrap().unwrap();
    assert_eq!(got, cluster::BusEvent::Message { from: "same".into(), message: 7 });
}
