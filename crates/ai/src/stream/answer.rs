//! Streamed answers: fail over until an engine has produced its first delta, then pass deltas
//! through; replay cached answers as a stream.

use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, stream};
use tokio::time::Instant;

use crate::cache;
use crate::config::LOCAL;
use crate::engine::{CallCtx, Engine};
use crate::error::{AiError, ProviderError};
use crate::flight::Role;
use crate::request::{AiAnswer, AiRequest, Attempt, CacheStatus, ChatResponse, Delta, Target, ToolCall, Usage};
use crate::router::{Router, Step, answer, millis};
use crate::stream::{DeltaStream, replay};

/// One event of a streamed answer.
#[derive(Debug, Clone)]
pub enum StreamEvent {
    Text(String),
    ToolCall(ToolCall),
    /// The last event on success: the whole answer with its metadata (the API's final event).
    Done(Box<AiAnswer>),
    /// The engine failed after streaming had started; the stream ends here. Never retried,
    /// because the client has already seen part of an answer.
    Error(AiError),
}

/// A started stream. The fields are known before the first event, so the HTTP layer can set
/// `X-AI-Engine`, `X-Cache-Status` and `X-Fallback` headers.
pub struct AiStream {
    pub engine: String,
    pub model: String,
    pub fallback: bool,
    pub cache_status: CacheStatus,
    /// Attempts made before the stream started.
    pub attempts: Vec<Attempt>,
    pub events: BoxStream<'static, StreamEvent>,
}

struct Relay {
    deltas: DeltaStream,
    router: Router,
    engine: Arc<Engine>,
    key: Option<String>,
    partial: AiAnswer,
    started: Instant,
    done: bool,
}

impl Router {
    /// Streams an answer. Fails over (like [`Router::query`]) until an engine yields its first
    /// delta; from then on the engine is committed.
    pub async fn stream(&self, req: AiRequest) -> Result<AiStream, AiError> {
        let started = Instant::now();
        let steps = self.plan(&req, started)?;
        let key = self.cacheable(&req).then(|| {
            let model = match &req.target {
                Target::Pinned { model, .. } => model.as_deref(),
                Target::Auto => None,
            };
            cache::key(&self.key_engines(&steps), model, &req.chat)
        });
        let cache = &self.inner.cache;
        match &key {
            Some(k) => match cache.get(k).await {
                Some(hit) => {
                    cache.count(CacheStatus::Hit);
                    return Ok(replay_answer(&hit, started));
                }
                None => cache.count(CacheStatus::Miss),
            },
            None => cache.count(CacheStatus::Bypass),
        }
        // An identical stream already running: follow it instead of calling the engine again.
        let leader = match key.as_deref().map(|k| self.inner.flights.join(k)) {
            Some(Role::Follower(flight)) => return crate::flight::follow(flight).await,
            Some(Role::Leader(guard)) => Some(guard),
            None => None,
        };
        let opened = self.open_stream(&req, steps, key, started).await;
        match (leader, opened) {
            (Some(guard), Ok(s)) => Ok(guard.share(s)),
            (Some(guard), Err(e)) => {
                guard.fail(&e);
                Err(e)
            }
            (None, result) => result,
        }
    }

