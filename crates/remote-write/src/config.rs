//! The `[remote_write]` section: where to send, with which headers and labels, how often, and the
//! bounds. Parsed by the hub's config loader (serde, unknown keys rejected); checked by
//! [`RemoteWriteConfig::validate`], which names the key at fault.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::naming;

/// What a header value looks like wherever the configuration is printed.
pub const MASK: &str = "********";

/// Upper bounds that keep a typo from reserving gigabytes.
const MAX_QUEUE_SAMPLES: usize = 10_000_000;
const MAX_BATCH_SAMPLES: usize = 100_000;
const MAX_LABELS: usize = 16;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteConfig {
    /// The receiver's write endpoint (`https://prometheus.example/api/v1/write`,
    /// `http://vm:8428/api/v1/write`, Mimir's `/api/v1/push`). Empty: remote write is off.
    /// `user:password@` in the URL is sent as basic authentication and never printed.
    #[serde(serialize_with = "mask_url")]
    pub url: String,
    /// Extra request headers, e.g. `Authorization = "Bearer ..."` or `X-Scope-OrgID` for Mimir.
    /// Values are never logged or printed.
    #[serde(serialize_with = "mask_values")]
    pub headers: BTreeMap<String, String>,
    /// How often queued samples are sent; a full batch goes at once.
    pub interval_ms: u64,
    /// Samples held while the receiver is slow or away; past it the oldest are dropped (counted).
    pub max_queue_samples: usize,
    /// Samples per request at most.
    pub max_batch_samples: usize,
    /// Bound on one request, connect to last response byte.
    pub timeout_ms: u64,
    /// Labels added to every series (e.g. `job = "openmanager"`, `region = "..."`).
    pub labels: BTreeMap<String, String>,
    /// Also send the simulated demo fleet (off: a receiver should hold real hosts only).
    pub include_simulated: bool,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            headers: BTreeMap::new(),
            interval_ms: 5_000,
            max_queue_samples: 100_000,
            max_batch_samples: 2_000,
            timeout_ms: 10_000,
            labels: BTreeMap::new(),
            include_simulated: false,
        }
    }
}

impl std::fmt::Debug for RemoteWriteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: BTreeMap<&str, &str> = self.headers.keys().map(|k| (k.as_str(), MASK)).collect();
        f.debug_struct("RemoteWriteConfig")
            .field("url", &redact_url(&self.url))
            .field("headers", &headers)
            .field("interval_ms", &self.interval_ms)
            .field("max_queue_samples", &self.max_queue_samples)
            .field("max_batch_samples", &self.max_batch_samples)
            .field("timeout_ms", &self.timeout_ms)
            .field("labels", &self.labels)
            .field("include_simulated", &self.include_simulated)
            .finish()
    }
}

/// A setting that cannot work, with the key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("remote_write.{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

/// Headers the sender sets itself: a configured value would break the protocol.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "x-prometheus-remote-write-version",
];

impl RemoteWriteConfig {
    /// Whether remote write is configured at all.
    pub fn is_enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Samples per request: the configured size, but at most half the queue, so the queue always
    /// has room for new samples while a batch is in flight.
    pub fn effective_batch(&self) -> usize {
        self.max_batch_samples.min(self.max_queue_samples / 2).max(1)
    }

    /// Checks every setting; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.is_enabled() {
            let url = reqwest::Url::parse(self.url.trim())
                .map_err(|e| err("url", format!("not a URL ({e}): {}", redact_url(&self.url))))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(err("url", format!("must be an http:// or https:// URL: {}", redact_url(&self.url))));
            }
        }
        for (name, value) in &self.headers {
            let key = format!("headers.{name}");
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(err(key, "not a valid HTTP header name"));
            }
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(err(key, "is set by the sender itself and cannot be configured"));
            }
            // The value is never echoed: it is likely a credential.
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err(err(key, "the value contains characters not allowed in a header"));
            }
        }
        if !(100..=3_600_000).contains(&self.interval_ms) {
            return Err(err("interval_ms", "must be between 100 and 3600000"));
        }
        if !(2..=MAX_QUEUE_SAMPLES).contains(&self.max_queue_samples) {
            return Err(err("max_queue_samples", format!("must be between 2 and {MAX_QUEUE_SAMPLES}")));
        }
        if !(1..=MAX_BATCH_SAMPLES).contains(&self.max_batch_samples) {
            return Err(err("max_batch_samples", format!("must be between 1 and {MAX_BATCH_SAMPLES}")));
        }
        if !(100..=300_000).contains(&self.timeout_ms) {
            return Err(err("timeout_ms", "must be between 100 and 300000"));
        }
        if self.labels.len() > MAX_LABELS {
            return Err(err("labels", format!("at most {MAX_LABELS} extra labels")));
        }
        for (name, value) in &self.labels {
            naming::check_extra_label(name, value).map_err(|m| err(format!("labels.{name}"), m))?;
        }
        Ok(())
    }
}

