//! The router against loopback Gemini and OpenAI-compatible mocks: fallback, deadlines, quotas,
//! breaker, cache and coalescing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use ai::{AiError, AiRequest, CacheStatus, ChatRequest, CircuitState, Target};
use common::{GOOGLE_KEY, GROQ_KEY, Mock, Reply, Wire, config, router};

fn ask(q: &str) -> AiRequest {
    AiRequest::new(ChatRequest::user(q)).timeout(Duration::from_secs(5))
}

fn outcomes(a: &ai::AiAnswer) -> Vec<(String, String)> {
    a.attempts.iter().map(|t| (t.engine.clone(), t.outcome.clone())).collect()
}

fn pair(e: &str, o: &str) -> (String, String) {
    (e.to_string(), o.to_string())
}

#[tokio::test]
async fn gemini_answers_first_with_its_key_and_wire_format() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Text("disk is fine".into()));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let mut req = ask("how is the disk?");
    req.chat.messages.insert(0, ai::Message::system("be brief"));
    let a = r.query(req).await.unwrap();
    assert_eq!(a.text, "disk is fine");
    assert_eq!(a.engine, "google-ai");
    assert!(!a.fallback);
    assert_eq!(outcomes(&a), vec![pair("google-ai", "ok")]);
    assert_eq!(a.cache_status, CacheStatus::Bypass);
    assert_eq!(a.usage.completion_tokens, 7);
    assert_eq!(g.keys(), vec![GOOGLE_KEY.to_string()]);
    let body = &g.bodies()[0];
    assert_eq!(body["contents"][0]["parts"][0]["text"], "how is the disk?");
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
}

#[tokio::test]
async fn server_errors_are_retried_then_fail_over_to_the_next_engine() {
    let g = Mock::start(Wire::Gemini).await;
    let o = Mock::start(Wire::OpenAi).await;
    g.set_default(Reply::Status(500));
    o.set_default(Reply::Text("groq says hi".into()));
    let (cfg, env) = config(Some(&g), Some(&o));
    let a = router(&cfg, &env).query(ask("hello")).await.unwrap();
    assert_eq!(a.engine, "groq");
    assert!(a.fallback);
    assert_eq!(a.text, "groq says hi");
    assert_eq!(
        outcomes(&a),
        vec![pair("google-ai", "upstream_5xx"), pair("google-ai", "upstream_5xx"), pair("groq", "ok")]
    );
    assert_eq!(g.calls(), 2, "max_attempts = 2 for a retryable 500");
    assert_eq!(o.keys(), vec![format!("Bearer {GROQ_KEY}")]);
}

#[tokio::test]
async fn every_remote_failure_kind_ends_in_local() {
    for (reply, outcome, calls) in [
        (Reply::Status(503), "upstream_5xx", 2),
        (Reply::Malformed, "malformed", 1),
        (Reply::Status(400), "upstream_4xx", 1),
        (Reply::Cut, "transport_error", 2),
    ] {
        let g = Mock::start(Wire::Gemini).await;
        let o = Mock::start(Wire::OpenAi).await;
        g.set_default(reply.clone());
        o.set_default(reply);
        let (cfg, env) = config(Some(&g), Some(&o));
        let a = router(&cfg, &env).query(ask("cpu of web-1?")).await.unwrap();
        assert_eq!(a.engine, "local", "{outcome}");
        assert!(a.fallback);
        assert_eq!(a.text, "local answer to: cpu of web-1?");
        assert_eq!(a.intent.as_deref(), Some("general"));
        assert_eq!(a.thinking_steps.len(), 1);
        let remote: Vec<_> = a.attempts.iter().filter(|t| t.engine != "local").map(|t| t.outcome.as_str()).collect();
        assert!(remote.iter().all(|o| *o == outcome), "{outcome}: {remote:?}");
        assert_eq!(g.calls(), calls, "{outcome}");
        assert_eq!(o.calls(), calls, "{outcome}");
    }
}

#[tokio::test]
async fn a_slow_engine_is_abandoned_so_local_answers_within_the_deadline() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Delay(Duration::from_secs(30), Box::new(Reply::Text("too late".into()))));
    let (cfg, env) = config(Some(&g), None);
    let timeout = Duration::from_millis(1_000);
    let a = router(&cfg, &env).query(ask("status?").timeout(timeout)).await.unwrap();
    assert_eq!(a.engine, "local");
    assert_eq!(outcomes(&a), vec![pair("google-ai", "timeout"), pair("local", "ok")]);
    assert!(a.elapsed_ms < 1_000, "answered within the deadline: {} ms", a.elapsed_ms);
}

