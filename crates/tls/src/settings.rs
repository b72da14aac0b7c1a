//! The `[tls]` settings the hub's config embeds (raw serde form, unknown keys rejected), their
//! validation with errors naming the key, and the parsed identifiers.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

/// Let's Encrypt's production directory (the default `directory_url`).
pub const LETS_ENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory (`directory_url = "staging"`).
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
/// The profile ordered by default when any identifier is an IP address: Let's Encrypt issues IP
/// certificates only under it (160-hour certificates).
pub const SHORTLIVED_PROFILE: &str = "shortlived";
/// The identifier that stands for the VM's public IP, discovered from the cloud metadata server.
pub const AUTO_IP: &str = "auto-ip";

/// How the hub gets its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Plain HTTP only.
    #[default]
    Off,
    /// `cert_path` and `key_path` (PEM), reloaded when either changes.
    Files,
    /// Issued and renewed by an ACME CA (Let's Encrypt by default).
    Acme,
    /// Generated once into the data directory and kept (agents pin its fingerprint).
    SelfSigned,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Off => "off",
            Mode::Files => "files",
            Mode::Acme => "acme",
            Mode::SelfSigned => "self-signed",
        })
    }
}

/// The ACME challenge the hub answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Challenge {
    /// Answered on the HTTPS port itself (a handshake offering only `acme-tls/1`).
    #[default]
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    /// Answered on the plain-HTTP port (`/.well-known/acme-challenge/<token>`), which the CA reaches
    /// on port 80.
    #[serde(rename = "http-01")]
    Http01,
}

/// The `[tls]` section. Every field has a default, so `[tls] mode = "self-signed"` is enough.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub mode: Mode,
    /// `files` mode: the certificate chain (PEM, leaf first).
    pub cert_path: Option<PathBuf>,
    /// `files` mode: the private key (PEM: PKCS#8, SEC1 or PKCS#1).
    pub key_path: Option<PathBuf>,
    /// `acme` mode: the CA's directory URL, or `production` / `staging` (Let's Encrypt).
    pub directory_url: String,
    /// Names and IP addresses the certificate covers; `auto-ip` is the VM's public IP. A string is
    /// split on commas (for `OPENMANAGER_TLS__IDENTIFIERS=a,b`).
    #[serde(deserialize_with = "list")]
    pub identifiers: Vec<String>,
    /// ACME profile; by default `shortlived` when any identifier is an IP, else the CA's default.
    pub profile: Option<String>,
    /// Contact email for the ACME account (optional).
    pub contact: Option<String>,
    pub challenge: Challenge,
    /// Extra PEM files of roots to trust for the ACME server (tests, private CAs); comma-separated
    /// in a string.
    #[serde(deserialize_with = "list_paths")]
    pub ca_roots: Vec<PathBuf>,
    /// Carried for the hub: the port HTTPS is served on.
    pub https_port: Option<u16>,
    /// Carried for the hub: the plain-HTTP port (ACME http-01 answers and redirects only).
    pub http_port: Option<u16>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Off,
            cert_path: None,
            key_path: None,
            directory_url: "production".into(),
            identifiers: Vec::new(),
            profile: None,
            contact: None,
            challenge: Challenge::TlsAlpn01,
            ca_roots: Vec::new(),
            https_port: None,
            http_port: None,
        }
    }
}

/// A setting that cannot work, naming the key (`tls.<key>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tls.{key}: {message}")]
pub struct SettingsError {
    pub key: &'static str,
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError { key, message: message.into() }
}

/// One configured identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Dns(String),
    Ip(IpAddr),
    /// The VM's public IP, discovered at start.
    AutoIp,
}