/// The URL as it may be printed: no user, password or query string (either may hold a credential).
pub fn redact_url(raw: &str) -> String {
    match reqwest::Url::parse(raw.trim()) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            if url.query().is_some() {
                url.set_query(Some("..."));
            }
            url.to_string()
        }
        Err(_) if raw.is_empty() => String::new(),
        Err(_) => MASK.to_string(),
    }
}

fn mask_url<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

fn mask_values<S: Serializer>(headers: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    let masked: BTreeMap<&str, &str> = headers.keys().map(|k| (k.as_str(), MASK)).collect();
    masked.serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> RemoteWriteConfig {
        RemoteWriteConfig { url: "http://127.0.0.1:9090/api/v1/write".into(), ..Default::default() }
    }

    #[test]
    fn defaults_are_off_and_valid() {
        let c = RemoteWriteConfig::default();
        assert!(!c.is_enabled());
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(enabled().validate(), Ok(()));
    }

    #[test]
    fn parses_the_documented_keys_and_rejects_unknown_ones() {
        let c: RemoteWriteConfig = toml::from_str(
            r#"
            url = "https://mimir.example/api/v1/push"
            headers = { Authorization = "Bearer abc", "X-Scope-OrgID" = "team-1" }
            interval_ms = 2000
            max_queue_samples = 5000
            labels = { job = "openmanager" }
            "#,
        )
        .unwrap();
        assert_eq!(c.interval_ms, 2000);
        assert_eq!(c.max_queue_samples, 5000);
        assert_eq!(c.validate(), Ok(()));
        let e = toml::from_str::<RemoteWriteConfig>("urll = \"x\"").unwrap_err().to_string();
        assert!(e.contains("urll"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let c = RemoteWriteConfig {
            url: "https://user:hunter2@example.com/api/v1/write?token=s3cret".into(),
            headers: BTreeMap::from([("Authorization".into(), "Bearer s3cret".into())]),
            ..Default::default()
        };
        let debug = format!("{c:?}");
        let json = toml::to_string(&c).unwrap();
        for shown in [&debug, &json] {
            assert!(!shown.contains("hunter2") && !shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("Authorization") && shown.contains("example.com"), "{shown}");
        }
    }

    #[test]
    fn bad_settings_name_their_key() {
        let cases: Vec<(RemoteWriteConfig, &str)> = vec![
            (RemoteWriteConfig { url: "ftp://x/".into(), ..enabled() }, "url"),
            (RemoteWriteConfig { url: "not a url".into(), ..enabled() }, "url"),
            (RemoteWriteConfig { interval_ms: 0, ..enabled() }, "interval_ms"),
            (RemoteWriteConfig { max_queue_samples: 0, ..enabled() }, "max_queue_samples"),
            (RemoteWriteConfig { max_batch_samples: 0, ..enabled() }, "max_batch_samples"),
            (RemoteWriteConfig { timeout_ms: 1, ..enabled() }, "timeout_ms"),
            (
                RemoteWriteConfig {
                    headers: BTreeMap::from([("Content-Encoding".into(), "gzip".into())]),
                    ..enabled()
                },
                "headers.Content-Encoding",
            ),
            (
                RemoteWriteConfig { headers: BTreeMap::from([("X-Bad".into(), "a\nb".into())]), ..enabled() },
                "headers.X-Bad",
            ),
            (RemoteWriteConfig { labels: BTreeMap::from([("__x".into(), "1".into())]), ..enabled() }, "labels.__x"),
            (
                RemoteWriteConfig { labels: BTreeMap::from([("instance".into(), "1".into())]), ..enabled() },
                "labels.instance",
            ),
        ];
        for (c, key) in cases {
            let e = c.validate().unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(!e.to_string().contains("\n"));
        }
    }

    #[test]
    fn batch_leaves_room_in_the_queue() {
        let c = RemoteWriteConfig { max_queue_samples: 10, max_batch_samples: 2000, ..enabled() };
        assert_eq!(c.effective_batch(), 5);
        assert_eq!(RemoteWriteConfig::default().effective_batch(), 2000);
    }
}
