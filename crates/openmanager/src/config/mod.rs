//! The one typed configuration struct, its defaults and its validation.
//!
//! Loading happens in two phases (as TensorZero does): `sources` layers defaults < TOML < environment
//! < flags into this raw struct with unknown keys rejected, then [`Config::validate`] checks what serde
//! cannot (token lengths, origins, log filters) and names the source of each bad value.

mod alerts;
mod budget;
mod checks;
mod database;
mod hosts;
mod mcp;
mod secret;
mod sources;
mod status_page;

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use alerts::AlertsConfig;
pub use budget::BudgetConfig;
pub use checks::ChecksConfig;
pub use database::{DatabaseConfig, DatabaseUrl};
pub use hosts::HostPolicy;
pub use mcp::McpConfig;
pub use secret::Secret;
pub use sources::{ConfigError, Flags, LoadedConfig, load};
pub use status_page::StatusPageConfig;

/// Minimum length of any bearer token, so that a token cannot be guessed by brute force.
pub const MIN_TOKEN_LEN: usize = 32;

/// Everything the server can be told. Each section is also settable as `OPENMANAGER_<SECTION>__<KEY>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub log: LogConfig,
    pub fleet: FleetConfig,
    pub simulation: SimulationConfig,
    pub store: StoreConfig,
    /// Where the history lives: unset = the embedded store; `postgres://...` for several hubs.
    pub database: DatabaseConfig,
    /// Every stored sample to a Prometheus remote-write receiver (off while `url` is empty).
    pub remote_write: remote_write::RemoteWriteConfig,
    /// Redis shared by several hubs (`OPENMANAGER_REDIS_URL`); off while `url` is empty.
    pub redis: cluster::ClusterConfig,
    /// The AI gateway: engines, quotas, cache (keys only from the environment).
    pub ai: ai::AiConfig,
    pub backup: BackupConfig,
    pub alerts: AlertsConfig,
    /// The free-tier plan `/api/budget` measures against.
    pub budget: BudgetConfig,
    /// The MCP server at `/api/mcp` and `/mcp`.
    pub mcp: McpConfig,
    pub memory: MemoryConfig,
    /// HTTPS: certificates from files, ACME or generated once (the `tls` crate's settings).
    pub tls: tls::Settings,
    /// Service checks run by the hub (issue 17).
    pub checks: ChecksConfig,
    /// The public status page (issue 17), off by default.
    pub status_page: StatusPageConfig,
}

/// The memory guard: a graceful restart before the kernel's OOM killer (or systemd's `MemoryMax=`)
/// has to step in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Resident memory limit in MiB (`OPENMANAGER_MAX_MEMORY_MB`); 0 turns the guard off.
    pub max_mb: u64,
    /// How often resident memory is read.
    pub check_interval_ms: u64,
    /// Consecutive checks above the limit before the server stops (a short peak is tolerated).
    pub checks: u32,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self { max_mb: 800, check_interval_ms: 5000, checks: 3 }
    }
}

/// Scheduled online backups of the store into `<data_dir>/backups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Hours between backups; 0 turns scheduled backups off.
    pub interval_hours: u64,
    /// Backups kept; older ones are deleted.
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self { interval_hours: 24, keep: 7 }
    }
}

/// Status rules and the hub's own monitoring.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// CPU or memory percent above which a server is `warning`.
    pub warning_threshold: f64,
    /// CPU or memory percent above which a server is `critical`.
    pub critical_threshold: f64,
    /// Silence after which an agent is `offline` (default: three 5 s report intervals).
    pub offline_after_seconds: u64,
    /// Watch this host too (source `self`).
    pub monitor_self: bool,
    /// How often this host is sampled for the live view; history keeps one point per 5 s.
    pub self_interval_ms: u64,
    /// How often the WebSocket `fleet` topic (the dashboard's fleet view) sends what changed.
    pub overview_interval_ms: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            warning_threshold: 80.0,
            critical_threshold: 90.0,
            offline_after_seconds: 15,
            monitor_self: true,
            self_interval_ms: 1000,
            overview_interval_ms: 5000,
        }
    }
}

/// The deterministic demo fleet (the ten servers the web app knows).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulationConfig {
    pub enabled: bool,
    pub seed: u64,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        Self { enabled: true, seed: 42 }
    }
}

/// The embedded history database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Database file; relative paths are inside the data directory.
    pub path: PathBuf,
    /// `full` survives power loss for every acknowledged write; `normal` only process crashes.
    pub durability: Durability,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { path: PathBuf::from("openmanager.db"), durability: Durability::Full }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    Full,
    Normal,
}

