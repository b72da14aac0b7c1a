//! The `[mcp]` section: which `Host` values the MCP endpoint accepts, and how many sessions it keeps.

use serde::{Deserialize, Serialize};

use super::Invalid;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    pub enabled: bool,
    /// `Host` header values (name or `name:port`) accepted besides loopback; a DNS-rebinding defence.
    /// Behind a real domain, list it here (e.g. `["monitor.example.com"]`).
    pub allowed_hosts: Vec<String>,
    /// Sessions kept at once (protocol revisions up to 2025-11-25); a new one past this is refused.
    pub max_sessions: usize,
    /// A session unused this long is closed.
    pub session_idle_seconds: u64,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self { enabled: true, allowed_hosts: Vec::new(), max_sessions: 64, session_idle_seconds: 600 }
    }
}

pub(super) fn validate(mcp: &McpConfig, out: &mut Vec<Invalid>) {
    let mut bad = |key: &str, reason: &str| out.push(Invalid { key: key.into(), reason: reason.into() });
    if !(1..=10_000).contains(&mcp.max_sessions) {
        bad("mcp.max_sessions", "must be 1-10000");
    }
    if !(10..=86_400).contains(&mcp.session_idle_seconds) {
        bad("mcp.session_idle_seconds", "must be 10-86400");
    }
    for h in &mcp.allowed_hosts {
        if h.is_empty() || h.contains('/') || h.contains(char::is_whitespace) {
            bad("mcp.allowed_hosts", "each entry is a host name or host:port, without scheme or path");
        }
    }
}
