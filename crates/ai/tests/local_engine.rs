//! The real built-in engine behind the router, fed through a `FactsSource` as the binary does: facts
//! fetched per question (exactly what it needs), follow-ups from the request's earlier messages, the
//! clarify and window metadata, and the explain API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "eval/mod.rs"]
mod eval;

use std::sync::Arc;

use ai::local::{FixtureSource, Lang, Metric};
use ai::{AiConfig, AiRequest, ChatRequest, EngineBackend, Message, Router, StreamEvent};
use futures_util::StreamExt;

fn router(source: Arc<FixtureSource>) -> Router {
    let cfg = AiConfig { chain: vec!["local".into()], ..AiConfig::default() };
    Router::with_env(&cfg, &|_| None, Arc::new(EngineBackend::new(source))).unwrap()
}

fn chat(turns: &[&str]) -> ChatRequest {
    let mut messages = Vec::new();
    for (i, t) in turns.iter().enumerate() {
        messages.push(Message::user(*t));
        if i + 1 < turns.len() {
            messages.push(Message::assistant("(earlier answer)"));
        }
    }
    ChatRequest { messages, ..ChatRequest::user("") }
}

#[tokio::test]
async fn each_question_fetches_only_what_it_needs() {
    let world = eval::World::build();
    let source = Arc::new(eval::source(&world));
    let r = router(source.clone());

    let a = r.query(AiRequest::new(ChatRequest::user("How many servers are critical right now?"))).await.unwrap();
    assert_eq!(a.engine, "local");
    assert_eq!(a.intent.as_deref(), Some("server_list"));
    assert!(a.text.contains("api-01") && a.text.contains("api-02"), "{}", a.text);
    assert!(source.needs().is_empty(), "the snapshot answers a count: {:?}", source.needs());

    let a = r.query(AiRequest::new(ChatRequest::user("cpu trend of api-01 over the last hour"))).await.unwrap();
    let needs = source.needs();
    assert_eq!(needs.len(), 1);
    let s = &needs[0].series;
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].servers.as_slice(), s[0].metric), (["api-01".to_owned()].as_slice(), Metric::Cpu));
    assert_eq!(s[0].to_ms - s[0].from_ms, 3_600_000);
    assert!(!needs[0].alerts && needs[0].events.is_none() && !needs[0].budget);
    assert_eq!(a.window, Some((s[0].from_ms, s[0].to_ms)), "the answer says the window it used");

    r.query(AiRequest::new(ChatRequest::user("Which alerts are firing?"))).await.unwrap();
    let last = source.needs().pop().unwrap();
    assert!(last.alerts && last.series.is_empty() && last.events.is_none() && !last.budget && !last.checks);
}

#[tokio::test]
async fn follow_ups_are_read_against_the_earlier_user_messages() {
    let world = eval::World::build();
    let r = router(Arc::new(eval::source(&world)));
    let web02 = world.server("web-02").unwrap().cpu;

    let a = r.query(AiRequest::new(chat(&["What's the CPU on web-01?", "and web-02?"]))).await.unwrap();
    assert_eq!(a.intent.as_deref(), Some("server_metric"));
    assert!(a.text.contains("web-02") && a.text.contains(&format!("{web02:.1}%")), "{}", a.text);

    let a = r.query(AiRequest::new(chat(&["api-01 상태 어때?", "그럼 메모리는?"]))).await.unwrap();
    let mem = world.server("api-01").unwrap().memory;
    assert_eq!(a.lang.as_deref(), Some("ko"));
    assert!(a.text.contains(&format!("{mem:.1}%")), "{}", a.text);

    let a = r
        .query(AiRequest::new(chat(&["cpu trend of api-01 over the last hour", "show the last 6 hours instead"])))
        .await
        .unwrap();
    let (from, to) = a.window.unwrap();
    assert_eq!(to - from, 6 * 3_600_000);

    // Without the earlier message, the same words are a different question.
    let a = r.query(AiRequest::new(ChatRequest::user("show the last 6 hours instead"))).await.unwrap();
    assert_eq!(a.intent.as_deref(), Some("clarify"));
    assert!(!a.clarify.is_empty());
}

