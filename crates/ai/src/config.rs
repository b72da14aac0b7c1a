//! The `[ai]` configuration section and its resolution against the environment (keys never live in files).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Name of the Gemini provider built from `GOOGLE_AI_*` variables.
pub const GOOGLE_AI: &str = "google-ai";
/// Name of the built-in engine.
pub const LOCAL: &str = "local";
/// The default Gemini model when `GOOGLE_AI_MODEL` is unset.
pub const DEFAULT_GEMINI_MODEL: &str = "gemini-2.5-flash";
/// Google's public endpoint.
pub const DEFAULT_GEMINI_BASE: &str = "https://generativelanguage.googleapis.com";

/// Wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Openai,
    Gemini,
}

/// One `[[ai.providers]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    /// The variable holding the key; `None` for keyless servers (Ollama, vLLM).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The first is the default model.
    pub models: Vec<String>,
    #[serde(default)]
    pub rpm: Option<u32>,
    #[serde(default)]
    pub rpd: Option<u32>,
    #[serde(default)]
    pub tpm: Option<u32>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// The implicit `google-ai` provider; model and base URL may be overridden by `GOOGLE_AI_MODEL`
/// and `GOOGLE_AI_BASE_URL`, the key comes from `GOOGLE_AI_API_KEY` or `GEMINI_API_KEY`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleAiConfig {
    pub model: String,
    pub base_url: String,
    /// Conservative free-tier defaults: Google shows real quotas only in AI Studio.
    pub rpm: Option<u32>,
    pub rpd: Option<u32>,
    pub tpm: Option<u32>,
    pub timeout_ms: u64,
}

impl Default for GoogleAiConfig {
    fn default() -> Self {
        Self {
            model: DEFAULT_GEMINI_MODEL.to_string(),
            base_url: DEFAULT_GEMINI_BASE.to_string(),
            rpm: Some(10),
            rpd: Some(20),
            tpm: Some(250_000),
            timeout_ms: 10_000,
        }
    }
}

/// Exact-match answer cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Upper bound on cached bytes (weighed by answer size).
    pub max_bytes: u64,
    pub ttl_secs: u64,
    /// Cache every request, not only deterministic ones (temperature 0 or `cache: true`).
    pub cache_all: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { max_bytes: 8 * 1024 * 1024, ttl_secs: 600, cache_all: false }
    }
}

/// Per-provider circuit breaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long it stays open before one probe is let through.
    pub cooldown_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 5, cooldown_ms: 30_000 }
    }
}

/// The whole `[ai]` section. The binary embeds it and owns loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiConfig {
    /// The order `auto` tries; `local` is appended when missing, and is always last.
    pub chain: Vec<String>,
    pub providers: Vec<ProviderConfig>,
    pub google: GoogleAiConfig,
    pub cache: CacheConfig,
    pub breaker: BreakerConfig,
    /// Requests that may wait for quota at once (all engines together); beyond it, fail over or 503.
    pub queue_capacity: usize,
    /// Tries per engine for retryable faults (connect errors, 5xx before any byte was streamed).
    pub max_attempts: u32,
    /// Deadline when the client gives none.
    pub default_timeout_ms: u64,
    /// Upper bound on a client's `timeoutMs`.
    pub max_timeout_ms: u64,
    /// Time kept back from remote engines so `local` can still answer within the deadline.
    pub local_reserve_ms: u64,
    pub connect_timeout_ms: u64,
    /// Longest silence between two reads of a response or stream.
    pub read_timeout_ms: u64,
    /// Tool-call rounds before the loop gives up and returns the last answer.
    pub max_tool_steps: u32,
}

impl Default for AiConfig {
    fn default() -> Self {
        Self {
            chain: vec![GOOGLE_AI.to_string(), LOCAL.to_string()],
            providers: Vec::new(),
            google: GoogleAiConfig::default(),
            cache: CacheConfig::default(),
            breaker: BreakerConfig::default(),
            queue_capacity: 64,
            max_attempts: 2,
            default_timeout_ms: 15_000,
            max_timeout_ms: 60_000,
            local_reserve_ms: 250,
            connect_timeout_ms: 3_000,
            read_timeout_ms: 30_000,
            max_tool_steps: 4,
        }
    }
}