impl Identifier {
    /// Parses one entry of `tls.identifiers`.
    pub fn parse(raw: &str) -> Result<Self, SettingsError> {
        let s = raw.trim();
        if s.eq_ignore_ascii_case(AUTO_IP) {
            return Ok(Identifier::AutoIp);
        }
        // `[::1]` is accepted as well as `::1`.
        let unbracketed = s.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(s);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(Identifier::Ip(ip));
        }
        if s.starts_with("*.") {
            return Err(bad("identifiers", format!("`{s}`: wildcard names need dns-01, which the hub does not do")));
        }
        if !is_dns_name(s) {
            return Err(bad("identifiers", format!("`{s}` is neither a DNS name, an IP address nor `{AUTO_IP}`")));
        }
        Ok(Identifier::Dns(s.trim_end_matches('.').to_ascii_lowercase()))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Dns(n) => f.write_str(n),
            Identifier::Ip(ip) => write!(f, "{ip}"),
            Identifier::AutoIp => f.write_str(AUTO_IP),
        }
    }
}

/// A host name of letters, digits and hyphens in dot-separated labels (1-63 bytes each, 253 in all).
pub(crate) fn is_dns_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Settings {
    /// The directory URL with the `production` / `staging` aliases resolved.
    pub fn resolved_directory_url(&self) -> &str {
        match self.directory_url.trim() {
            "" | "production" => LETS_ENCRYPT_PRODUCTION,
            "staging" => LETS_ENCRYPT_STAGING,
            other => other,
        }
    }

    /// The identifiers, parsed (validated by [`Settings::check`]).
    pub fn parsed_identifiers(&self) -> Result<Vec<Identifier>, SettingsError> {
        let mut out: Vec<Identifier> = Vec::new();
        for raw in &self.identifiers {
            let id = Identifier::parse(raw)?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Checks everything that can be checked without IO; the error names the key.
    pub fn check(&self) -> Result<(), SettingsError> {
        if let (Some(https), Some(http)) = (self.https_port, self.http_port)
            && https == http
        {
            return Err(bad("http_port", format!("must differ from tls.https_port ({https})")));
        }
        if self.https_port == Some(0) {
            return Err(bad("https_port", "must not be 0"));
        }
        if self.http_port == Some(0) {
            return Err(bad("http_port", "must not be 0"));
        }
        let ids = self.parsed_identifiers()?;
        if ids.len() > 100 {
            return Err(bad("identifiers", "at most 100 identifiers (the CA's limit)"));
        }
        match self.mode {
            Mode::Off => Ok(()),
            Mode::Files => {
                for (key, value) in [("cert_path", &self.cert_path), ("key_path", &self.key_path)] {
                    match value {
                        Some(p) if !p.as_os_str().is_empty() => {}
                        _ => return Err(bad(key, "required when tls.mode = \"files\"")),
                    }
                }
                Ok(())
            }
            Mode::SelfSigned => Ok(()),
            Mode::Acme => self.check_acme(&ids),
        }
    }

    fn check_acme(&self, ids: &[Identifier]) -> Result<(), SettingsError> {
        if ids.is_empty() {
            return Err(bad(
                "identifiers",
                "required when tls.mode = \"acme\": the names and/or IP addresses to certify, or \"auto-ip\"",
            ));
        }
        let url = self.resolved_directory_url();
        if !url.starts_with("https://") || url.len() <= "https://".len() {
            return Err(bad("directory_url", format!("`{url}` must be an https:// URL, `production` or `staging`")));
        }
        if let Some(p) = &self.profile
            && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'))
        {
            return Err(bad("profile", format!("`{p}` is not a profile name")));
        }
        if let Some(c) = &self.contact {
            let email = c.strip_prefix("mailto:").unwrap_or(c);
            let ok = email.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty() && is_dns_name(host) && !email.contains(|ch: char| ch.is_whitespace() || ch == ',')
            });
            if !ok {
                return Err(bad("contact", format!("`{c}` is not an email address")));
            }
        }
        for p in &self.ca_roots {
            if p.as_os_str().is_empty() {
                return Err(bad("ca_roots", "an empty path"));
            }
        }
        Ok(())
    }

    /// The contact as an ACME URI (`mailto:...`).
    pub(crate) fn contact_uri(&self) -> Option<String> {
        self.contact.as_ref().map(|c| if c.starts_with("mailto:") { c.clone() } else { format!("mailto:{c}") })
    }
}

/// A list given as a sequence or as one comma-separated string (environment variables).
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        OneOrMany::Many(v) => v,
    })
}