#[tokio::test]
async fn unconfigured_engines_are_skipped_without_an_attempt() {
    let (cfg, _) = config(None, None);
    let r = router(&cfg, &|_| None);
    let a = r.query(ask("hi")).await.unwrap();
    assert_eq!(a.engine, "local");
    assert!(!a.fallback);
    assert_eq!(outcomes(&a), vec![pair("local", "ok")]);
    let err = r.query(ask("hi").target(Target::parse("google-ai"))).await.unwrap_err();
    assert!(matches!(err, AiError::NotConfigured { .. }));
    assert_eq!(err.http_status(), 503);
    let s = r.status().await;
    assert_eq!(s.engines[0].health, "not_configured");
}

#[tokio::test]
async fn per_minute_429_fails_over_then_blocks_without_calling() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::PerMinute(28));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let a = r.query(ask("one")).await.unwrap();
    assert_eq!(a.engine, "local");
    // The 28 s wait does not fit the 5 s deadline: fail over at once.
    assert_eq!(
        outcomes(&a),
        vec![pair("google-ai", "rate_limited"), pair("google-ai", "rate_limited"), pair("local", "ok")]
    );
    assert_eq!(g.calls(), 1);
    let b = r.query(ask("two")).await.unwrap();
    assert_eq!(b.engine, "local");
    assert_eq!(g.calls(), 1, "blocked by what the 429 said, upstream not called");
    assert_eq!(b.attempts[0].ms, 0);
    // Pinned, the caller learns when to come back.
    let err = r.query(ask("three").target(Target::parse("google-ai"))).await.unwrap_err();
    assert_eq!(err.http_status(), 429);
    assert!(err.retry_after().unwrap() > Duration::from_secs(20));
}

#[tokio::test]
async fn per_minute_429_waits_when_the_deadline_allows() {
    let g = Mock::start(Wire::Gemini).await;
    g.push(Reply::PerMinute(1));
    g.set_default(Reply::Text("after the wait".into()));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let task = tokio::spawn({
        let r = r.clone();
        async move { r.query(ask("q")).await }
    });
    // While it waits for the window, it holds one place in the queue.
    let mut seen = false;
    while !task.is_finished() {
        if r.status().await.queue_depth == 1 {
            seen = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(seen, "the request waited in the queue");
    let a = task.await.unwrap().unwrap();
    assert_eq!(r.status().await.queue_depth, 0);
    assert_eq!(a.engine, "google-ai");
    assert_eq!(a.text, "after the wait");
    assert_eq!(outcomes(&a), vec![pair("google-ai", "rate_limited"), pair("google-ai", "ok")]);
    assert!(!a.fallback);
}

#[tokio::test]
async fn per_day_429_marks_the_model_exhausted_until_pacific_midnight() {
    let g = Mock::start(Wire::Gemini).await;
    let o = Mock::start(Wire::OpenAi).await;
    g.set_default(Reply::PerDay);
    let (cfg, env) = config(Some(&g), Some(&o));
    let r = router(&cfg, &env);
    let a = r.query(ask("one")).await.unwrap();
    assert_eq!(a.engine, "groq");
    assert_eq!(outcomes(&a), vec![pair("google-ai", "quota_day"), pair("groq", "ok")]);
    let b = r.query(ask("two")).await.unwrap();
    assert_eq!(b.engine, "groq");
    assert_eq!(b.attempts[0].outcome, "quota_day");
    assert_eq!(g.calls(), 1, "a spent day is not retried");
    let s = r.status().await;
    let google = s.engines.iter().find(|e| e.name == "google-ai").unwrap();
    assert!(google.quota.day_exhausted);
    // The other configured model of a provider is a separate budget only on the provider
    // that hit it; pinning the exhausted one answers 429 with the time to midnight.
    let err = r.query(ask("three").target(Target::parse("google-ai"))).await.unwrap_err();
    assert!(matches!(err, AiError::QuotaExhausted { .. }));
    assert!(err.retry_after().unwrap() <= Duration::from_secs(25 * 3600));
}

#[tokio::test]
async fn openai_retry_after_is_honoured() {
    let o = Mock::start(Wire::OpenAi).await;
    o.set_default(Reply::RetryAfter(120));
    let (cfg, env) = config(None, Some(&o));
    let r = router(&cfg, &env);
    let a = r.query(ask("x")).await.unwrap();
    assert_eq!(a.engine, "local");
    let _ = r.query(ask("y")).await.unwrap();
    assert_eq!(o.calls(), 1, "blocked for the Retry-After");
}

#[tokio::test]
async fn local_budget_fails_over_without_calling_the_upstream() {
    let o = Mock::start(Wire::OpenAi).await;
    let (mut cfg, env) = config(None, Some(&o));
    cfg.providers[0].rpm = Some(1);
    let r = router(&cfg, &env);
    assert_eq!(r.query(ask("a")).await.unwrap().engine, "groq");
    let b = r.query(ask("b")).await.unwrap();
    assert_eq!(b.engine, "local");
    assert_eq!(outcomes(&b)[0], pair("groq", "rate_limited"));
    assert_eq!(o.calls(), 1);
    let s = r.status().await;
    assert_eq!(s.engines.iter().find(|e| e.name == "groq").unwrap().quota.minute_requests, Some(0));
}

#[tokio::test]
async fn a_full_queue_fails_over_or_answers_503() {
    let o = Mock::start(Wire::OpenAi).await;
    let (mut cfg, env) = config(None, Some(&o));
    cfg.providers[0].rpm = Some(1);
    cfg.queue_capacity = 0;
    cfg.max_timeout_ms = 120_000;
    let r = router(&cfg, &env);
    let _ = r.query(ask("a")).await.unwrap();
    // The window frees within the deadline, but nobody may wait.
    let long = |q: &str| ask(q).timeout(Duration::from_secs(90));
    let b = r.query(long("b")).await.unwrap();
    assert_eq!(outcomes(&b)[0], pair("groq", "queue_full"));
    let err = r.query(long("c").target(Target::parse("groq"))).await.unwrap_err();
    assert!(matches!(err, AiError::QueueFull { .. }));
    assert_eq!(err.http_status(), 503);
    assert!(err.retry_after().is_some());
}

#[tokio::test]
async fn the_circuit_opens_after_consecutive_failures() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Status(500));
    let (mut cfg, env) = config(Some(&g), None);
    cfg.breaker.failure_threshold = 2;
    cfg.max_attempts = 1;
    let r = router(&cfg, &env);
    for q in ["a", "b"] {
        assert_eq!(r.query(ask(q)).await.unwrap().engine, "local");
    }
    let c = r.query(ask("c")).await.unwrap();
    assert_eq!(outcomes(&c), vec![pair("google-ai", "circuit_open"), pair("local", "ok")]);
    assert_eq!(g.calls(), 2);
    let s = r.status().await;
    let google = &s.engines[0];
    assert_eq!(google.circuit, CircuitState::Open);
    assert_eq!(google.errors.get("upstream_5xx"), Some(&2));
    let err = r.query(ask("d").target(Target::parse("google-ai"))).await.unwrap_err();
    assert_eq!(err.http_status(), 503);
}