#[tokio::test]
async fn unknown_servers_are_asked_back_with_the_closest_names() {
    let world = eval::World::build();
    let r = router(Arc::new(eval::source(&world)));
    let a = r.query(AiRequest::new(ChatRequest::user("status of web-09"))).await.unwrap();
    assert_eq!(a.clarify[..2], ["web-01".to_owned(), "web-02".to_owned()]);
    assert!(a.confidence.unwrap() < 0.5);
    assert!(!a.text.contains("I didn't understand"), "{}", a.text);
}

#[tokio::test]
async fn an_alert_is_explained_from_its_evidence() {
    let world = eval::World::build();
    let source = Arc::new(eval::source(&world));
    let backend = EngineBackend::new(source.clone());
    let alert = world.alerts.iter().find(|a| a.server_id == "api-01" && a.state == "firing").unwrap();
    let a = backend.explain_alert(&alert.id, Lang::En).await.unwrap();
    assert_eq!(a.intent, "explain");
    for want in ["api-01", "CPU critical", "> 90%", "node (pid 2211)", "minji"] {
        assert!(a.text.contains(want), "missing {want}: {}", a.text);
    }
    // The correlated peer is found by the analysis crate on the history fetched for it.
    assert!(a.text.contains("api-02") && a.text.contains("r = "), "{}", a.text);
    let needs = source.needs();
    assert_eq!(needs.len(), 2, "alerts first, then the history around the firing: {needs:?}");
    assert!(needs[0].alerts && needs[1].series.iter().all(|s| s.metric == Metric::Cpu && s.servers.is_empty()));

    let ko = backend.explain_alert(&alert.id, Lang::Ko).await.unwrap();
    assert_eq!(ko.lang, "ko");
    assert!(ko.text.contains("원인"), "{}", ko.text);
    assert!(backend.explain_alert("no-such-alert", Lang::En).await.is_none());
}

#[tokio::test]
async fn a_streamed_local_answer_ends_with_the_same_metadata() {
    let world = eval::World::build();
    let r = router(Arc::new(eval::source(&world)));
    let req = || AiRequest::new(chat(&["cpu trend of api-01 over the last hour", "show the last 6 hours instead"]));
    let plain = r.query(req()).await.unwrap();
    let mut stream = r.stream(req()).await.unwrap();
    let mut text = String::new();
    let mut done = None;
    while let Some(ev) = stream.events.next().await {
        match ev {
            StreamEvent::Text(t) => text.push_str(&t),
            StreamEvent::Done(a) => done = Some(a),
            other => panic!("unexpected {other:?}"),
        }
    }
    let done = done.unwrap();
    assert_eq!(text, plain.text);
    assert_eq!((done.intent.clone(), done.window), (plain.intent.clone(), plain.window));
    assert_eq!(done.intent.as_deref(), Some("trend"));
    assert!(!done.thinking_steps.is_empty());
    let mut stream = r.stream(AiRequest::new(ChatRequest::user("status of web-09"))).await.unwrap();
    let mut clarify = Vec::new();
    while let Some(ev) = stream.events.next().await {
        if let StreamEvent::Done(a) = ev {
            clarify = a.clarify.clone();
        }
    }
    assert!(clarify.contains(&"web-01".to_owned()), "{clarify:?}");
}

#[tokio::test]
async fn counts_of_one_are_singular() {
    let mut world = eval::World::build();
    world.checks.truncate(1);
    let r = router(Arc::new(eval::source(&world)));
    let a = r.query(AiRequest::new(ChatRequest::user("list the checks"))).await.unwrap();
    assert!(a.text.contains("1 check:"), "{}", a.text);
    let a = r.query(AiRequest::new(ChatRequest::user("top 3 backup servers by cpu"))).await.unwrap();
    assert!(a.text.contains("Top 1 server by"), "{}", a.text);
}
