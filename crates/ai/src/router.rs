//! The router: picks engines (the `auto` chain or one pinned engine), enforces the deadline, fails
//! over, caches, and reports status.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::time::Instant;

use crate::breaker::Breaker;
use crate::cache::{self, AnswerCache, Uncached};
use crate::config::{AiConfig, LOCAL, ProviderKind};
use crate::engine::{CallCtx, Engine, Queue};
use crate::error::AiError;
use crate::provider::Provider;
use crate::provider::client::HttpClient;
use crate::provider::local::{Local, LocalBackend};
use crate::quota::Budget;
use crate::request::{AiAnswer, AiRequest, Attempt, CacheStatus, ChatResponse, Target};
use crate::status::{AiStatus, EngineStatus, Metrics};

/// Limits copied from the configuration.
pub(crate) struct Limits {
    pub default_timeout: Duration,
    pub max_timeout: Duration,
    pub local_reserve: Duration,
    pub max_attempts: u32,
    pub cache_all: bool,
    pub cache_ttl: Duration,
    pub max_tool_steps: u32,
}

pub(crate) struct Inner {
    /// Every engine; `local` is always present.
    pub engines: Vec<Arc<Engine>>,
    /// Indices into `engines`: the `auto` order, `local` last.
    pub chain: Vec<usize>,
    pub local: usize,
    pub cache: AnswerCache,
    /// The answer cache and coalescing shared with other gateways (set once, at start).
    pub shared_answers: std::sync::OnceLock<Arc<dyn crate::shared::SharedAnswers>>,
    /// Streams in flight by cache key, so identical concurrent streams share one upstream call.
    pub flights: Arc<crate::flight::Flights>,
    pub queue: Queue,
    pub metrics: Metrics,
    pub limits: Limits,
}

/// The gateway. Cheap to clone (one `Arc`); build one per process (or per test).
#[derive(Clone)]
pub struct Router {
    pub(crate) inner: Arc<Inner>,
}

/// One step of a plan: which engine, which model, and the deadline it must finish by.
pub(crate) struct Step {
    pub engine: Arc<Engine>,
    pub model: String,
    pub deadline: Instant,
}

impl Router {
    /// Builds the router from `[ai]` and the process environment (provider keys).
    /// Errors are the same `(key, reason)` list as [`AiConfig::validate`].
    pub fn new(cfg: &AiConfig, local: Arc<dyn LocalBackend>) -> Result<Self, Vec<(String, String)>> {
        Self::new_counted(cfg, local, Counter::default())
    }

    /// Like [`Router::new`], adding the bytes of every upstream request to `upstream_bytes` (the
    /// hub's egress meter holds the same counter).
    pub fn new_counted(
        cfg: &AiConfig,
        local: Arc<dyn LocalBackend>,
        upstream_bytes: Counter,
    ) -> Result<Self, Vec<(String, String)>> {
        let env = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        Self::build(cfg, &env, local, upstream_bytes)
    }

    /// Like [`Router::new`] with `env` standing in for the environment (tests).
    pub fn with_env(
        cfg: &AiConfig,
        env: &dyn Fn(&str) -> Option<String>,
        local: Arc<dyn LocalBackend>,
    ) -> Result<Self, Vec<(String, String)>> {
        Self::build(cfg, env, local, Counter::default())
    }