impl AiConfig {
    /// Checks what serde cannot: returns `(key, reason)` for every problem, empty when valid.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        let mut names = vec![GOOGLE_AI.to_string(), LOCAL.to_string()];
        for (i, p) in self.providers.iter().enumerate() {
            let key = |f: &str| format!("ai.providers[{i}].{f}");
            if p.name.is_empty() || p.name.contains('/') || p.name.contains(char::is_whitespace) {
                errs.push((key("name"), "must be non-empty without '/' or spaces".into()));
            }
            if p.name == LOCAL {
                errs.push((key("name"), "`local` is the built-in engine".into()));
            } else if names.iter().skip(2).any(|n| n == &p.name) {
                errs.push((key("name"), format!("duplicate provider name `{}`", p.name)));
            }
            names.push(p.name.clone());
            if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) {
                errs.push((key("base_url"), "must be an http(s) URL".into()));
            }
            if p.models.is_empty() || p.models.iter().any(|m| m.trim().is_empty()) {
                errs.push((key("models"), "must list at least one non-empty model".into()));
            }
            if p.api_key_env.as_deref().is_some_and(|e| e.trim().is_empty()) {
                errs.push((key("api_key_env"), "must name a variable".into()));
            }
            if p.timeout_ms == Some(0) {
                errs.push((key("timeout_ms"), "must be positive".into()));
            }
            for (f, v) in [("rpm", p.rpm), ("rpd", p.rpd), ("tpm", p.tpm)] {
                if v == Some(0) {
                    errs.push((key(f), "must be positive (omit it for no limit)".into()));
                }
            }
        }
        for (i, c) in self.chain.iter().enumerate() {
            if !names.contains(c) {
                errs.push((format!("ai.chain[{i}]"), format!("unknown engine `{c}`")));
            }
        }
        if self.chain.iter().position(|c| c == LOCAL).is_some_and(|p| p + 1 != self.chain.len()) {
            errs.push(("ai.chain".into(), "`local` must be last".into()));
        }
        if self.google.model.trim().is_empty() {
            errs.push(("ai.google.model".into(), "must not be empty".into()));
        }
        let positive = [
            ("ai.cache.max_bytes", self.cache.max_bytes),
            ("ai.breaker.failure_threshold", u64::from(self.breaker.failure_threshold)),
            ("ai.max_attempts", u64::from(self.max_attempts)),
            ("ai.default_timeout_ms", self.default_timeout_ms),
            ("ai.connect_timeout_ms", self.connect_timeout_ms),
            ("ai.read_timeout_ms", self.read_timeout_ms),
            ("ai.google.timeout_ms", self.google.timeout_ms),
        ];
        for (k, v) in positive {
            if v == 0 {
                errs.push((k.to_string(), "must be positive".into()));
            }
        }
        if self.max_timeout_ms < self.default_timeout_ms {
            errs.push(("ai.max_timeout_ms".into(), "must be at least default_timeout_ms".into()));
        }
        errs
    }
}

/// A provider key. `Debug` and `Serialize` print `***` so it can never reach a log or a response.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    /// The key itself, for the one place that sets a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for ApiKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// A provider after its key was read from the environment.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedProvider {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    /// `None` when the variable is unset: the engine is then skipped as `not_configured`.
    pub api_key: Option<ApiKey>,
    /// Whether a key is required (keyless servers have no `api_key_env`).
    pub needs_key: bool,
    pub models: Vec<String>,
    pub rpm: Option<u32>,
    pub rpd: Option<u32>,
    pub tpm: Option<u32>,
    pub timeout_ms: u64,
}

impl ResolvedProvider {
    /// Whether the provider can be called at all.
    pub fn usable(&self) -> bool {
        !self.needs_key || self.api_key.is_some()
    }
    pub fn default_model(&self) -> &str {
        self.models.first().map(String::as_str).unwrap_or("")
    }
}

