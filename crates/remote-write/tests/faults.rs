//! The sender against an in-test receiver on loopback: the wire format and headers, and what each
//! kind of failure does (500 then 200, 429 with Retry-After, 400, a hanging receiver, a full queue,
//! a receiver that is not there, shutdown).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Answer, Known, Receiver, Sender, SeriesSet, add_request, stats_until};
use remote_write::{RemoteWrite, RemoteWriteConfig, ServerRef};
use tokio_util::sync::CancellationToken;

fn config(url: String) -> RemoteWriteConfig {
    RemoteWriteConfig { url, interval_ms: 100, ..Default::default() }
}

#[tokio::test]
async fn known_samples_arrive_as_remote_write_1_0_with_the_configured_headers() {
    let receiver = Receiver::start([]).await;
    let mut config = config(receiver.url().replace("http://", "http://metrics%40corp:pa%3Ass@"));
    config.headers = BTreeMap::from([("X-Scope-OrgID".into(), "tenant-1".into())]);
    config.labels = BTreeMap::from([("job".into(), "openmanager".into())]);
    let sender = Sender::start(&config);
    let known = Known::new();
    known.push(&sender.rw);
    let stats = stats_until(&sender.rw, "every sample sent", |s| s.samples_sent == Known::count()).await;
    assert_eq!(receiver.accepted(), known.expected(&[("job", "openmanager")]));
    assert_eq!((stats.samples_dropped_queue_full, stats.samples_rejected, stats.requests_failed), (0, 0, 0));
    assert_eq!(stats.queue_len, 0);
    assert!(stats.last_success_ms.is_some() && stats.last_error.is_none());

    let received = receiver.received();
    assert_eq!(stats.requests, received.len() as u64);
    assert_eq!(stats.bytes_sent, received.iter().map(|r| r.body_len as u64).sum::<u64>());
    for r in &received {
        let h = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(h("content-type").as_deref(), Some("application/x-protobuf"));
        assert_eq!(h("content-encoding").as_deref(), Some("snappy"));
        assert_eq!(h("x-prometheus-remote-write-version").as_deref(), Some("0.1.0"));
        assert_eq!(h("x-scope-orgid").as_deref(), Some("tenant-1"));
        // "metrics@corp:pa:ss", as basic authentication, not left in the URL.
        assert_eq!(h("authorization").as_deref(), Some("Basic bWV0cmljc0Bjb3JwOnBhOnNz"));
        assert!(h("user-agent").unwrap().starts_with("openmanager-remote-write/"));
        for ts in &r.request.timeseries {
            let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(names[0], "__name__");
            assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted and unique: {names:?}");
            assert!(ts.labels.iter().all(|l| !l.value.is_empty()));
        }
    }
    sender.stop().await;
}

#[tokio::test]
async fn one_series_is_grouped_sorted_by_time_and_deduplicated_in_a_request() {
    let receiver = Receiver::start([]).await;
    let rw = RemoteWrite::new(&config(receiver.url())).unwrap();
    let server = ServerRef { id: "s1", name: "web-1", server_type: "web", source: "agent" };
    // Pushed out of order, with a repeat of t=2000 whose later value must win.
    for (t, v) in [(3000, 3.0), (1000, 1.0), (2000, 2.0), (2000, 2.5)] {
        rw.push(&server, t, [("cpu", v), ("load1", v / 10.0)]);
    }
    // Before the sender starts, so all eight land in one batch.
    let sender = Sender::start_with(rw);
    stats_until(&sender.rw, "the batch sent", |s| s.samples_sent == 8).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0].request;
    assert_eq!(request.timeseries.len(), 2, "one TimeSeries per series");
    let mut set = SeriesSet::new();
    add_request(&mut set, request);
    let points: Vec<Vec<(i64, f64)>> = set.into_values().collect();
    assert!(points.contains(&vec![(1000, 1.0), (2000, 2.5), (3000, 3.0)]), "{points:?}");
    assert!(points.contains(&vec![(1000, 0.1), (2000, 0.25), (3000, 0.3)]), "{points:?}");
    sender.stop().await;
}

