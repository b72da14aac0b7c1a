//! The real built-in engine behind the router, fed through a `FactsSource` as the binary does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ai::local::Facts;
use ai::{AiConfig, AiRequest, ChatRequest, EngineBackend, FactsSource, Router};

struct CountingFacts(AtomicUsize);

impl FactsSource for CountingFacts {
    fn facts<'a>(&'a self, _query: &'a str) -> ai::BoxFuture<'a, Facts> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Facts::default() })
    }
}

#[tokio::test]
async fn the_local_engine_answers_through_the_router_with_facts_per_request() {
    let facts = Arc::new(CountingFacts(AtomicUsize::new(0)));
    let cfg = AiConfig { chain: vec!["local".into()], ..AiConfig::default() };
    let r = Router::with_env(&cfg, &|_| None, Arc::new(EngineBackend::new(facts.clone()))).unwrap();
    for q in ["what is the cpu of web-1?", "서버 상태 알려줘"] {
        let a = r.query(AiRequest::new(ChatRequest::user(q))).await.unwrap();
        assert_eq!(a.engine, "local");
        assert!(!a.text.is_empty());
        assert!(a.intent.is_some() && a.confidence.is_some() && a.lang.is_some());
    }
    assert_eq!(facts.0.load(Ordering::SeqCst), 2);
}