#[tokio::test]
async fn deterministic_requests_are_cached_and_others_bypass() {
    let g = Mock::start(Wire::Gemini).await;
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let det = |q: &str| {
        let mut req = ask(q);
        req.chat.temperature = Some(0.0);
        req
    };
    let a = r.query(det("same")).await.unwrap();
    assert_eq!(a.cache_status, CacheStatus::Miss);
    let b = r.query(det("same")).await.unwrap();
    assert_eq!(b.cache_status, CacheStatus::Hit);
    assert_eq!(b.text, a.text);
    assert_eq!(b.engine, "google-ai");
    assert!(b.attempts.is_empty());
    assert_eq!(g.calls(), 1);
    assert_eq!(r.query(ask("same")).await.unwrap().cache_status, CacheStatus::Bypass);
    assert_eq!(r.query(ask("same").cache(true)).await.unwrap().cache_status, CacheStatus::Miss);
    assert_eq!(g.calls(), 3);
    let mut other = det("same");
    other.chat.max_tokens = Some(10);
    assert_eq!(r.query(other).await.unwrap().cache_status, CacheStatus::Miss, "every parameter is in the key");
    let s = r.status().await;
    assert_eq!(s.cache.entries, 3);
    assert!(s.cache.bytes > 0);
    assert_eq!(s.cache.hits, 1);
}

#[tokio::test]
async fn local_answers_are_not_cached() {
    let (cfg, _) = config(None, None);
    let r = router(&cfg, &|_| None);
    let q = || ask("q").cache(true);
    assert_eq!(r.query(q()).await.unwrap().cache_status, CacheStatus::Miss);
    assert_eq!(r.query(q()).await.unwrap().cache_status, CacheStatus::Miss);
}

#[tokio::test]
async fn identical_concurrent_requests_share_one_upstream_call() {
    let g = Mock::start(Wire::Gemini).await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    g.set_default(Reply::Gated(gate.clone(), Box::new(Reply::Text("shared".into()))));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move { r.query(ask("same question").cache(true)).await })
        })
        .collect();
    g.wait_calls(1).await;
    gate.add_permits(100);
    let mut statuses = Vec::new();
    for t in tasks {
        let a = t.await.unwrap().unwrap();
        assert_eq!(a.text, "shared");
        statuses.push(a.cache_status);
    }
    assert_eq!(g.calls(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == CacheStatus::Miss).count(), 1);
}

