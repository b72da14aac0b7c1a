//! Real receivers on loopback: Debian's Prometheus (remote-write receiver on) and VictoriaMetrics.
//! The known samples are pushed, then read back through each one's HTTP API and compared exactly:
//! metric names, every label, timestamps to the millisecond and values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Daemon, Known, Labels, Sender, SeriesSet, now_ms, poll, stats_until};
use remote_write::{RemoteWriteConfig, ServerRef};
use serde_json::Value;

fn config(url: String) -> RemoteWriteConfig {
    RemoteWriteConfig {
        url,
        interval_ms: 100,
        labels: BTreeMap::from([("job".into(), "openmanager".into())]),
        ..Default::default()
    }
}

const EXTRA: &[(&str, &str)] = &[("job", "openmanager")];

fn url(base: &str, path: &str, query: &[(&str, &str)]) -> reqwest::Url {
    let mut url = reqwest::Url::parse(&format!("{base}{path}")).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    url
}

fn labels(metric: &Value) -> Labels {
    metric.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect()
}

/// Every raw sample of the known servers in the last hour, through the query API: an instant
/// query of a range selector returns stored samples unchanged.
async fn prometheus_series(base: &str) -> SeriesSet {
    let response: Value = common::client()
        .get(url(
            base,
            "/api/v1/query",
            &[("query", r#"{server_id=~"srv-.*"}[1h]"#), ("time", &(now_ms() / 1000 + 1).to_string())],
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["status"], "success", "{response}");
    let mut set = SeriesSet::new();
    for series in response["data"]["result"].as_array().unwrap() {
        let points = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let ms = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                (ms, p[1].as_str().unwrap().parse::<f64>().unwrap())
            })
            .collect();
        set.insert(labels(&series["metric"]), points);
    }
    set
}

/// The same from VictoriaMetrics' export API (JSON lines of raw samples), after asking it to make
/// what it buffered searchable.
async fn victoria_series(base: &str) -> SeriesSet {
    let client = common::client();
    client.get(format!("{base}/internal/force_flush")).send().await.unwrap();
    let text = client
        .get(url(
            base,
            "/api/v1/export",
            &[("match[]", r#"{server_id=~"srv-.*"}"#), ("start", &(now_ms() / 1000 - 3600).to_string())],
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut set = SeriesSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let series: Value = serde_json::from_str(line).unwrap();
        let values = series["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap());
        let times = series["timestamps"].as_array().unwrap().iter().map(|t| t.as_i64().unwrap());
        let mut points: Vec<(i64, f64)> = times.zip(values).collect();
        points.sort_by_key(|p| p.0);
        set.insert(labels(&series["metric"]), points);
    }
    set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_holds_exactly_what_was_pushed() {
    let Some(prometheus) = Daemon::prometheus("prometheus_holds_exactly_what_was_pushed").await else { return };
    let sender = Sender::start(&config(prometheus.write_url()));
    let known = Known::new();
    known.push(&sender.rw);
    stats_until(&sender.rw, "every sample sent", |s| s.samples_sent == Known::count()).await;
    let expected = known.expected(EXTRA);
    let got = poll("the samples queryable", Duration::from_secs(30), || async {
        let got = prometheus_series(&prometheus.base).await;
        (got.len() == expected.len()).then_some(got)
    })
    .await;
    assert_eq!(got, expected);

    // A sample that goes back in time is refused (400) by Prometheus: dropped, counted, not retried.
    let server = common::SERVERS[0];
    sender.rw.push(&server, known.base_ms + 30_000, [("cpu", 99.0)]);
    let stats = stats_until(&sender.rw, "the refusal", |s| s.samples_rejected == 1).await;
    assert_eq!((stats.samples_sent, stats.retries), (Known::count(), 0));
    let error = stats.last_error.unwrap().message;
    assert!(error.starts_with("HTTP 400"), "{error}");
    eprintln!("Prometheus refused the out-of-order sample with: {error}");
    assert_eq!(prometheus_series(&prometheus.base).await, expected, "nothing of the refused request was stored");
    sender.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_holds_exactly_what_was_pushed() {
    let Some(vm) = Daemon::victoria_metrics("victoria_metrics_holds_exactly_what_was_pushed").await else { return };
    let sender = Sender::start(&config(vm.write_url()));
    let known = Known::new();
    known.push(&sender.rw);
    // One more server pushed later, in a second request.
    let late = ServerRef { id: "srv-late", name: "late", server_type: "cache", source: "agent" };
    stats_until(&sender.rw, "the first batch sent", |s| s.samples_sent == Known::count()).await;
    sender.rw.push(&late, known.base_ms, [("memory", 42.5)]);
    let stats = stats_until(&sender.rw, "every sample sent", |s| s.samples_sent == Known::count() + 1).await;
    assert_eq!((stats.requests, stats.requests_failed), (2, 0));

    let mut expected = known.expected(EXTRA);
    let late_labels: Labels = [
        ("__name__", "openmanager_server_memory_percent"),
        ("instance", "late"),
        ("job", "openmanager"),
        ("server_id", "srv-late"),
        ("server_type", "cache"),
        ("source", "agent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    expected.insert(late_labels, vec![(known.base_ms, 42.5)]);
    let got = poll("the samples exported", Duration::from_secs(30), || async {
        let got = victoria_series(&vm.base).await;
        (got.len() == expected.len() && got.values().map(Vec::len).sum::<usize>() == Known::count() as usize + 1)
            .then_some(got)
    })
    .await;
    assert_eq!(got, expected);
    sender.stop().await;
}
