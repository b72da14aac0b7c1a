//! `[database]`: where the history lives. Unset (or `sqlite://PATH`) is the embedded SQLite store
//! exactly as before; `postgres://...` puts it in PostgreSQL so several hubs can share it
//! (`OPENMANAGER_DATABASE_URL`). The URL may carry a password, so it never prints itself in clear.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Invalid;

/// The database section. Pool and timeout knobs apply to PostgreSQL only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://user:password@host:port/db?sslmode=verify-full` or `sqlite://PATH`; absent means
    /// the embedded store at `store.path` in the data directory.
    pub url: Option<DatabaseUrl>,
    /// Connections at most (a free Supabase project allows few; every hub takes this many).
    pub pool_size: usize,
    pub connect_timeout_ms: u64,
    /// Per statement, and the wait for a free connection.
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        let s = store::Config::new("unused");
        Self {
            url: None,
            pool_size: s.pool_size,
            connect_timeout_ms: s.connect_timeout.as_millis() as u64,
            statement_timeout_ms: s.statement_timeout.as_millis() as u64,
        }
    }
}

impl DatabaseConfig {
    /// The URL in clear, for the one place that connects; `None` for the embedded default.
    pub fn url(&self) -> Option<&str> {
        self.url.as_ref().map(|u| u.0.as_str()).filter(|u| !u.trim().is_empty())
    }

    /// Apply the knobs to a store configuration.
    pub fn apply(&self, cfg: &mut store::Config) {
        cfg.pool_size = self.pool_size;
        cfg.connect_timeout = Duration::from_millis(self.connect_timeout_ms);
        cfg.statement_timeout = Duration::from_millis(self.statement_timeout_ms);
    }

    pub(super) fn validate(&self, out: &mut Vec<Invalid>) {
        let mut bad = |key: &str, reason: String| out.push(Invalid { key: key.into(), reason });
        if let Some(url) = self.url()
            && let Err(e) = store::DatabaseUrl::parse(url)
        {
            bad("database.url", e.to_string());
        }
        if !(1..=100).contains(&self.pool_size) {
            bad("database.pool_size", "must be 1-100".into());
        }
        if !(100..=300_000).contains(&self.connect_timeout_ms) {
            bad("database.connect_timeout_ms", "must be 100-300000".into());
        }
        if !(100..=3_600_000).contains(&self.statement_timeout_ms) {
            bad("database.statement_timeout_ms", "must be 100-3600000".into());
        }
    }
}

/// A database URL: `Debug` and `Serialize` show it with its password masked (`check-config`,
/// logs), so the host and database stay visible while the secret does not.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&store::mask_url(&self.0))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&store::mask_url(&self.0))
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&store::mask_url(&self.0))
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(DatabaseUrl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_prints() {
        let c = DatabaseConfig {
            url: Some(DatabaseUrl::new("postgres://u:s3cret@db.example.com/app?sslmode=require")),
            ..DatabaseConfig::default()
        };
        let shown = [format!("{c:?}"), toml::to_string(&c).unwrap_or_default()];
        for s in shown {
            assert!(!s.contains("s3cret") && s.contains("db.example.com"), "{s}");
        }
        assert_eq!(c.url(), Some("postgres://u:s3cret@db.example.com/app?sslmode=require"));
        let mut out = Vec::new();
        c.validate(&mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn bad_urls_and_knobs_are_named() {
        let c = DatabaseConfig {
            url: Some(DatabaseUrl::new("mysql://u:s3cret@h/db")),
            pool_size: 0,
            ..DatabaseConfig::default()
        };
        let mut out = Vec::new();
        c.validate(&mut out);
        let keys: Vec<&str> = out.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["database.url", "database.pool_size"]);
        assert!(!out[0].reason.contains("s3cret"), "{}", out[0].reason);
    }
}
