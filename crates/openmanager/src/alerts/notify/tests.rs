//! Delivery tests against real loopback receivers (axum on 127.0.0.1:0): exact bodies and headers per
//! kind, the webhook signature, 429 handling, isolation between channels, and the log's bound.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::alerts::notify::channel::Target;
use crate::alerts::notify::format::{hmac_sha256, webhook_body};
use crate::alerts::{Engine, EngineConfig, Metric, Observation, Op, Rule, Scope, Severity, Window};
use crate::config::Secret;
use crate::fleet::model::{ServerType, Source};

#[derive(Clone)]
enum Reply {
    Status(u16, &'static str),
    /// 429 with a `Retry-After` header.
    RetryAfter(&'static str),
    Hang,
}

struct Got {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    at: std::time::Instant,
}

#[derive(Clone)]
struct Recv {
    tx: tokio::sync::mpsc::UnboundedSender<Got>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

async fn handle(State(r): State<Recv>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let _ = r.tx.send(Got { path: uri.path().to_owned(), headers, body, at: std::time::Instant::now() });
    let reply = r.script.lock().unwrap().pop_front();
    match reply {
        None => (StatusCode::OK, "ok").into_response(),
        Some(Reply::Status(code, body)) => (StatusCode::from_u16(code).unwrap(), body.to_owned()).into_response(),
        Some(Reply::RetryAfter(secs)) => {
            (StatusCode::TOO_MANY_REQUESTS, [(axum::http::header::RETRY_AFTER, secs)], "slow down").into_response()
        }
        Some(Reply::Hang) => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}

/// A receiver answering from `script` in order, then 200; returns its base URL and what it got.
async fn receiver(script: Vec<Reply>) -> (String, tokio::sync::mpsc::UnboundedReceiver<Got>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let state = Recv { tx, script: Arc::new(Mutex::new(script.into())) };
    let app = axum::Router::new().fallback(handle).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), rx)
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Got>) -> Got {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("receiver got nothing").unwrap()
}

fn fast_config() -> NotifierConfig {
    NotifierConfig {
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_attempts: 3,
        request_timeout: Duration::from_secs(30),
        ..NotifierConfig::default()
    }
}

fn channel(id: &str, target: Target) -> Channel {
    Channel { id: id.into(), name: format!("{id} channel"), enabled: true, rate_per_minute: 100, target }
}

fn started(config: NotifierConfig, channels: Vec<Channel>) -> (Arc<Notifier>, Supervisor) {
    let notifier = Arc::new(Notifier::new(config).unwrap());
    notifier.set_channels(channels);
    let sup = Supervisor::new(CancellationToken::new());
    notifier.start(&sup);
    (notifier, sup)
}

/// A real fired event from the engine, aimed at `channels`.
fn fired(channels: &[&str]) -> crate::alerts::Event {
    let rule = Rule {
        id: "cpu".into(),
        name: "CPU high".into(),
        metric: Metric::Cpu,
        op: Op::Gt,
        threshold: 80.0,
        clear_threshold: None,
        window: Window::Latest,
        for_seconds: 0,
        severity: Severity::Critical,
        scope: Scope::default(),
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        repeat_interval_seconds: 0,
        enabled: true,
        check_id: None,
    };
    let mut engine = Engine::new(EngineConfig::default());
    engine.set_rules(vec![rule], 0);
    let obs = Observation {
        server_id: "web-1".into(),
        server_name: "Web 1".into(),
        server_type: ServerType::Web,
        source: Source::Agent,
        values: BTreeMap::from([(Metric::Cpu, 93.5)]),
        top_processes: Vec::new(),
    };
    engine.evaluate(1_700_000_000_000, &[obs]).remove(0)
}

fn header<'a>(g: &'a Got, name: &str) -> &'a str {
    g.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn wait_log(n: &Notifier, pred: impl Fn(&[DeliveryRecord]) -> bool) -> Vec<DeliveryRecord> {
    for _ in 0..500 {
        let log = n.log();
        if pred(&log) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("log never matched: {:?}", n.log());
}

#[tokio::test]
async fn webhook_body_and_valid_signature() {
    let (base, mut rx) = receiver(vec![]).await;
    let signed =
        channel("signed", Target::Webhook { url: format!("{base}/hook"), secret: Some(Secret::new("s3cret")) });
    let plain = channel("plain", Target::Webhook { url: format!("{base}/plain"), secret: None });
    let (notifier, sup) = started(fast_config(), vec![signed, plain]);
    let event = fired(&["signed"]);
    assert_eq!(notifier.dispatch(&event, 1_700_000_000_500), 1);
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/hook");
    assert_eq!(header(&got, "content-type"), "application/json");
    let expected = hmac_sha256(b"s3cret", &got.body);
    assert_eq!(header(&got, "x-openmanager-signature"), format!("sha256={}", hex::encode(expected)));
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body, webhook_body(&Notification::from_event(&event, 1_700_000_000_500)));
    assert_eq!(body["event"], "fired");
    assert_eq!(body["alert"]["serverId"], "web-1");
    assert_eq!(body["alert"]["value"], 93.5);
    assert_eq!(body["timestamp"], "2023-11-14T22:13:20.500Z");

    notifier.enqueue("plain", Notification::test("plain", 0)).unwrap();
    let got = next(&mut rx).await;
    assert!(got.headers.get("x-openmanager-signature").is_none());
    assert!(sup.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn slack_telegram_and_ntfy_shapes() {
    let (base, mut rx) = receiver(vec![]).await;
    let slack = channel("slack", Target::Slack { url: Secret::new(format!("{base}/services/T/B/X")) });
    let tg = channel(
        "tg",
        Target::Telegram {
            base_url: base.clone(),
            bot_token: Secret::new("123:ABC"),
            chat_id: "-100".into(),
            parse_mode: "HTML".into(),
        },
    );
    let ntfy = channel(
        "ntfy",
        Target::Ntfy { base_url: base.clone(), topic: "alerts".into(), token: Some(Secret::new("tk")) },
    );
    let (notifier, sup) = started(fast_config(), vec![slack, tg, ntfy]);
    let event = fired(&["slack"]);
    let n = Notification::from_event(&event, 0);

    notifier.enqueue("slack", n.clone()).unwrap();
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/services/T/B/X");
    let text = format!("*{}*\n{}", n.title, n.message);
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]})
    );

    notifier.enqueue("tg", n.clone()).unwrap();
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/bot123:ABC/sendMessage");
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"chat_id": "-100", "text": format!("<b>{}</b>\n{}", n.title, n.message.replace('>', "&gt;")), "parse_mode": "HTML"})
    );

    notifier.enqueue("ntfy", n.clone()).unwrap();
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/alerts");
    assert_eq!(got.body, n.message.as_bytes());
    assert_eq!(header(&got, "title"), "[CRITICAL] CPU high on Web 1");
    assert_eq!(header(&got, "priority"), "5");
    assert_eq!(header(&got, "tags"), "rotating_light,openmanager,fired");
    assert_eq!(header(&got, "authorization"), "Bearer tk");
    assert!(sup.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn discord_429_retry_after_is_honoured() {
    let limited = r#"{"message": "You are being rate limited.", "retry_after": 0.3, "global": false}"#;
    let (base, mut rx) = receiver(vec![Reply::Status(429, limited)]).await;
    let discord = channel("dc", Target::Discord { url: Secret::new(format!("{base}/api/webhooks/1/tok")) });
    let (notifier, sup) = started(fast_config(), vec![discord]);
    let event = fired(&["dc"]);
    notifier.dispatch(&event, 0);
    let first = next(&mut rx).await;
    let second = next(&mut rx).await;
    // The 0.3 s asked for, not the 10 ms back-off.
    assert!(second.at.duration_since(first.at) >= Duration::from_millis(300));
    assert_eq!(first.body, second.body);
    let body: serde_json::Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "content": event.title(),
            "embeds": [{"title": event.title(), "description": event.message(), "color": 0xE7_4C_3C}],
        })
    );
    let log = wait_log(&notifier, |l| l.len() == 2).await;
    assert_eq!((log[1].outcome, log[1].status, log[1].attempt), (Outcome::Retrying, Some(429), 1));
    assert_eq!((log[0].outcome, log[0].status, log[0].attempt), (Outcome::Delivered, Some(200), 2));
    assert_eq!(log[0].alert_id.as_deref(), Some(event.alert.id.as_str()));
    assert!(log.iter().all(|r| r.error.as_deref().is_none_or(|e| !e.contains("tok"))));
    assert!(sup.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn failing_channel_does_not_delay_another() {
    let (slow_base, mut slow_rx) = receiver(vec![Reply::Hang]).await;
    let (bad_base, mut bad_rx) = receiver(vec![Reply::Status(500, "x"); 10]).await;
    let (ok_base, mut ok_rx) = receiver(vec![]).await;
    let (notifier, sup) = started(
        fast_config(),
        vec![
            channel("slow", Target::Webhook { url: slow_base, secret: None }),
            channel("bad", Target::Webhook { url: bad_base, secret: None }),
            channel("ok", Target::Webhook { url: ok_base, secret: None }),
        ],
    );
    let event = fired(&["slow", "bad", "ok"]);
    assert_eq!(notifier.dispatch(&event, 0), 3);
    next(&mut slow_rx).await; // now hanging for the 30 s request timeout
    let got = next(&mut ok_rx).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&got.body).unwrap()["event"], "fired");
    // The failing channel retries max_attempts times, then gives up.
    for _ in 0..3 {
        next(&mut bad_rx).await;
    }
    let log = wait_log(&notifier, |l| l.iter().any(|r| r.channel_id == "bad" && r.outcome == Outcome::Failed)).await;
    let bad: Vec<Outcome> = log.iter().rev().filter(|r| r.channel_id == "bad").map(|r| r.outcome).collect();
    assert_eq!(bad, vec![Outcome::Retrying, Outcome::Retrying, Outcome::Failed]);
    assert!(log.iter().any(|r| r.channel_id == "ok" && r.outcome == Outcome::Delivered));
    assert!(!log.iter().any(|r| r.channel_id == "slow"));
    assert!(sup.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn delivery_log_is_bounded_and_permanent_errors_are_not_retried() {
    let (base, mut rx) = receiver(vec![Reply::Status(400, "bad"); 5]).await;
    let config = NotifierConfig { log_capacity: 3, ..fast_config() };
    let (notifier, sup) = started(config, vec![channel("w", Target::Webhook { url: base, secret: None })]);
    for i in 0..5 {
        notifier.enqueue("w", Notification::test(&format!("n{i}"), 0)).unwrap();
    }
    for _ in 0..5 {
        next(&mut rx).await;
    }
    let log = wait_log(&notifier, |l| l.first().is_some_and(|r| r.status == Some(400)) && l.len() == 3).await;
    assert!(log.iter().all(|r| r.outcome == Outcome::Failed && r.attempt == 1));
    // Five 400s, each tried once: nothing more arrives.
    assert!(tokio::time::timeout(Duration::from_millis(100), rx.recv()).await.is_err());
    assert!(sup.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn full_queue_drops_and_unknown_channel_is_refused() {
    // Not started: nothing drains the queue.
    let notifier = Notifier::new(NotifierConfig { queue_capacity: 1, ..fast_config() }).unwrap();
    notifier.upsert_channel(channel("w", Target::Webhook { url: "http://127.0.0.1:9".into(), secret: None }));
    notifier.enqueue("w", Notification::test("a", 0)).unwrap();
    assert_eq!(notifier.enqueue("w", Notification::test("b", 0)), Err(NotifyError::QueueFull("w".into())));
    assert_eq!(notifier.log()[0].outcome, Outcome::Dropped);
    assert_eq!(notifier.enqueue("nope", Notification::test("c", 0)), Err(NotifyError::UnknownChannel("nope".into())));
    assert!(notifier.remove_channel("w"));
    assert!(notifier.channels().is_empty());
}

#[tokio::test]
async fn test_sends_once_and_reports() {
    let (base, mut rx) = receiver(vec![]).await;
    let notifier = Notifier::new(fast_config()).unwrap();
    notifier.upsert_channel(channel("w", Target::Webhook { url: base, secret: None }));
    notifier.upsert_channel(channel("down", Target::Webhook { url: "http://127.0.0.1:9/x".into(), secret: None }));
    let record = notifier.test("w").await.unwrap();
    assert_eq!((record.outcome, record.status, record.event.as_str()), (Outcome::Delivered, Some(200), "test"));
    let got = next(&mut rx).await;
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["title"], "OpenManager test notification");
    let record = notifier.test("down").await.unwrap();
    assert_eq!(record.outcome, Outcome::Failed);
    assert!(record.error.as_deref().is_some_and(|e| !e.contains("127.0.0.1")), "{record:?}");
    assert!(matches!(notifier.test("nope").await, Err(NotifyError::UnknownChannel(_))));
}

#[tokio::test]
async fn silenced_events_are_not_dispatched() {
    let notifier = Notifier::new(fast_config()).unwrap();
    let mut event = fired(&["w"]);
    event.silenced = true;
    assert_eq!(notifier.dispatch(&event, 0), 0);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_waits_for_the_oldest_send_to_age_out() {
    let mut sent = VecDeque::new();
    let start = tokio::time::Instant::now();
    wait_for_rate(&mut sent, 2).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    wait_for_rate(&mut sent, 2).await;
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    wait_for_rate(&mut sent, 2).await;
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    wait_for_rate(&mut sent, 2).await;
    assert_eq!(start.elapsed(), Duration::from_secs(70));
}

#[tokio::test]
async fn channels_added_or_edited_after_start_are_served_and_retry_after_header_honoured() {
    let (first, mut first_rx) = receiver(vec![Reply::RetryAfter("1")]).await;
    let (second, mut second_rx) = receiver(vec![]).await;
    let (notifier, sup) = started(fast_config(), vec![]);
    notifier.upsert_channel(channel("w", Target::Webhook { url: first, secret: None }));
    notifier.enqueue("w", Notification::test("w", 0)).unwrap();
    let a = next(&mut first_rx).await;
    let b = next(&mut first_rx).await;
    assert!(b.at.duration_since(a.at) >= Duration::from_secs(1));
    // An edit applies to the next message without losing the worker.
    notifier.upsert_channel(channel("w", Target::Webhook { url: second, secret: None }));
    notifier.enqueue("w", Notification::test("w", 0)).unwrap();
    next(&mut second_rx).await;
    assert_eq!(notifier.channels().len(), 1);
    assert!(sup.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_rule_without_channels_goes_to_every_enabled_channel() {
    let (a_base, mut a_rx) = receiver(vec![]).await;
    let (b_base, _b_rx) = receiver(vec![]).await;
    let mut off = channel("off", Target::Webhook { url: b_base, secret: None });
    off.enabled = false;
    let (notifier, sup) =
        started(fast_config(), vec![channel("on", Target::Webhook { url: a_base, secret: None }), off]);
    assert_eq!(notifier.dispatch(&fired(&[]), 0), 1, "only the enabled channel");
    let got = next(&mut a_rx).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&got.body).unwrap()["event"], "fired");
    assert!(sup.shutdown(Duration::from_secs(5)).await);
}