/// Where and how the HTTP server listens, and the bounds it keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub host: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    /// Exact origins that receive CORS headers; empty means no cross-origin access at all.
    #[serde(deserialize_with = "sources::string_or_list")]
    pub allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy on the same host, say).
    pub trusted_proxies: Vec<IpAddr>,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    pub max_concurrent_requests: usize,
    /// Open connections in all; at the bound the oldest idle one is closed for a newcomer.
    pub max_connections: usize,
    /// Open connections from one address (IPv6: one /64); at the bound that address's oldest idle
    /// connection is closed for its newcomer, and a newcomer is refused only when all are busy.
    pub max_connections_per_ip: usize,
    /// A connection must send a complete request head within this time (a later request on an
    /// HTTP/1.1 keep-alive connection: from the head's first byte).
    pub header_timeout_ms: u64,
    /// A connection (HTTP/1.1 keep-alive or HTTP/2) without a request in flight for this long is
    /// closed.
    pub idle_timeout_ms: u64,
    /// Open WebSocket connections; beyond this an upgrade gets 503.
    pub max_ws_connections: usize,
    /// How often `/ws` clients get `server_update` and `system_update`.
    pub ws_interval_ms: u64,
    /// A WebSocket client whose socket takes no data for this long (it stopped reading) is dropped.
    pub ws_stall_timeout_ms: u64,
    /// Bytes being sent to WebSocket clients at once, across all of them; a client that would pass
    /// it skips the message (and is resynchronised, then dropped if it stays behind).
    pub ws_max_unsent_bytes: usize,
    /// Threads serving HTTP, each with its own event loop; 0 means one per CPU.
    pub workers: usize,
    pub shutdown_grace_ms: u64,
    /// On SIGUSR2, how long the new process may take to become ready before it is killed and this
    /// one keeps serving.
    pub handover_timeout_ms: u64,
    /// Serve `/metrics` without a token (for a Prometheus on a private network).
    pub public_metrics: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 10000,
            data_dir: PathBuf::from("./data"),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout_ms: 30_000,
            max_concurrent_requests: 1024,
            max_connections: 4096,
            max_connections_per_ip: 1024,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            workers: 0,
            max_ws_connections: 2000,
            ws_interval_ms: 1000,
            ws_stall_timeout_ms: 10_000,
            ws_max_unsent_bytes: 16 * 1024 * 1024,
            shutdown_grace_ms: 10_000,
            handover_timeout_ms: 30_000,
            public_metrics: false,
        }
    }
}

/// The file in the data directory that holds the generated admin token (mode 0600).
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// What a token may do. `admin` implies the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Ingest,
    Admin,
}

/// Tokens. The admin token has every scope; others carry the scopes listed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// When absent, a token is generated on first start and kept in the data directory.
    pub admin_token: Option<Secret>,
    pub tokens: Vec<TokenConfig>,
}

/// A scoped token, given either in clear (`token`) or as the hex SHA-256 of the token (`sha256`), so
/// the file need not hold the secret itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub sha256: Option<String>,
    pub scopes: Vec<Scope>,
}

/// Per-client request rate, a token bucket refilled at `per_minute` holding at most `burst`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { enabled: true, per_minute: 600, burst: 120 }
    }
}

/// Log output: filter, format, and optional rotated files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// An `EnvFilter` directive such as `info` or `openmanager=debug,info`.
    pub filter: String,
    pub format: LogFormat,
    /// When set, logs are also written to `openmanager.log` here, rotated by size.
    pub dir: Option<PathBuf>,
    pub max_file_mb: u64,
    /// Rotated files kept at most.
    pub max_files: usize,
    /// Rotated files older than this are deleted (checked hourly); 0 keeps them until `max_files`.
    pub max_age_days: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Pretty,
            dir: None,
            max_file_mb: 10,
            max_files: 5,
            max_age_days: 14,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The effective configuration as TOML, secrets masked, for `check-config`.
pub fn render(loaded: &LoadedConfig) -> String {
    let mut out = String::new();
    match &loaded.file {
        Some(f) => out.push_str(&format!("# configuration file: {}\n", f.display())),
        None => out.push_str("# no configuration file; defaults and environment\n"),
    }
    if loaded.config.auth.admin_token.is_none() {
        let path = loaded.config.server.data_dir.join(ADMIN_TOKEN_FILE);
        out.push_str(&format!("# admin token: kept in {} (generated on first start)\n", path.display()));
    }
    match toml::to_string_pretty(&loaded.config) {
        Ok(t) => out.push_str(&t),
        Err(e) => out.push_str(&format!("# cannot render: {e}\n")),
    }
    out
}

/// A value that parsed but cannot work, with the key it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub reason: String,
}