fn list_paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    Ok(list(d)?.into_iter().map(PathBuf::from).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn parse(toml_like: serde_json::Value) -> Result<Settings, serde_json::Error> {
        serde_json::from_value(toml_like)
    }

    #[test]
    fn defaults_are_off_and_valid() {
        let s = Settings::default();
        assert_eq!(s.mode, Mode::Off);
        assert_eq!(s.resolved_directory_url(), LETS_ENCRYPT_PRODUCTION);
        s.check().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let err = parse(serde_json::json!({"mode": "acme", "domain": "x"})).unwrap_err().to_string();
        assert!(err.contains("domain"), "{err}");
    }

    #[test]
    fn lists_accept_comma_separated_strings() {
        let s = parse(serde_json::json!({"mode": "acme", "identifiers": "a.example, 10.0.0.1 ,auto-ip"})).unwrap();
        assert_eq!(s.identifiers, ["a.example", "10.0.0.1", "auto-ip"]);
        assert_eq!(
            s.parsed_identifiers().unwrap(),
            [Identifier::Dns("a.example".into()), Identifier::Ip("10.0.0.1".parse().unwrap()), Identifier::AutoIp]
        );
        let s = parse(serde_json::json!({"ca_roots": "/a.pem,/b.pem"})).unwrap();
        assert_eq!(s.ca_roots, [PathBuf::from("/a.pem"), PathBuf::from("/b.pem")]);
    }

    #[test]
    fn modes_and_challenges_use_their_config_names() {
        let s = parse(serde_json::json!({"mode": "self-signed", "challenge": "http-01"})).unwrap();
        assert_eq!((s.mode, s.challenge), (Mode::SelfSigned, Challenge::Http01));
        assert!(parse(serde_json::json!({"mode": "letsencrypt"})).is_err());
    }

    #[test]
    fn staging_alias_resolves() {
        let s = Settings { directory_url: "staging".into(), ..Settings::default() };
        assert_eq!(s.resolved_directory_url(), LETS_ENCRYPT_STAGING);
    }

    #[test]
    fn errors_name_the_key() {
        let files = Settings { mode: Mode::Files, cert_path: Some("/c.pem".into()), ..Settings::default() };
        assert_eq!(files.check().unwrap_err().key, "key_path");
        let acme = Settings { mode: Mode::Acme, ..Settings::default() };
        let e = acme.check().unwrap_err();
        assert_eq!(e.key, "identifiers");
        assert!(e.to_string().starts_with("tls.identifiers:"), "{e}");
        let wild = Settings { mode: Mode::Acme, identifiers: vec!["*.example.com".into()], ..Settings::default() };
        assert!(wild.check().unwrap_err().message.contains("dns-01"));
        let junk = Settings { mode: Mode::Acme, identifiers: vec!["no spaces".into()], ..Settings::default() };
        assert_eq!(junk.check().unwrap_err().key, "identifiers");
        let url = Settings {
            mode: Mode::Acme,
            identifiers: vec!["a.example".into()],
            directory_url: "http://ca.example/dir".into(),
            ..Settings::default()
        };
        assert_eq!(url.check().unwrap_err().key, "directory_url");
        let contact = Settings {
            mode: Mode::Acme,
            identifiers: vec!["a.example".into()],
            contact: Some("not an email".into()),
            ..Settings::default()
        };
        assert_eq!(contact.check().unwrap_err().key, "contact");
        let ports = Settings { https_port: Some(443), http_port: Some(443), ..Settings::default() };
        assert_eq!(ports.check().unwrap_err().key, "http_port");
    }

    #[test]
    fn a_valid_acme_section_passes() {
        let s = Settings {
            mode: Mode::Acme,
            identifiers: vec!["Hub.Example.COM.".into(), "[2001:db8::1]".into()],
            contact: Some("ops@example.com".into()),
            profile: Some("shortlived".into()),
            ..Settings::default()
        };
        s.check().unwrap();
        assert_eq!(s.contact_uri().unwrap(), "mailto:ops@example.com");
        assert_eq!(s.parsed_identifiers().unwrap()[0], Identifier::Dns("hub.example.com".into()));
    }
}