    /// Opens a stream on the first engine of the plan that starts one.
    async fn open_stream(
        &self,
        req: &AiRequest,
        steps: Vec<Step>,
        key: Option<String>,
        started: Instant,
    ) -> Result<AiStream, AiError> {
        let cache_status = if key.is_some() { CacheStatus::Miss } else { CacheStatus::Bypass };
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut last_error = AiError::DeadlineExceeded;
        let tokens = req.chat.estimated_tokens();
        let chat = &req.chat;
        for step in steps {
            let e = step.engine.clone();
            let fallback = !attempts.is_empty();
            // `base` carries what is known before the text: the local engine's metadata (intent, steps,
            // clarify, window), so a streamed local answer ends with the same metadata as a plain one.
            let begin =
                |model: &str, base: ChatResponse, first: Option<Delta>, deltas: DeltaStream, attempts: Vec<Attempt>| {
                    let mut partial = answer(base, &e, model, fallback, attempts.clone(), started);
                    partial.cache_status = cache_status;
                    let deltas = match first {
                        Some(d) => stream::once(async move { Ok(d) }).chain(deltas).boxed(),
                        None => deltas,
                    };
                    let relay = Relay {
                        deltas,
                        router: self.clone(),
                        engine: e.clone(),
                        key: key.clone().filter(|_| e.kind != "local"),
                        partial,
                        started,
                        done: false,
                    };
                    AiStream {
                        engine: e.name.clone(),
                        model: model.to_string(),
                        fallback,
                        cache_status,
                        attempts,
                        events: relay_events(relay),
                    }
                };
            if e.kind == "local" {
                let t0 = Instant::now();
                // The local engine answers at once: answer, then replay the text as a stream.
                if let Ok(resp) = e.provider.complete(chat, LOCAL).await {
                    let ms = e.record_ok(t0.elapsed(), Usage::default(), &self.inner.metrics);
                    attempts.push(Attempt { engine: e.name.clone(), outcome: "ok".into(), ms });
                    let deltas = replay(&resp.text, &[], resp.finish_reason.clone(), resp.usage);
                    let base = ChatResponse { local: resp.local, model: resp.model, ..ChatResponse::default() };
                    return Ok(begin(LOCAL, base, None, deltas, attempts));
                }
                continue;
            }
            if !e.configured {
                last_error = AiError::NotConfigured { engine: e.name.clone() };
                continue;
            }
            if Instant::now() >= step.deadline {
                continue;
            }
            let cx = CallCtx {
                model: &step.model,
                tokens,
                deadline: step.deadline,
                max_attempts: self.inner.limits.max_attempts,
                queue: &self.inner.queue,
                metrics: &self.inner.metrics,
            };
            let model = step.model.as_str();
            let no_usage: fn(&(Delta, DeltaStream)) -> Usage = |_| Usage::default();
            // The first delta is awaited inside the attempt, so a stream that fails before
            // producing anything still fails over like any other error.
            let opened = e
                .run(&cx, &mut attempts, no_usage, || async {
                    let mut s = e.provider.stream(chat, model).await?;
                    match s.next().await {
                        Some(Ok(d)) => Ok((d, s)),
                        Some(Err(err)) => Err(err),
                        None => Err(ProviderError::StreamCut("empty stream".into())),
                    }
                })
                .await;
            match opened {
                Ok((first, rest)) => return Ok(begin(model, ChatResponse::default(), Some(first), rest, attempts)),
                Err(f) => last_error = f.error,
            }
        }
        Err(last_error)
    }
}

fn relay_events(relay: Relay) -> BoxStream<'static, StreamEvent> {
    stream::unfold(relay, |mut r| async move {
        if r.done {
            return None;
        }
        let ev = match r.deltas.next().await {
            Some(Ok(Delta::Text(t))) => {
                r.partial.text.push_str(&t);
                StreamEvent::Text(t)
            }
            Some(Ok(Delta::ToolCall(c))) => {
                r.partial.tool_calls.push(c.clone());
                StreamEvent::ToolCall(c)
            }
            Some(Ok(Delta::Finish { reason, usage })) => {
                r.done = true;
                r.partial.finish_reason = reason;
                r.partial.usage = usage;
                r.partial.elapsed_ms = millis(r.started.elapsed());
                let inner = &r.router.inner;
                {
                    let mut st = r.engine.lock();
                    st.stats.tokens.prompt_tokens += usage.prompt_tokens;
                    st.stats.tokens.completion_tokens += usage.completion_tokens;
                }
                inner.metrics.tokens(&r.engine.name, usage);
                if let Some(k) = r.key.take() {
                    inner.cache.insert(k, r.partial.clone()).await;
                }
                StreamEvent::Done(Box::new(r.partial.clone()))
            }
            Some(Err(e)) => {
                r.done = true;
                r.engine.stream_failed(&e, &r.router.inner.metrics);
                StreamEvent::Error(AiError::Upstream { engine: r.engine.name.clone(), outcome: e.outcome().into() })
            }
            None => {
                // Parsers end with `Finish` or an error; an early end is reported as a cut.
                r.done = true;
                let e = ProviderError::StreamCut("ended early".into());
                r.engine.stream_failed(&e, &r.router.inner.metrics);
                StreamEvent::Error(AiError::Upstream { engine: r.engine.name.clone(), outcome: e.outcome().into() })
            }
        };
        Some((ev, r))
    })
    .boxed()
}

/// A cached answer as a stream, with `Hit` status and no attempts.
fn replay_answer(hit: &AiAnswer, started: Instant) -> AiStream {
    let mut done = hit.clone();
    done.cache_status = CacheStatus::Hit;
    done.attempts.clear();
    done.elapsed_ms = millis(started.elapsed());
    let deltas = replay(&hit.text, &hit.tool_calls, hit.finish_reason.clone(), hit.usage);
    let events = deltas
        .filter_map(|d| async move {
            match d {
                Ok(Delta::Text(t)) => Some(StreamEvent::Text(t)),
                Ok(Delta::ToolCall(c)) => Some(StreamEvent::ToolCall(c)),
                _ => None,
            }
        })
        .chain(stream::once(async move { StreamEvent::Done(Box::new(done)) }))
        .boxed();
    AiStream {
        engine: hit.engine.clone(),
        model: hit.model.clone(),
        fallback: hit.fallback,
        cache_status: CacheStatus::Hit,
        attempts: Vec::new(),
        events,
    }
}
