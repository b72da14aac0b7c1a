//! Which database a URL names (`sqlite://path`, `postgres://...`), and a masked form of it for
//! logs, errors and `Debug`: credentials never leave this module in clear.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// A parsed `OPENMANAGER_DATABASE_URL`. `Debug` and `Display` show the masked URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// The embedded store in this file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`), kept verbatim.
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://path` (relative or absolute: `sqlite:///var/lib/x.db`), `sqlite:path`,
    /// `postgres://...` or `postgresql://...`. Anything else is [`Error::InvalidInput`] with the
    /// masked text.
    pub fn parse(url: &str) -> Result<DatabaseUrl> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(Error::InvalidInput("sqlite URL without a path (sqlite://PATH)".into()));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(Error::InvalidInput(format!(
            "unsupported database URL {} (expected sqlite://PATH, postgres:// or postgresql://)",
            mask_url(url)
        )))
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => f.write_str(&mask_url(u)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 3] = ["password", "sslpassword", "passfile"];

/// The URL with its password (in the authority or as a query parameter) replaced by `***`, for
/// logs, errors and `check-config`. A user name stays: it helps and is not a secret.
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    // The authority ends at the first '/', '?' or '#'; the userinfo at its last '@'.
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host}", &userinfo[..colon]),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s)) => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_everywhere() {
        let cases = [
            ("postgres://u:s3cret@db.example.com:5432/app", "postgres://u:***@db.example.com:5432/app"),
            ("postgresql://u:p%40ss@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
            (
                "postgres://h/db?user=u&password=s3cret&sslmode=verify-full",
                "postgres://h/db?user=u&password=***&sslmode=verify-full",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://u:a@b@h/db", "postgres://u:***@h/db"),
        ];
        for (url, masked) in cases {
            assert_eq!(mask_url(url), masked);
            let parsed = DatabaseUrl::parse(url).unwrap();
            for shown in [parsed.to_string(), format!("{parsed:?}")] {
                assert!(!shown.contains("s3cret") && !shown.contains("p%40ss"), "{shown}");
            }
        }
    }

    #[test]
    fn schemes_pick_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/om.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/om.db".into())
        );
        assert_eq!(DatabaseUrl::parse("sqlite://data/om.db").unwrap(), DatabaseUrl::Sqlite("data/om.db".into()));
        assert_eq!(DatabaseUrl::parse("postgresql://h/db").unwrap().backend(), "postgres");
        let err = DatabaseUrl::parse("mysql://u:s3cret@h/db").unwrap_err().to_string();
        assert!(err.contains("mysql://u:***@h/db") && !err.contains("s3cret"), "{err}");
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }
}
