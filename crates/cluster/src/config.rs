//! The `[redis]` settings: where Redis is (`OPENMANAGER_REDIS_URL`), the key prefix, this hub's id,
//! timeouts and bounds. Parsed by the hub's config loader (serde, unknown keys rejected), checked by
//! [`ClusterConfig::validate`], which names the key at fault. The URL's password never leaves this
//! module in clear: `Debug`, `Serialize` and every error show [`mask_url`]'s form.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

/// Upper bounds that keep a typo from reserving a lot.
const MAX_CONNECTIONS: usize = 16;
const MAX_IN_FLIGHT: usize = 100_000;
const MAX_ENTRY_BYTES: usize = 64 << 20;
const MAX_BUS_QUEUE: usize = 1_000_000;
const MAX_PREFIX_LEN: usize = 64;
const MAX_ID_LEN: usize = 64;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// `redis://[user:password@]host[:port][/db]` or `rediss://...` (TLS, verified against the
    /// system's roots or `ca_file`; a `#insecure` fragment encrypts without checking the
    /// certificate). Never printed in clear.
    #[serde(serialize_with = "serialize_masked")]
    pub url: String,
    /// Every key this crate writes starts with it, so several deployments can share one Redis.
    pub prefix: String,
    /// This hub's name on the bus and in leases (`[A-Za-z0-9._:-]`, at most 64), e.g. the host
    /// name. Empty: a random one per process (`hub-` and 12 hex digits). Should be unique, for
    /// logs; two hubs given the same id still work (each process also has a random instance id).
    pub hub_id: String,
    /// Bound on opening a connection (TCP, TLS, AUTH, SELECT).
    pub connect_timeout_ms: u64,
    /// Bound on one command or script, from sending to its reply.
    pub command_timeout_ms: u64,
    /// While Redis is down, one attempt to reach it per this interval (by `Cluster::run`, or by a
    /// caller when that is not running); every other call gets [`crate::Error::Unavailable`] at
    /// once, so callers fall back without waiting. The first calls after Redis stops answering
    /// wait up to `command_timeout_ms` before it is known to be down.
    pub retry_interval_ms: u64,
    /// While Redis is up, `Cluster::run` pings it this often, so an idle hub notices an outage.
    pub probe_interval_ms: u64,
    /// Command connections (each multiplexed: commands are pipelined on it). The bus uses one more
    /// while `Cluster::run` runs. Managed free tiers allow 20-30 connections for all hubs.
    pub connections: usize,
    /// Commands waiting for a reply on this hub at most; past it calls get [`crate::Error::Busy`].
    pub max_in_flight: usize,
    /// PEM file of the CA(s) that sign the server's certificate, for `rediss://` (Redis Cloud and
    /// self-managed servers). Empty: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Largest value `SharedCache` and `Coalescer` store, and largest bus message.
    pub max_entry_bytes: usize,
    /// Messages a slow bus subscriber may fall behind before it misses some (per channel).
    pub bus_queue: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            prefix: "openmanager:".into(),
            hub_id: String::new(),
            connect_timeout_ms: 2_000,
            command_timeout_ms: 1_000,
            retry_interval_ms: 1_000,
            probe_interval_ms: 5_000,
            connections: 2,
            max_in_flight: 1_024,
            ca_file: None,
            max_entry_bytes: 1 << 20,
            bus_queue: 1_024,
        }
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("url", &mask_url(&self.url))
            .field("prefix", &self.prefix)
            .field("hub_id", &self.hub_id)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("command_timeout_ms", &self.command_timeout_ms)
            .field("retry_interval_ms", &self.retry_interval_ms)
            .field("probe_interval_ms", &self.probe_interval_ms)
            .field("connections", &self.connections)
            .field("max_in_flight", &self.max_in_flight)
            .field("ca_file", &self.ca_file)
            .field("max_entry_bytes", &self.max_entry_bytes)
            .field("bus_queue", &self.bus_queue)
            .finish()
    }
}

/// A setting that cannot work, with the key it came from. The message never holds a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redis.{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

