//! Streamed answers: live deltas from both wire formats, fail-over before the first delta, no
//! retry after it, and cached answers replayed as a stream.

mod common;

use std::time::Duration;

use ai::{AiRequest, AiStream, CacheStatus, ChatRequest, StreamEvent};
use common::{Mock, Reply, Wire, config, router};
use futures_util::StreamExt;
use serde_json::json;

fn ask(q: &str) -> AiRequest {
    AiRequest::new(ChatRequest::user(q)).timeout(Duration::from_secs(5))
}

async fn collect(s: AiStream) -> (String, Vec<StreamEvent>) {
    let events: Vec<StreamEvent> = s.events.collect().await;
    let text = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    (text, events)
}

#[tokio::test]
async fn gemini_stream_delivers_deltas_and_a_final_answer() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Text("streamed from gemini".into()));
    let (cfg, env) = config(Some(&g), None);
    let s = router(&cfg, &env).stream(ask("q")).await.unwrap();
    assert_eq!(s.engine, "google-ai");
    assert!(!s.fallback);
    let (text, events) = collect(s).await;
    assert_eq!(text, "streamed from gemini");
    assert!(events.iter().filter(|e| matches!(e, StreamEvent::Text(_))).count() >= 2);
    match events.last() {
        Some(StreamEvent::Done(a)) => {
            assert_eq!(a.text, "streamed from gemini");
            assert_eq!(a.finish_reason.as_deref(), Some("STOP"));
            assert_eq!(a.usage.completion_tokens, 7);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn openai_stream_assembles_tool_call_fragments() {
    let o = Mock::start(Wire::OpenAi).await;
    o.set_default(Reply::Tool { name: "get_server".into(), args: json!({"id": "web-1", "metric": "cpu"}) });
    let (cfg, env) = config(None, Some(&o));
    let s = router(&cfg, &env).stream(ask("q")).await.unwrap();
    let (_, events) = collect(s).await;
    let calls: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "get_server");
    assert_eq!(calls[0].arguments, json!({"id": "web-1", "metric": "cpu"}));
    assert!(matches!(events.last(), Some(StreamEvent::Done(a)) if a.finish_reason.as_deref() == Some("tool_calls")));
    assert_eq!(o.bodies()[0]["stream"], true);
}

#[tokio::test]
async fn a_stream_failing_before_its_first_delta_fails_over() {
    let g = Mock::start(Wire::Gemini).await;
    let o = Mock::start(Wire::OpenAi).await;
    g.set_default(Reply::EmptyStream);
    o.set_default(Reply::Status(503));
    let (cfg, env) = config(Some(&g), Some(&o));
    let s = router(&cfg, &env).stream(ask("disk?")).await.unwrap();
    assert_eq!(s.engine, "local");
    assert!(s.fallback);
    let outcomes: Vec<_> = s.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, vec!["stream_cut", "upstream_5xx", "upstream_5xx", "ok"]);
    let (text, _) = collect(s).await;
    assert_eq!(text, "local answer to: disk?");
}

#[tokio::test]
async fn a_stream_cut_after_it_started_is_not_retried() {
    for wire in [Wire::Gemini, Wire::OpenAi] {
        let m = Mock::start(wire).await;
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
        m.set_default(Reply::CutWhen(gate.clone()));
        let (cfg, env) = if wire == Wire::Gemini { config(Some(&m), None) } else { config(None, Some(&m)) };
        let r = router(&cfg, &env);
        let s = r.stream(ask("q")).await.unwrap();
        assert_ne!(s.engine, "local");
        // The first delta has arrived (the stream started); now the connection breaks.
        gate.add_permits(1);
        let (text, events) = collect(s).await;
        assert_eq!(text, "partial ");
        assert!(matches!(events.last(), Some(StreamEvent::Error(e)) if e.http_status() == 502));
        assert_eq!(m.calls(), 1);
        let st = r.status().await;
        assert_eq!(
            st.engines.iter().find(|e| e.name != "local" && e.configured).unwrap().errors.get("stream_cut"),
            Some(&1)
        );
    }
}

#[tokio::test]
async fn streamed_answers_fill_the_cache_and_hits_replay_as_a_stream() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Text("one two three four five six seven eight nine ten".into()));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let s = r.stream(ask("q").cache(true)).await.unwrap();
    assert_eq!(s.cache_status, CacheStatus::Miss);
    let (first, _) = collect(s).await;
    let s = r.stream(ask("q").cache(true)).await.unwrap();
    assert_eq!(s.cache_status, CacheStatus::Hit);
    assert_eq!(s.engine, "google-ai");
    let (again, events) = collect(s).await;
    assert_eq!(again, first);
    assert!(matches!(events.last(), Some(StreamEvent::Done(a)) if a.cache_status == CacheStatus::Hit));
    // And the plain query sees the same entry.
    assert_eq!(r.query(ask("q").cache(true)).await.unwrap().cache_status, CacheStatus::Hit);
    assert_eq!(g.calls(), 1);
}

fn deterministic(q: &str) -> AiRequest {
    let mut chat = ChatRequest::user(q);
    chat.temperature = Some(0.0);
    AiRequest::new(chat).timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn identical_concurrent_streams_share_one_upstream_call() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Text("one answer for both".into()));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    // The first stream is open and unread while the second asks the same: the second follows it.
    let leader = r.stream(deterministic("same question")).await.unwrap();
    let follower = r.stream(deterministic("same question")).await.unwrap();
    assert_eq!((follower.engine.as_str(), follower.cache_status), ("google-ai", CacheStatus::Miss));
    let (a, _) = collect(leader).await;
    let (b, events) = collect(follower).await;
    assert_eq!(a, "one answer for both");
    assert_eq!(b, a, "the follower replays every delta");
    assert!(matches!(events.last(), Some(StreamEvent::Done(d)) if d.text == a));
    assert_eq!(g.calls(), 1, "one upstream call served both");
    // Finished: the next identical stream is a cache hit, not a follower.
    let again = r.stream(deterministic("same question")).await.unwrap();
    assert_eq!(again.cache_status, CacheStatus::Hit);
}

#[tokio::test]
async fn a_follower_whose_leader_goes_away_ends_with_an_error() {
    let g = Mock::start(Wire::Gemini).await;
    g.set_default(Reply::Text("never read to the end".into()));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let leader = r.stream(deterministic("q")).await.unwrap();
    let follower = r.stream(deterministic("q")).await.unwrap();
    drop(leader);
    let (_, events) = collect(follower).await;
    assert!(matches!(events.last(), Some(StreamEvent::Error(_))), "{events:?}");
    // Nothing is left waiting: a new request starts its own stream.
    let fresh = r.stream(deterministic("q")).await.unwrap();
    let (text, _) = collect(fresh).await;
    assert_eq!(text, "never read to the end");
}
