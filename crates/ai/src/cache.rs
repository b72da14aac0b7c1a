//! Exact-match answer cache: size-bounded by bytes, TTL, and one upstream call for identical
//! concurrent requests.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::AiError;
use crate::request::{AiAnswer, CacheStatus, ChatRequest, Message};
use crate::status::{CacheStats, Metrics};

/// What a computation produced that must not be stored: an error, or an answer that depends on
/// live state (the local engine reads current metrics). Waiters coalesced on it still receive it.
#[derive(Debug)]
pub(crate) enum Uncached {
    Answer(Box<AiAnswer>),
    Error(AiError),
}

/// Everything that changes the answer goes into the key, so two requests share an entry only
/// when they are the same request.
#[derive(Serialize)]
struct KeyInput<'a> {
    version: u32,
    engines: &'a [String],
    model: Option<&'a str>,
    chat: ChatRequest,
}

/// The cache key: SHA-256 of the normalised request (message text trimmed, since surrounding
/// whitespace does not change a question).
pub(crate) fn key(engines: &[String], model: Option<&str>, chat: &ChatRequest) -> String {
    let mut chat = chat.clone();
    chat.messages = chat.messages.into_iter().map(|m| Message { content: m.content.trim().to_string(), ..m }).collect();
    let input = KeyInput { version: 1, engines, model, chat };
    let bytes = serde_json::to_vec(&input).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

fn weight(a: &AiAnswer) -> u32 {
    let calls: usize = a.tool_calls.iter().map(|c| c.name.len() + c.id.len() + c.arguments.to_string().len()).sum();
    // Fixed overhead for the struct, key and moka's bookkeeping.
    u32::try_from(a.text.len() + calls + a.model.len() + a.engine.len() + 256).unwrap_or(u32::MAX)
}

pub(crate) struct AnswerCache {
    cache: Cache<String, Arc<AiAnswer>>,
    max_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    bypasses: AtomicU64,
    metrics: Metrics,
}

impl AnswerCache {
    pub fn new(max_bytes: u64, ttl: Duration, metrics: Metrics) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_k: &String, v: &Arc<AiAnswer>| weight(v))
            .time_to_live(ttl)
            .build();
        Self {
            cache,
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bypasses: AtomicU64::new(0),
            metrics,
        }
    }

    pub fn count(&self, status: CacheStatus) {
        let (counter, label) = match status {
            CacheStatus::Hit => (&self.hits, "hit"),
            CacheStatus::Miss => (&self.misses, "miss"),
            CacheStatus::Bypass => (&self.bypasses, "bypass"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.metrics.cache(label);
    }

    pub async fn get(&self, key: &str) -> Option<Arc<AiAnswer>> {
        self.cache.get(key).await
    }

    pub async fn insert(&self, key: String, answer: AiAnswer) {
        self.cache.insert(key, Arc::new(answer)).await;
    }

    /// Returns the cached answer or computes it once for all concurrent callers of the same key.
    /// `Hit` for a stored answer and for callers that waited on someone else's computation.
    pub async fn get_or_compute<F>(&self, key: String, init: F) -> (Result<AiAnswer, AiError>, CacheStatus)
    where
        F: Future<Output = Result<Arc<AiAnswer>, Uncached>>,
    {
        let (result, status) = match self.cache.entry(key).or_try_insert_with(init).await {
            // Computed now, or found in the cache shared with other gateways (marked a hit).
            Ok(entry) if entry.is_fresh() => {
                let a = (*entry.into_value()).clone();
                let status = if a.cache_status == CacheStatus::Hit { CacheStatus::Hit } else { CacheStatus::Miss };
                (Ok(a), status)
            }
            Ok(entry) => {
                let mut a = (*entry.into_value()).clone();
                a.attempts.clear();
                (Ok(a), CacheStatus::Hit)
            }
            Err(shared) => match &*shared {
                Uncached::Answer(a) => (Ok((**a).clone()), CacheStatus::Miss),
                Uncached::Error(e) => (Err(e.clone()), CacheStatus::Miss),
            },
        };
        self.count(status);
        (result.map(|a| AiAnswer { cache_status: status, ..a }), status)
    }

    pub async fn stats(&self) -> CacheStats {
        // Moka applies writes lazily; settle them so the numbers are current.
        self.cache.run_pending_tasks().await;
        let hits = self.hits.load(Ordering::Relaxed);
        let misses = self.misses.load(Ordering::Relaxed);
        CacheStats {
            entries: self.cache.entry_count(),
            bytes: self.cache.weighted_size(),
            max_bytes: self.max_bytes,
            hits,
            misses,
            bypasses: self.bypasses.load(Ordering::Relaxed),
            hit_rate: if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_covers_parameters_and_ignores_outer_whitespace() {
        let e = vec!["google-ai".to_string(), "local".to_string()];
        let a = ChatRequest::user("cpu of web-1?");
        let b = ChatRequest::user("  cpu of web-1?\n");
        assert_eq!(key(&e, None, &a), key(&e, None, &b));
        let c = ChatRequest { temperature: Some(0.5), ..a.clone() };
        assert_ne!(key(&e, None, &a), key(&e, None, &c));
        assert_ne!(key(&e, None, &a), key(&e[1..], None, &a));
        assert_ne!(key(&e, None, &a), key(&e, Some("x"), &a));
    }
}