impl Config {
    /// Checks what types alone cannot. Returns every problem, not just the first.
    pub fn validate(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        let mut bad = |key: &str, reason: String| out.push(Invalid { key: key.into(), reason });
        if let Some(token) = &self.auth.admin_token
            && token.expose().len() < MIN_TOKEN_LEN
        {
            bad("auth.admin_token", format!("must be at least {MIN_TOKEN_LEN} characters"));
        }
        for (i, t) in self.auth.tokens.iter().enumerate() {
            let key = format!("auth.tokens[{i}]");
            match (&t.token, &t.sha256) {
                (Some(tok), None) if tok.expose().len() < MIN_TOKEN_LEN => {
                    bad(&format!("{key}.token"), format!("must be at least {MIN_TOKEN_LEN} characters"))
                }
                (None, Some(d)) if d.len() != 64 || hex::decode(d).is_err() => {
                    bad(&format!("{key}.sha256"), "must be 64 hex digits".into())
                }
                (Some(_), Some(_)) | (None, None) => bad(&key, "give exactly one of `token` or `sha256`".into()),
                _ => {}
            }
            if t.scopes.is_empty() {
                bad(&format!("{key}.scopes"), "must name at least one scope".into());
            }
        }
        for origin in &self.server.allowed_origins {
            if let Err(reason) = check_origin(origin) {
                bad("server.allowed_origins", format!("`{origin}`: {reason}"));
            }
        }
        if self.server.max_body_bytes < 1024 {
            bad("server.max_body_bytes", "must be at least 1024".into());
        }
        if self.server.request_timeout_ms == 0 {
            bad("server.request_timeout_ms", "must be positive".into());
        }
        if !(100..=600_000).contains(&self.server.ws_stall_timeout_ms) {
            bad("server.ws_stall_timeout_ms", "must be 100-600000".into());
        }
        if self.server.ws_max_unsent_bytes < 64 * 1024 {
            bad("server.ws_max_unsent_bytes", "must be at least 65536".into());
        }
        if self.server.max_connections_per_ip == 0 {
            bad("server.max_connections_per_ip", "must be positive".into());
        }
        if !(100..=600_000).contains(&self.server.header_timeout_ms) {
            bad("server.header_timeout_ms", "must be 100-600000".into());
        }
        if !(100..=86_400_000).contains(&self.server.idle_timeout_ms) {
            bad("server.idle_timeout_ms", "must be 100-86400000".into());
        }
        if self.server.max_concurrent_requests == 0 {
            bad("server.max_concurrent_requests", "must be positive".into());
        }
        if !(50..=60_000).contains(&self.server.ws_interval_ms) {
            bad("server.ws_interval_ms", "must be 50-60000".into());
        }
        if self.server.workers > 64 {
            bad("server.workers", "at most 64 (0 means one per CPU)".into());
        }
        if self.server.max_connections == 0 {
            bad("server.max_connections", "must be positive".into());
        }
        if self.rate_limit.enabled && (self.rate_limit.per_minute == 0 || self.rate_limit.burst == 0) {
            bad("rate_limit", "per_minute and burst must be positive when enabled".into());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            bad("log.filter", e.to_string());
        }
        let f = &self.fleet;
        if !(0.0..=100.0).contains(&f.warning_threshold) || !(0.0..=100.0).contains(&f.critical_threshold) {
            bad("fleet", "thresholds are percentages (0-100)".into());
        } else if f.warning_threshold > f.critical_threshold {
            bad("fleet.warning_threshold", "must not exceed critical_threshold".into());
        }
        if f.offline_after_seconds == 0 {
            bad("fleet.offline_after_seconds", "must be positive".into());
        }
        if !(100..=60_000).contains(&f.self_interval_ms) {
            bad("fleet.self_interval_ms", "must be 100-60000".into());
        }
        if !(100..=600_000).contains(&f.overview_interval_ms) {
            bad("fleet.overview_interval_ms", "must be 100-600000".into());
        }
        if self.backup.interval_hours > 0 && self.backup.keep == 0 {
            bad("backup.keep", "must be at least 1 when backups are scheduled".into());
        }
        for (key, reason) in self.ai.validate() {
            bad(&key, reason);
        }
        if !(100..=600_000).contains(&self.server.handover_timeout_ms) {
            bad("server.handover_timeout_ms", "must be 100-600000".into());
        }
        if !(10..=3_600_000).contains(&self.memory.check_interval_ms) {
            bad("memory.check_interval_ms", "must be 10-3600000".into());
        }
        if !(1..=1000).contains(&self.memory.checks) {
            bad("memory.checks", "must be 1-1000".into());
        }
        if self.log.max_files == 0 || self.log.max_file_mb == 0 {
            bad("log", "max_files and max_file_mb must be positive".into());
        }
        if self.redis.is_enabled()
            && let Err(e) = self.redis.validate()
        {
            bad(&format!("redis.{}", e.key), e.message);
        }
        if let Err(e) = self.remote_write.validate() {
            bad(&format!("remote_write.{}", e.key), e.message);
        }
        self.alerts.validate(&mut out);
        self.budget.validate(&mut out);
        self.checks.validate(&mut out);
        self.status_page.validate(&mut out);
        mcp::validate(&self.mcp, &mut out);
        if let Err(e) = self.tls.check() {
            out.push(Invalid { key: format!("tls.{}", e.key), reason: e.message });
        }
        self.database.validate(&mut out);
        out
    }
}

/// An origin is `scheme://host[:port]` exactly, as browsers send it: no path, no trailing slash.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '*']) {
        return Err("must be scheme://host[:port] with no path or wildcard");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact() {
        assert!(check_origin("https://app.example.com").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(check_origin("https://app.example.com/").is_err());
        assert!(check_origin("*").is_err());
        assert!(check_origin("app.example.com").is_err());
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validate(), vec![]);
    }

    #[test]
    fn short_tokens_are_rejected() {
        let mut c = Config::default();
        c.auth.admin_token = Some(Secret::new("short"));
        let errs = c.validate();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "auth.admin_token");
    }
}