    fn build(
        cfg: &AiConfig,
        env: &dyn Fn(&str) -> Option<String>,
        local: Arc<dyn LocalBackend>,
        upstream_bytes: Counter,
    ) -> Result<Self, Vec<(String, String)>> {
        let errs = cfg.validate();
        if !errs.is_empty() {
            return Err(errs);
        }
        let client =
            HttpClient::new(Duration::from_millis(cfg.connect_timeout_ms), Duration::from_millis(cfg.read_timeout_ms))
                .map_err(|e| vec![("ai".to_string(), e.to_string())])?;
        let breaker = || Breaker::new(cfg.breaker.failure_threshold, Duration::from_millis(cfg.breaker.cooldown_ms));
        let mut engines: Vec<Arc<Engine>> = cfg
            .resolve_providers_with(env)
            .into_iter()
            .map(|p| {
                if !p.usable() {
                    tracing::info!(engine = %p.name, "ai engine has no API key in the environment; skipped");
                }
                let kind = match p.kind {
                    ProviderKind::Gemini => "gemini",
                    ProviderKind::Openai => "openai",
                };
                let mut engine = Engine::new(
                    p.name.clone(),
                    kind,
                    p.models.clone(),
                    Provider::remote(&p, client.clone(), upstream_bytes.clone()),
                    Duration::from_millis(p.timeout_ms),
                    (breaker(), Budget::new(p.rpm, p.rpd, p.tpm), p.usable()),
                );
                engine.spec = crate::shared::QuotaSpec { rpm: p.rpm, rpd: p.rpd, tpm: p.tpm };
                Arc::new(engine)
            })
            .collect();
        let local_idx = engines.len();
        engines.push(Arc::new(Engine::new(
            LOCAL.into(),
            "local",
            vec![LOCAL.into()],
            Provider::Local(Local::new(local)),
            Duration::MAX,
            // The local engine does not fail, so its breaker never opens; it has no quota.
            (Breaker::new(u32::MAX, Duration::ZERO), Budget::new(None, None, None), true),
        )));
        let mut chain: Vec<usize> = cfg
            .chain
            .iter()
            .filter(|n| n.as_str() != LOCAL)
            .filter_map(|n| engines.iter().position(|e| &e.name == n))
            .collect();
        chain.push(local_idx);
        let metrics = Metrics::default();
        let inner = Inner {
            engines,
            chain,
            local: local_idx,
            cache: AnswerCache::new(cfg.cache.max_bytes, Duration::from_secs(cfg.cache.ttl_secs), metrics.clone()),
            shared_answers: std::sync::OnceLock::new(),
            flights: Arc::default(),
            queue: Queue::new(cfg.queue_capacity, metrics.clone()),
            metrics,
            limits: Limits {
                default_timeout: Duration::from_millis(cfg.default_timeout_ms),
                max_timeout: Duration::from_millis(cfg.max_timeout_ms),
                local_reserve: Duration::from_millis(cfg.local_reserve_ms),
                max_attempts: cfg.max_attempts,
                cache_all: cfg.cache.cache_all,
                cache_ttl: Duration::from_secs(cfg.cache.ttl_secs),
                max_tool_steps: cfg.max_tool_steps,
            },
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The Prometheus metrics, to register into the binary's registry.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Shares every remote engine's quota with other gateways through `shared` (set once, at
    /// start; a second call is ignored).
    pub fn set_shared_quota(&self, shared: Arc<dyn crate::shared::SharedQuota>) {
        for e in self.inner.engines.iter().filter(|e| e.kind != "local") {
            let _ = e.shared.set(shared.clone());
        }
    }

    /// Shares cached answers and in-flight requests with other gateways through `shared` (set
    /// once, at start; a second call is ignored). Only whole answers: streams are coalesced here.
    pub fn set_shared_answers(&self, shared: Arc<dyn crate::shared::SharedAnswers>) {
        let _ = self.inner.shared_answers.set(shared);
    }

    /// Model ids for `GET /v1/models`: `auto`, `local`, and `<provider>/<model>` for usable providers.
    pub fn model_ids(&self) -> Vec<String> {
        let mut ids = vec!["auto".to_string(), LOCAL.to_string()];
        for e in self.inner.engines.iter().filter(|e| e.kind != "local" && e.configured) {
            ids.extend(e.models.iter().map(|m| format!("{}/{m}", e.name)));
        }
        ids
    }

    /// Checks the request and resolves its target into engines to try, in order.
    pub(crate) fn plan(&self, req: &AiRequest, started: Instant) -> Result<Vec<Step>, AiError> {
        let chat = &req.chat;
        if chat.messages.is_empty() || chat.last_user_text().trim().is_empty() {
            return Err(AiError::InvalidRequest("a non-empty user message is required".into()));
        }
        if chat.temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
            return Err(AiError::InvalidRequest("temperature must be within 0..=2".into()));
        }
        if chat.max_tokens == Some(0) {
            return Err(AiError::InvalidRequest("maxTokens must be positive".into()));
        }
        let l = &self.inner.limits;
        let timeout = req.timeout.unwrap_or(l.default_timeout).min(l.max_timeout);
        let deadline = started + timeout;
        let engines = &self.inner.engines;
        match &req.target {
            Target::Auto => {
                // Remote engines stop early enough for `local` to answer within the deadline.
                let remote_deadline = deadline.checked_sub(l.local_reserve.min(timeout / 2)).unwrap_or(deadline);
                Ok(self
                    .inner
                    .chain
                    .iter()
                    .map(|&i| Step {
                        engine: engines[i].clone(),
                        model: engines[i].default_model().to_string(),
                        deadline: if i == self.inner.local { deadline } else { remote_deadline },
                    })
                    .collect())
            }
            Target::Pinned { engine, model } => {
                let e = engines
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(engine))
                    .ok_or_else(|| AiError::UnknownEngine(engine.clone()))?;
                let model = match model {
                    None => e.default_model().to_string(),
                    Some(m) if e.models.contains(m) || e.kind == "local" => m.clone(),
                    // Only configured models: a free-form id could spend a paid model's quota.
                    Some(m) => return Err(AiError::UnknownEngine(format!("{}/{m}", e.name))),
                };
                Ok(vec![Step { engine: e.clone(), model, deadline }])
            }
        }
    }

    /// The engines a target covers, for the cache key.
    pub(crate) fn key_engines(&self, steps: &[Step]) -> Vec<String> {
        steps.iter().map(|s| format!("{}/{}", s.engine.name, s.model)).collect()
    }

    /// Whether this request may be served from and stored in the cache.
    pub(crate) fn cacheable(&self, req: &AiRequest) -> bool {
        match req.cache {
            Some(c) => c,
            None => self.inner.limits.cache_all || req.chat.temperature == Some(0.0),
        }
    }

    /// Answers a request: the cache first when the request is deterministic, else the engines.
    pub async fn query(&self, req: AiRequest) -> Result<AiAnswer, AiError> {
        let started = Instant::now();
        let steps = self.plan(&req, started)?;
        if !self.cacheable(&req) {
            self.inner.cache.count(CacheStatus::Bypass);
            return self
                .execute(&req, steps, started)
                .await
                .map(|a| AiAnswer { cache_status: CacheStatus::Bypass, ..a });
        }
        let model = match &req.target {
            Target::Pinned { model, .. } => model.as_deref(),
            Target::Auto => None,
        };
        let key = cache::key(&self.key_engines(&steps), model, &req.chat);
        let this = self.clone();
        let shared_key = key.clone();
        let (result, _) = self
            .inner
            .cache
            .get_or_compute(key, async move {
                // Another gateway's answer, or the lead on computing it (local miss only).
                let deadline = steps.last().map_or(started, |s| s.deadline);
                let lead = match this.shared_lookup(&shared_key, deadline).await {
                    Ok(hit) => return Ok(hit),
                    Err(lead) => lead,
                };
                match this.execute(&req, steps, started).await {
                    // Local answers read live state; only remote answers are worth keeping.
                    Ok(a) if a.engine != LOCAL => {
                        if let Some(lead) = lead
                            && let Ok(bytes) = serde_json::to_vec(&a)
                        {
                            lead.publish(bytes).await;
                        }
                        Ok(Arc::new(a))
                    }
                    // Dropping the lead lets another gateway's waiting caller compute its own.
                    Ok(a) => Err(Uncached::Answer(Box::new(a))),
                    Err(e) => Err(Uncached::Error(e)),
                }
            })
            .await;
        result.map(|mut a| {
            if a.cache_status == CacheStatus::Hit {
                a.elapsed_ms = millis(started.elapsed());
            }
            a
        })
    }

    /// The shared cache's answer under `key` (`Ok`, marked a hit), or the lead on computing it
    /// (`Err(Some)`), or nothing shared (`Err(None)`: no shared cache, or it cannot decide).
    async fn shared_lookup(
        &self,
        key: &str,
        deadline: Instant,
    ) -> Result<Arc<AiAnswer>, Option<Box<dyn crate::shared::SharedLead>>> {
        use crate::shared::SharedLookup;
        let Some(shared) = self.inner.shared_answers.get() else { return Err(None) };
        // Held while this request may run, and waited on no longer than that.
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        match shared.lookup(key, left, left).await {
            SharedLookup::Hit(bytes) => match serde_json::from_slice::<AiAnswer>(&bytes) {
                Ok(mut a) => {
                    a.cache_status = CacheStatus::Hit;
                    a.attempts.clear();
                    Ok(Arc::new(a))
                }
                Err(e) => {
                    tracing::debug!(error = %e, "unreadable shared cache entry");
                    Err(None)
                }
            },
            SharedLookup::Lead(lead) => Err(Some(lead)),
            SharedLookup::Unavailable => Err(None),
        }
    }

    /// How long a shared cache entry lives (`[ai.cache] ttl_secs`, as the local cache).
    pub fn cache_ttl(&self) -> Duration {
        self.inner.limits.cache_ttl
    }

    /// Tries the planned engines in order until one answers.
    async fn execute(&self, req: &AiRequest, steps: Vec<Step>, started: Instant) -> Result<AiAnswer, AiError> {
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut last_error = AiError::DeadlineExceeded;
        let tokens = req.chat.estimated_tokens();
        for step in &steps {
            let e = &step.engine;
            let fallback = !attempts.is_empty();
            if e.kind == "local" {
                // Never skipped and never timed out: the last resort must answer, even late.
                let t0 = Instant::now();
                let resp = e.provider.complete(&req.chat, LOCAL).await;
                let ms =
                    e.record_ok(t0.elapsed(), resp.as_ref().map(|r| r.usage).unwrap_or_default(), &self.inner.metrics);
                attempts.push(Attempt { engine: e.name.clone(), outcome: "ok".into(), ms });
                match resp {
                    Ok(resp) => return Ok(answer(resp, e, LOCAL, fallback, attempts, started)),
                    Err(err) => {
                        last_error = AiError::Upstream { engine: e.name.clone(), outcome: err.outcome().into() };
                        continue;
                    }
                }
            }
            if !e.configured {
                last_error = AiError::NotConfigured { engine: e.name.clone() };
                continue;
            }
            if Instant::now() >= step.deadline {
                last_error = AiError::DeadlineExceeded;
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
            let chat = &req.chat;
            let model = step.model.as_str();
            let usage_of: fn(&ChatResponse) -> crate::request::Usage = |r| r.usage;
            match e.run(&cx, &mut attempts, usage_of, || e.provider.complete(chat, model)).await {
                Ok(resp) => return Ok(answer(resp, e, model, fallback, attempts, started)),
                Err(f) => last_error = f.error,
            }
        }
        Err(last_error)
    }

    /// Asks every configured engine's health endpoint (no generation quota spent) and stores
    /// the result for [`Router::status`]. The binary runs this from a periodic job.
    pub async fn check_health(&self) {
        for e in &self.inner.engines {
            if !e.configured {
                continue;
            }
            let r = tokio::time::timeout(Duration::from_secs(10), e.provider.health(e.default_model())).await;
            let mut st = e.lock();
            st.stats.health = match r {
                Ok(Ok(())) => "up",
                _ => "down",
            };
            st.stats.checked_at = Some(jiff::Timestamp::now());
        }
    }

    /// Each configured engine's quota left and circuit, without waiting (for Prometheus at scrape time).
    pub fn quotas(&self) -> Vec<(String, crate::quota::QuotaLeft, crate::breaker::CircuitState)> {
        let now = Instant::now();
        let wall = jiff::Timestamp::now();
        self.inner
            .engines
            .iter()
            .filter(|e| e.configured)
            .map(|e| {
                let mut st = e.lock();
                let quota = st.budget.left(e.default_model(), now, wall);
                (e.name.clone(), quota, st.breaker.state(now))
            })
            .collect()
    }

    /// Everything `GET /api/ai/status` shows. No IO: reads the state calls and checks left.
    pub async fn status(&self) -> AiStatus {
        let now = Instant::now();
        let wall = jiff::Timestamp::now();
        let engines = self
            .inner
            .engines
            .iter()
            .map(|e| {
                let mut st = e.lock();
                let quota = st.budget.left(e.default_model(), now, wall);
                EngineStatus {
                    name: e.name.clone(),
                    kind: e.kind,
                    models: e.models.clone(),
                    configured: e.configured,
                    health: if e.kind == "local" { "up" } else { st.stats.health },
                    checked_at: st.stats.checked_at.map(|t| t.to_string()),
                    circuit: st.breaker.state(now),
                    quota,
                    latency_ms: st.stats.percentiles(),
                    requests: st.stats.requests,
                    errors: st.stats.errors.clone(),
                    tokens: st.stats.tokens,
                    last_error: st.stats.last_error.clone(),
                }
            })
            .collect();
        AiStatus {
            engines,
            chain: self.inner.chain.iter().map(|&i| self.inner.engines[i].name.clone()).collect(),
            cache: self.inner.cache.stats().await,
            queue_depth: self.inner.queue.depth(),
            queue_capacity: self.inner.queue.capacity(),
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Builds the router's answer from an engine's response.
pub(crate) fn answer(
    resp: ChatResponse,
    engine: &Engine,
    model: &str,
    fallback: bool,
    attempts: Vec<Attempt>,
    started: Instant,
) -> AiAnswer {
    let local = resp.local;
    AiAnswer {
        text: resp.text,
        tool_calls: resp.tool_calls,
        engine: engine.name.clone(),
        // The configured id (not the provider's version string), so the answer can pin it again.
        model: model.to_string(),
        fallback,
        attempts,
        cache_status: CacheStatus::Miss,
        usage: resp.usage,
        finish_reason: resp.finish_reason,
        intent: local.as_ref().map(|l| l.intent.clone()),
        confidence: local.as_ref().map(|l| l.confidence),
        lang: local.as_ref().map(|l| l.lang.clone()),
        clarify: local.as_ref().map(|l| l.clarify.clone()).unwrap_or_default(),
        window: local.as_ref().and_then(|l| l.window),
        thinking_steps: local.map(|l| l.thinking_steps).unwrap_or_default(),
        elapsed_ms: millis(started.elapsed()),
    }
}