impl ClusterConfig {
    /// A configuration for `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), ..Self::default() }
    }

    /// Whether Redis is configured at all (unset: every hub keeps its state in-process).
    pub fn is_enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// Checks every setting; the error names the first key at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed_url()?;
        if self.prefix.is_empty() || self.prefix.len() > MAX_PREFIX_LEN || !self.prefix.chars().all(key_char) {
            return Err(bad("prefix", format!("must be 1-{MAX_PREFIX_LEN} characters of [A-Za-z0-9._:-]")));
        }
        if !self.hub_id.is_empty() && !valid_id(&self.hub_id) {
            return Err(bad("hub_id", format!("must be 1-{MAX_ID_LEN} characters of [A-Za-z0-9._:-]")));
        }
        for (key, ms) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("command_timeout_ms", self.command_timeout_ms),
            ("retry_interval_ms", self.retry_interval_ms),
            ("probe_interval_ms", self.probe_interval_ms),
        ] {
            if !(1..=600_000).contains(&ms) {
                return Err(bad(key, "must be between 1 and 600000 (ms)"));
            }
        }
        for (key, n, max) in [
            ("connections", self.connections, MAX_CONNECTIONS),
            ("max_in_flight", self.max_in_flight, MAX_IN_FLIGHT),
            ("max_entry_bytes", self.max_entry_bytes, MAX_ENTRY_BYTES),
            ("bus_queue", self.bus_queue, MAX_BUS_QUEUE),
        ] {
            if n == 0 || n > max {
                return Err(bad(key, format!("must be between 1 and {max}")));
            }
        }
        if let Some(path) = &self.ca_file
            && !self.parsed_url()?.scheme().eq_ignore_ascii_case("rediss")
        {
            return Err(bad("ca_file", format!("{} is set but the URL is not rediss://", path.display())));
        }
        Ok(())
    }

    /// The URL, checked: `redis://` or `rediss://` with a host.
    pub(crate) fn parsed_url(&self) -> Result<url::Url, ConfigError> {
        let text = self.url.trim();
        let masked = mask_url(text);
        let url = url::Url::parse(text).map_err(|e| bad("url", format!("{masked} is not a URL ({e})")))?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err(bad("url", format!("{masked}: expected redis:// or rediss://")));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("url", format!("{masked}: no host")));
        }
        if url.fragment().is_some_and(|f| f != "insecure") {
            return Err(bad("url", format!("{masked}: the only fragment understood is #insecure")));
        }
        Ok(url)
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub(crate) fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }

    pub(crate) fn retry_interval(&self) -> Duration {
        Duration::from_millis(self.retry_interval_ms)
    }

    pub(crate) fn probe_interval(&self) -> Duration {
        Duration::from_millis(self.probe_interval_ms)
    }
}

/// Characters allowed in the prefix, hub ids and names: no spaces, no glob characters (the bus
/// subscribes with a pattern), nothing that needs quoting in `redis-cli`.
pub(crate) fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

/// A hub id, lease or channel name: 1-64 [`key_char`]s.
pub(crate) fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.chars().all(key_char)
}

/// The URL with its password replaced by `***` (the user name stays: it helps and is not secret).
/// Text that is not a URL is replaced whole, since it could be anything.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        // `scheme:anything` parses as an opaque URL whose text could hold a secret anywhere.
        Ok(u) if u.cannot_be_a_base() => "(not a URL)".into(),
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) if url.trim().is_empty() => String::new(),
        Err(_) => "(not a URL)".into(),
    }
}

fn serialize_masked<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mask_url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let config = ClusterConfig::new("rediss://default:s3cret@redis.example.com:6380/0");
        for shown in [format!("{config:?}"), serde_json::to_string(&config).unwrap(), mask_url(&config.url)] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("default:***@redis.example.com:6380"), "{shown}");
        }
        assert_eq!(mask_url("redis://:p%40ss@h"), "redis://:***@h");
        assert_eq!(mask_url("redis://h:6379"), "redis://h:6379");
        let err = ClusterConfig::new("http://u:s3cret@h").validate().unwrap_err().to_string();
        assert!(err.starts_with("redis.url:") && err.contains("u:***@h") && !err.contains("s3cret"), "{err}");
        assert_eq!(mask_url("u:s3cret@@ not a url"), "(not a URL)");
    }

    #[test]
    fn settings_are_checked_by_key() {
        ClusterConfig::new("redis://127.0.0.1:6379").validate().unwrap();
        ClusterConfig::new("rediss://h#insecure").validate().unwrap();
        let key = |c: ClusterConfig| c.validate().unwrap_err().key;
        assert_eq!(key(ClusterConfig::new("redis://h#other")), "url");
        assert_eq!(key(ClusterConfig::new("redis://")), "url");
        assert_eq!(key(ClusterConfig { prefix: "a b".into(), ..ClusterConfig::new("redis://h") }), "prefix");
        assert_eq!(key(ClusterConfig { prefix: "om*".into(), ..ClusterConfig::new("redis://h") }), "prefix");
        assert_eq!(key(ClusterConfig { hub_id: "a|b".into(), ..ClusterConfig::new("redis://h") }), "hub_id");
        assert_eq!(key(ClusterConfig { connections: 0, ..ClusterConfig::new("redis://h") }), "connections");
        assert_eq!(
            key(ClusterConfig { command_timeout_ms: 0, ..ClusterConfig::new("redis://h") }),
            "command_timeout_ms"
        );
        let ca = ClusterConfig { ca_file: Some("/ca.pem".into()), ..ClusterConfig::new("redis://h") };
        assert_eq!(key(ca), "ca_file");
        assert!(!ClusterConfig::default().is_enabled());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_json::from_str::<ClusterConfig>(r#"{"url":"redis://h","pool":3}"#).unwrap_err();
        assert!(err.to_string().contains("pool"), "{err}");
        let c: ClusterConfig = serde_json::from_str(r#"{"url":"redis://h","prefix":"om2:"}"#).unwrap();
        assert_eq!((c.prefix.as_str(), c.connections), ("om2:", 2));
    }
}
