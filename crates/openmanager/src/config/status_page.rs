//! The `[status_page]` section: the public status page's initial settings (off by default; changed
//! at run time through `/api/status-page`).

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
}

impl Default for StatusPageConfig {
    fn default() -> Self {
        Self { enabled: false, title: "Service status".into(), servers: Vec::new(), checks: Vec::new() }
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
    }
}