#[tokio::test]
async fn pinning_and_unknown_engines() {
    let g = Mock::start(Wire::Gemini).await;
    let o = Mock::start(Wire::OpenAi).await;
    let (cfg, env) = config(Some(&g), Some(&o));
    let r = router(&cfg, &env);
    let a = r.query(ask("x").target(Target::parse("groq/other-model"))).await.unwrap();
    assert_eq!((a.engine.as_str(), a.model.as_str()), ("groq", "other-model"));
    assert_eq!(o.bodies()[0]["model"], "other-model");
    assert_eq!(r.query(ask("x").target(Target::parse("local"))).await.unwrap().engine, "local");
    for bad in ["nope", "groq/not-listed"] {
        let err = r.query(ask("x").target(Target::parse(bad))).await.unwrap_err();
        assert_eq!(err.http_status(), 404, "{bad}");
    }
    let err = r.query(AiRequest::new(ChatRequest::user("  "))).await.unwrap_err();
    assert_eq!(err.http_status(), 400);
    assert!(r.model_ids().contains(&"groq/llama-test".to_string()));
    assert_eq!(g.calls(), 0);
}

#[tokio::test]
async fn status_reports_health_latency_and_metrics() {
    let g = Mock::start(Wire::Gemini).await;
    let o = Mock::start(Wire::OpenAi).await;
    let (cfg, env) = config(Some(&g), Some(&o));
    let r = router(&cfg, &env);
    r.check_health().await;
    let _ = r.query(ask("x")).await.unwrap();
    let s = r.status().await;
    assert_eq!(s.chain, vec!["google-ai", "groq", "local"]);
    assert!(s.engines.iter().all(|e| e.health == "up"), "{:?}", s.engines);
    assert_eq!(s.engines[0].latency_ms.count, 1);
    assert_eq!(s.engines[0].circuit, CircuitState::Closed);
    assert_eq!(g.calls(), 1, "health checks spend no generation calls");
    let mut reg = prometheus_client::registry::Registry::default();
    r.metrics().register(&mut reg);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
    assert!(text.contains("ai_attempts_total{engine=\"google-ai\",outcome=\"ok\"} 1"), "{text}");
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains(GOOGLE_KEY) && !json.contains(GROQ_KEY));
}

#[tokio::test]
async fn a_half_open_circuit_lets_one_probe_through_and_closes_on_success() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Status(503));
    let (mut cfg, env) = config(Some(&g), None);
    cfg.breaker.failure_threshold = 1;
    cfg.breaker.cooldown_ms = 1;
    cfg.max_attempts = 1;
    let r = router(&cfg, &env);
    assert_eq!(r.query(ask("a")).await.unwrap().engine, "local");
    // Poll (with a bound) until the 1 ms cool-down has passed.
    let mut polls = 0;
    while r.status().await.engines[0].circuit != CircuitState::HalfOpen {
        polls += 1;
        assert!(polls < 100_000, "circuit never half-opened");
        tokio::task::yield_now().await;
    }
    g.set_default(Reply::Text("recovered".into()));
    let a = r.query(ask("b")).await.unwrap();
    assert_eq!(a.engine, "google-ai");
    assert_eq!(r.status().await.engines[0].circuit, CircuitState::Closed);
    assert_eq!(r.status().await.engines[0].health, "up");
}

#[tokio::test]
async fn a_cancelled_probe_does_not_wedge_the_breaker() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Status(503));
    let (mut cfg, env) = config(Some(&g), None);
    cfg.breaker.failure_threshold = 1;
    cfg.breaker.cooldown_ms = 1;
    cfg.max_attempts = 1;
    let r = router(&cfg, &env);
    let _ = r.query(ask("a")).await.unwrap();
    while r.status().await.engines[0].circuit != CircuitState::HalfOpen {
        tokio::task::yield_now().await;
    }
    // The probe hangs and its caller goes away.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    g.set_default(Reply::Gated(gate.clone(), Box::new(Reply::Text("late".into()))));
    let probe = tokio::spawn({
        let r = r.clone();
        async move { r.query(ask("probe")).await }
    });
    g.wait_calls(2).await;
    probe.abort();
    let _ = probe.await;
    g.set_default(Reply::Text("next probe".into()));
    let a = r.query(ask("c")).await.unwrap();
    assert_eq!(a.engine, "google-ai", "{:?}", a.attempts);
}