#[tokio::test]
async fn a_batch_answered_500_then_200_arrives_once_after_retries() {
    let receiver = Receiver::start([Answer::Status(500, "tsdb busy"), Answer::Status(503, "")]).await;
    let sender = Sender::start(&config(receiver.url()));
    let known = Known::new();
    known.push(&sender.rw);
    let stats = stats_until(&sender.rw, "the batch sent", |s| s.samples_sent == Known::count()).await;
    assert_eq!((stats.retries, stats.requests_failed, stats.requests), (2, 2, 3));
    assert_eq!(stats.samples_rejected + stats.samples_dropped_queue_full, 0);
    assert!(stats.last_error.unwrap().message.starts_with("HTTP 503"));
    let received = receiver.received();
    assert_eq!(received.iter().map(|r| r.status).collect::<Vec<_>>(), [Some(500), Some(503), Some(204)]);
    // The same samples each time, and exactly once among the accepted ones.
    assert_eq!(received[0].request, received[2].request);
    assert_eq!(receiver.accepted(), known.expected(&[]));
    sender.stop().await;
}

#[tokio::test]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let receiver = Receiver::start([Answer::RetryAfter(429, 1)]).await;
    let sender = Sender::start(&config(receiver.url()));
    let known = Known::new();
    known.push(&sender.rw);
    let stats = stats_until(&sender.rw, "the batch sent", |s| s.samples_sent == Known::count()).await;
    assert_eq!((stats.retries, stats.requests_failed), (1, 1));
    assert!(stats.last_error.unwrap().message.contains("HTTP 429: slow down"));
    assert_eq!(receiver.accepted(), known.expected(&[]));
    sender.stop().await;
}

#[tokio::test]
async fn a_400_drops_the_batch_counts_it_and_is_not_retried() {
    let receiver = Receiver::start([Answer::Status(400, "out of order sample")]).await;
    let sender = Sender::start(&config(receiver.url()));
    Known::new().push(&sender.rw);
    let stats = stats_until(&sender.rw, "the batch refused", |s| s.samples_rejected == Known::count()).await;
    assert_eq!((stats.samples_sent, stats.retries, stats.requests_failed, stats.queue_len), (0, 0, 1, 0));
    assert_eq!(stats.last_error.unwrap().message, "HTTP 400: out of order sample");
    // The sender carries on with new samples (the next answer is 204).
    let server = ServerRef { id: "s1", name: "", server_type: "web", source: "agent" };
    sender.rw.push(&server, common::now_ms(), [("cpu", 1.0)]);
    let stats = stats_until(&sender.rw, "the next sample sent", |s| s.samples_sent == 1).await;
    assert_eq!((stats.retries, stats.samples_rejected), (0, Known::count()));
    assert_eq!(receiver.received().len(), 2);
    sender.stop().await;
}

