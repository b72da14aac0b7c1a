//! Quotas: concurrent reservers on several hubs get exactly the limit; token estimates are
//! settled to real use and released when a call never went out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cluster::{DayWindow, QuotaLimits, QuotaWindow, Reserve};

use crate::common::{Hub, Prefix, shared_redis};

fn today() -> DayWindow {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = now - now % 86_400_000;
    DayWindow { start_ms: start, end_ms: start + 86_400_000 }
}

fn limits() -> QuotaLimits {
    QuotaLimits::unlimited(today())
}

/// `per_hub` concurrent reservations of one request on each of four hubs; the grants.
async fn grants(p: &Prefix, per_hub: usize, limits: QuotaLimits) -> (usize, Vec<(QuotaWindow, Duration)>) {
    let mut hubs = Vec::new();
    for name in ["a", "b", "c", "d"] {
        hubs.push(Hub::start(&p.config(name)).await);
    }
    let mut tasks = Vec::new();
    for hub in &hubs {
        for _ in 0..per_hub {
            let quota = hub.quota();
            tasks.push(tokio::spawn(async move { quota.reserve("gemini", 1, 10, &limits).await.unwrap() }));
        }
    }
    let (mut granted, mut refused) = (0, Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            Reserve::Granted(r) => {
                granted += 1;
                // Settled to what the provider reported (the grants stay counted).
                hubs[0].quota().settle(r, 12).await.unwrap();
            }
            Reserve::Exhausted { window, retry_after } => refused.push((window, retry_after)),
        }
    }
    (granted, refused)
}

#[tokio::test]
async fn a_day_limit_holds_across_hubs_exactly() {
    if !shared_redis("a_day_limit_holds_across_hubs_exactly") {
        return;
    }
    let p = Prefix::new();
    let (granted, refused) = grants(&p, 25, QuotaLimits { requests_per_day: Some(17), ..limits() }).await;
    assert_eq!(granted, 17);
    assert_eq!(refused.len(), 100 - 17);
    for (window, retry_after) in refused {
        assert_eq!(window, QuotaWindow::DayRequests);
        assert!(retry_after <= Duration::from_secs(86_400), "{retry_after:?}");
    }
    let hub = Hub::start(&p.config("e")).await;
    let usage = hub.quota().usage("gemini", &today()).await.unwrap();
    assert_eq!((usage.day_requests, usage.day_tokens), (17, 17 * 12));
}

#[tokio::test]
async fn a_minute_limit_holds_across_hubs_exactly() {
    if !shared_redis("a_minute_limit_holds_across_hubs_exactly") {
        return;
    }
    let p = Prefix::new();
    let started = std::time::Instant::now();
    let (granted, refused) = grants(&p, 20, QuotaLimits { requests_per_minute: Some(13), ..limits() }).await;
    // The minute window slides: only a run longer than a minute could see a request leave it.
    if started.elapsed() < Duration::from_secs(59) {
        assert_eq!(granted, 13);
    } else {
        assert!(granted >= 13);
    }
    for (window, retry_after) in refused {
        assert_eq!(window, QuotaWindow::MinuteRequests);
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60), "{retry_after:?}");
    }
}

#[tokio::test]
async fn tokens_are_settled_and_released() {
    if !shared_redis("tokens_are_settled_and_released") {
        return;
    }
    let p = Prefix::new();
    let hub = Hub::start(&p.config("a")).await;
    let quota = hub.quota();
    let limits = QuotaLimits { tokens_per_minute: Some(1_000), ..limits() };
    let Reserve::Granted(first) = quota.reserve("openai", 1, 600, &limits).await.unwrap() else { panic!("first") };
    match quota.reserve("openai", 1, 600, &limits).await.unwrap() {
        Reserve::Exhausted { window: QuotaWindow::MinuteTokens, .. } => {}
        other => panic!("expected the token window to be full: {other:?}"),
    }
    // The call used 300 tokens, not 600: the window has room for 600 more.
    quota.settle(first, 300).await.unwrap();
    let Reserve::Granted(second) = quota.reserve("openai", 1, 600, &limits).await.unwrap() else { panic!("second") };
    let usage = quota.usage("openai", &limits.day).await.unwrap();
    assert_eq!((usage.minute_requests, usage.minute_tokens), (2, 900));
    // The second call never went out: all of it comes back.
    quota.release(second).await.unwrap();
    let usage = quota.usage("openai", &limits.day).await.unwrap();
    assert_eq!((usage.minute_requests, usage.minute_tokens, usage.day_requests, usage.day_tokens), (1, 300, 1, 300));
    // A request larger than the whole budget goes through alone, when the window is empty.
    let big = QuotaLimits { tokens_per_minute: Some(100), ..limits };
    assert!(matches!(quota.reserve("local", 1, 500, &big).await.unwrap(), Reserve::Granted(_)));
    assert!(matches!(
        quota.reserve("local", 1, 1, &big).await.unwrap(),
        Reserve::Exhausted { window: QuotaWindow::MinuteTokens, .. }
    ));
    // Providers are names, not free text.
    assert!(quota.reserve("bad name", 1, 1, &big).await.is_err());
}
