//! The `[status_page]` section: the public status page's initial settings (off by default; changed
//! at run time through `/api/status-page`), and the domain that shows it at its root.

use serde::{Deserialize, Serialize};

use super::Invalid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusPageConfig {
    /// Serve `GET /status` and `GET /status.json` without a token.
    pub enabled: bool,
    pub title: String,
    /// Server ids shown (by their display name only).
    pub servers: Vec<String>,
    /// Check ids shown (by their name only; never their targets).
    pub checks: Vec<String>,
    /// A domain of its own (`status.example.com`, pointed at this VM): requests for it get the page
    /// at `/`, and with `tls.mode = "acme"` the certificate covers it.
    pub domain: Option<String>,
}

impl Default for StatusPageConfig {
    fn default() -> Self {
        Self { enabled: false, title: "Service status".into(), servers: Vec::new(), checks: Vec::new(), domain: None }
    }
}

impl StatusPageConfig {
    pub(super) fn validate(&self, out: &mut Vec<Invalid>) {
        let mut bad = |key: &str, reason: &str| out.push(Invalid { key: key.into(), reason: reason.into() });
        if self.title.trim().is_empty() || self.title.chars().count() > 100 || self.title.chars().any(char::is_control)
        {
            bad("status_page.title", "must be 1-100 printable characters");
        }
        if self.servers.len() > 100 || self.checks.len() > 100 {
            bad("status_page", "at most 100 servers and 100 checks");
        }
        if let Some(d) = &self.domain
            && !matches!(tls::Identifier::parse(d), Ok(tls::Identifier::Dns(_)))
        {
            bad("status_page.domain", "must be a DNS name such as status.example.com (no scheme, port or path)");
        }
    }

    /// The domain as requests name it (lower case, no trailing dot).
    pub fn domain(&self) -> Option<String> {
        match tls::Identifier::parse(self.domain.as_deref()?) {
            Ok(tls::Identifier::Dns(d)) => Some(d),
            _ => None,
        }
    }

    /// With ACME, the status page's domain is one of the certificate's identifiers (added when the
    /// operator did not list it).
    pub(super) fn add_to_certificate(&self, tls: &mut tls::Settings) {
        if tls.mode != tls::Mode::Acme {
            return;
        }
        let Some(domain) = self.domain() else { return };
        let listed = tls
            .identifiers
            .iter()
            .any(|i| matches!(tls::Identifier::parse(i), Ok(tls::Identifier::Dns(d)) if d == domain));
        if !listed {
            tls.identifiers.push(domain);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_domain_is_a_dns_name_and_joins_an_acme_certificate() {
        let with = |d: &str| StatusPageConfig { domain: Some(d.into()), ..StatusPageConfig::default() };
        for bad in ["https://status.example.com", "status.example.com:443", "10.0.0.1", "*.example.com", "a b"] {
            let mut out = Vec::new();
            with(bad).validate(&mut out);
            assert_eq!(out.first().map(|i| i.key.as_str()), Some("status_page.domain"), "{bad}");
        }
        let page = with("Status.Example.com.");
        let mut out = Vec::new();
        page.validate(&mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(page.domain().as_deref(), Some("status.example.com"));

        let mut acme = tls::Settings {
            mode: tls::Mode::Acme,
            identifiers: vec!["hub.example.com".into()],
            ..tls::Settings::default()
        };
        page.add_to_certificate(&mut acme);
        assert_eq!(acme.identifiers, ["hub.example.com", "status.example.com"]);
        page.add_to_certificate(&mut acme);
        assert_eq!(acme.identifiers.len(), 2, "listed once");
        let mut files = tls::Settings { mode: tls::Mode::Files, ..tls::Settings::default() };
        page.add_to_certificate(&mut files);
        assert!(files.identifiers.is_empty(), "a certificate from files is the operator's to make");
    }
}