impl AiConfig {
    /// Resolves providers against the process environment.
    pub fn resolve_providers(&self) -> Vec<ResolvedProvider> {
        self.resolve_providers_with(&|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Resolves providers with `env` as the environment (tests pass a map). An explicit
    /// `[[ai.providers]]` named `google-ai` replaces the implicit one.
    pub fn resolve_providers_with(&self, env: &dyn Fn(&str) -> Option<String>) -> Vec<ResolvedProvider> {
        let mut out = Vec::new();
        if !self.providers.iter().any(|p| p.name == GOOGLE_AI) {
            let g = &self.google;
            let key = env("GOOGLE_AI_API_KEY").or_else(|| env("GEMINI_API_KEY"));
            out.push(ResolvedProvider {
                name: GOOGLE_AI.to_string(),
                kind: ProviderKind::Gemini,
                base_url: env("GOOGLE_AI_BASE_URL").unwrap_or_else(|| g.base_url.clone()),
                api_key: key.map(ApiKey::new),
                needs_key: true,
                models: vec![env("GOOGLE_AI_MODEL").unwrap_or_else(|| g.model.clone())],
                rpm: g.rpm,
                rpd: g.rpd,
                tpm: g.tpm,
                timeout_ms: g.timeout_ms,
            });
        }
        for p in &self.providers {
            out.push(ResolvedProvider {
                name: p.name.clone(),
                kind: p.kind,
                base_url: p.base_url.clone(),
                api_key: p.api_key_env.as_deref().and_then(env).map(ApiKey::new),
                needs_key: p.api_key_env.is_some(),
                models: p.models.clone(),
                rpm: p.rpm,
                rpd: p.rpd,
                tpm: p.tpm,
                timeout_ms: p.timeout_ms.unwrap_or(10_000),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_keys_are_masked() {
        assert!(AiConfig::default().validate().is_empty());
        let cfg = AiConfig::default();
        let env = |n: &str| (n == "GEMINI_API_KEY").then(|| "sekret".to_string());
        let p = cfg.resolve_providers_with(&env);
        assert_eq!(p[0].name, GOOGLE_AI);
        assert!(p[0].usable());
        assert!(!format!("{p:?}").contains("sekret"));
        assert!(!serde_json::to_string(&p).unwrap().contains("sekret"));
    }

    #[test]
    fn the_documented_section_parses_and_unknown_keys_are_named() {
        let text = r#"
            chain = ["google-ai", "groq", "local"]
            queue_capacity = 16
            [cache]
            max_bytes = 1048576
            ttl_secs = 60
            [[providers]]
            name = "groq"
            kind = "openai"
            base_url = "https://api.groq.com/openai/v1"
            api_key_env = "GROQ_API_KEY"
            models = ["llama-3.3-70b-versatile"]
            rpm = 30
            rpd = 14400
            tpm = 6000
            timeout_ms = 8000
        "#;
        let cfg: AiConfig = toml::from_str(text).unwrap();
        assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
        assert_eq!(cfg.providers[0].rpm, Some(30));
        assert_eq!(cfg.google.model, DEFAULT_GEMINI_MODEL);
        let err = toml::from_str::<AiConfig>("[[providers]]\nname = \"x\"\napi_key = \"inline\"").unwrap_err();
        assert!(err.to_string().contains("api_key"), "{err}");
    }

    #[test]
    fn validate_names_bad_keys() {
        let mut cfg = AiConfig { chain: vec!["local".into(), "nope".into()], ..AiConfig::default() };
        cfg.providers.push(ProviderConfig {
            name: "local".into(),
            kind: ProviderKind::Openai,
            base_url: "ftp://x".into(),
            api_key_env: None,
            models: vec![],
            rpm: Some(0),
            rpd: None,
            tpm: None,
            timeout_ms: None,
        });
        let keys: Vec<String> = cfg.validate().into_iter().map(|(k, _)| k).collect();
        for k in [
            "ai.providers[0].name",
            "ai.providers[0].base_url",
            "ai.providers[0].models",
            "ai.providers[0].rpm",
            "ai.chain[1]",
            "ai.chain",
        ] {
            assert!(keys.iter().any(|x| x == k), "missing {k} in {keys:?}");
        }
    }
}