#[tokio::test]
async fn a_hanging_receiver_is_cut_off_by_the_timeout_and_the_batch_retried() {
    let receiver = Receiver::start([Answer::Hang]).await;
    let sender = Sender::start(&RemoteWriteConfig { timeout_ms: 300, ..config(receiver.url()) });
    let known = Known::new();
    known.push(&sender.rw);
    let stats = stats_until(&sender.rw, "the batch sent", |s| s.samples_sent == Known::count()).await;
    assert_eq!((stats.requests_failed, stats.retries), (1, 1));
    let error = stats.last_error.unwrap().message;
    assert!(error.starts_with("timed out"), "{error}");
    assert_eq!(receiver.received()[0].status, None, "the first request was left hanging");
    assert_eq!(receiver.accepted(), known.expected(&[]));
    // A timed-out request may have delivered its body: it counts as egress.
    let sent: u64 = receiver.received().iter().map(|r| r.body_len as u64).sum();
    assert_eq!(stats.bytes_sent, sent);
    sender.stop().await;
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_and_the_newest_arrive() {
    let receiver = Receiver::start([]).await;
    let rw = RemoteWrite::new(&RemoteWriteConfig { max_queue_samples: 10, ..config(receiver.url()) }).unwrap();
    let server = ServerRef { id: "s1", name: "web-1", server_type: "web", source: "agent" };
    for t in 0..25 {
        rw.push(&server, 1_000 + t, [("cpu", t as f64)]);
    }
    assert_eq!(rw.stats().queue_len, 10);
    assert_eq!(rw.stats().samples_dropped_queue_full, 15);
    let sender = Sender::start_with(rw);
    let stats = stats_until(&sender.rw, "the queue sent", |s| s.samples_sent == 10).await;
    assert_eq!((stats.samples_queued, stats.samples_dropped_queue_full), (25, 15));
    let values: Vec<f64> = receiver.accepted().into_values().flatten().map(|(_, v)| v).collect();
    assert_eq!(values, (15..25).map(f64::from).collect::<Vec<_>>());
    sender.stop().await;
}

#[tokio::test]
async fn while_the_receiver_is_away_the_queue_stays_bounded_and_counts_drops() {
    // A port nothing listens on: every attempt fails to connect.
    let url = format!("http://127.0.0.1:{}/api/v1/write", common::free_port());
    let sender = Sender::start(&RemoteWriteConfig { max_queue_samples: 20, ..config(url) });
    let server = ServerRef { id: "s1", name: "web-1", server_type: "web", source: "agent" };
    for t in 0..100 {
        sender.rw.push(&server, t, [("cpu", 1.0)]);
    }
    let stats = stats_until(&sender.rw, "a failed attempt", |s| s.requests_failed >= 1).await;
    assert!(stats.queue_len <= 20, "{stats:?}");
    assert_eq!(stats.samples_dropped_queue_full, 80);
    assert_eq!(stats.bytes_sent, 0, "nothing left the host");
    assert!(stats.last_error.unwrap().message.starts_with("cannot connect"));
    sender.stop().await;
}

#[tokio::test]
async fn stopping_sends_what_waits_once() {
    let receiver = Receiver::start([]).await;
    // An interval long enough that only the stop can send.
    let sender = Sender::start(&RemoteWriteConfig { interval_ms: 3_600_000, ..config(receiver.url()) });
    let known = Known::new();
    known.push(&sender.rw);
    let rw = sender.stop().await;
    assert_eq!(rw.stats().samples_sent, Known::count());
    assert_eq!(receiver.accepted(), known.expected(&[]));
}

#[tokio::test]
async fn a_second_run_on_the_same_handle_returns_at_once() {
    let receiver = Receiver::start([]).await;
    let sender = Sender::start(&config(receiver.url()));
    // A heartbeat means the first run is going.
    common::poll("a heartbeat", Duration::from_secs(30), || {
        let beats = sender.beats.load(Ordering::Relaxed);
        async move { (beats > 0).then_some(()) }
    })
    .await;
    let second = sender.rw.run(CancellationToken::new(), || {});
    tokio::time::timeout(Duration::from_secs(30), second).await.expect("the second run returns by itself");
    sender.stop().await;
}

#[tokio::test]
async fn full_batches_go_at_once_and_the_rest_waits_for_the_interval() {
    let receiver = Receiver::start([]).await;
    // An interval that never comes during the test: only full batches can go.
    let config = RemoteWriteConfig { interval_ms: 3_600_000, max_batch_samples: 10, ..config(receiver.url()) };
    let sender = Sender::start(&config);
    let server = ServerRef { id: "s1", name: "web-1", server_type: "web", source: "agent" };
    for t in 0..25 {
        sender.rw.push(&server, t, [("cpu", t as f64)]);
    }
    let stats = stats_until(&sender.rw, "two full batches", |s| s.samples_sent == 20).await;
    assert_eq!((stats.requests, stats.queue_len), (2, 5));
    assert!(receiver.received().iter().all(|r| r.request.timeseries[0].samples.len() == 10));
    // Stopping sends the partial batch.
    let rw = sender.stop().await;
    assert_eq!((rw.stats().samples_sent, rw.stats().queue_len), (25, 0));
}
