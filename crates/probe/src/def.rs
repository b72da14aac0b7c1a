//! A check's definition as API.md's JSON gives it (camelCase), with the defaults of absent fields.
//! Plain serde values, small and without references to anything else, so the hub can store them and
//! `protocol` can carry them to agents; [`CheckDef::validate`] turns one into a runnable [`Check`].
//!
//! Unknown fields are ignored, not refused: an agent that receives a check from a newer hub must still
//! run it. The hub's API can refuse them before a definition gets here.
//!
//! [`Check`]: crate::Check

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a check probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An HTTP(S) request to a URL.
    Http,
    /// A TCP connection to `host:port`.
    Tcp,
    /// An ICMP echo to a host.
    Ping,
    /// A DNS query for a name.
    Dns,
    /// A TLS handshake with `host:port`, reporting the certificate.
    Tls,
}

impl Kind {
    /// The name used in JSON and in error texts.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Tcp => "tcp",
            Kind::Ping => "ping",
            Kind::Dns => "dns",
            Kind::Tls => "tls",
        }
    }
}

/// One check, as stored and as sent to agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckDef {
    /// Assigned by the hub on creation (letters, digits, `-`, `_`, `.`; at most 64).
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// A URL (`http`), `host:port` (`tcp`, `tls`; `tls` defaults to port 443), a host (`ping`) or a
    /// name to look up (`dns`).
    pub target: String,
    /// At least 10.
    #[serde(default = "default_interval")]
    pub interval_seconds: u32,
    /// Below the interval.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u32,
    /// Consecutive failures tolerated before the check counts as down (0: the first one does).
    #[serde(default)]
    pub retries: u32,
    /// Where it runs: `hub` and/or `agent:<serverId>`.
    #[serde(default = "default_run_on")]
    pub run_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Options of an `http` check. Its `Debug` form hides header values (they often hold tokens).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpSpec {
    /// GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    #[serde(default = "default_method")]
    pub method: String,
    /// Status codes that count as up: `200-399`, `200`, or a comma-separated list of both forms.
    #[serde(default = "default_expect_status")]
    pub expect_status: String,
    /// Text the body must contain (searched in its first 64 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// A value the JSON body must hold at a dotted path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<JsonPathSpec>,
    /// Request headers, sent as given (and dropped when a redirect leaves the origin, if they carry
    /// credentials).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    #[serde(default = "yes")]
    pub verify_tls: bool,
}

impl fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.keys().map(String::as_str).collect();
        f.debug_struct("HttpSpec")
            .field("method", &self.method)
            .field("expect_status", &self.expect_status)
            .field("keyword", &self.keyword)
            .field("json_path", &self.json_path)
            .field("headers (values hidden)", &headers)
            .field("follow_redirects", &self.follow_redirects)
            .field("verify_tls", &self.verify_tls)
            .finish()
    }
}

impl Default for HttpSpec {
    fn default() -> Self {
        Self {
            method: default_method(),
            expect_status: default_expect_status(),
            keyword: None,
            json_path: None,
            headers: BTreeMap::new(),
            follow_redirects: true,
            verify_tls: true,
        }
    }
}

/// `{path: "checks.db.status", expect: "ok"}`: the value at `path` (object keys and array indexes
/// separated by dots) must be `expect`: a string equal to it, or any other JSON value whose text
/// (`true`, `42`, `null`) is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonPathSpec {
    pub path: String,
    pub expect: String,
}

/// DNS record types a check can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    #[default]
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
        }
    }
}

/// Options of a `dns` check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DnsSpec {
    #[serde(default)]
    pub record_type: RecordType,
    /// A value one answer must have: an address (A, AAAA), a name (CNAME, NS, MX exchange, or
    /// `"10 mx.example.com"` for preference and exchange), or the text (TXT, strings joined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// `host[:port]` of the server to ask; the first `nameserver` of /etc/resolv.conf when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
}

/// Options of a `tls` check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    /// The check is down when the certificate expires in fewer days than this.
    #[serde(default = "default_warn_days")]
    pub warn_days: u32,
}

impl Default for TlsSpec {
    fn default() -> Self {
        Self { warn_days: default_warn_days() }
    }
}

/// Where results come from, as `runOn` and results' `where` spell it.
pub const HUB: &str = "hub";
/// Prefix of an agent's location: `agent:<serverId>`.
pub const AGENT_PREFIX: &str = "agent:";

/// `agent:<serverId>`.
pub fn agent_location(server_id: &str) -> String {
    format!("{AGENT_PREFIX}{server_id}")
}

fn default_interval() -> u32 {
    60
}

fn default_timeout() -> u32 {
    crate::validate::DEFAULT_TIMEOUT_MS
}

fn default_run_on() -> Vec<String> {
    vec![HUB.to_string()]
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_expect_status() -> String {
    "200-399".to_string()
}

fn default_warn_days() -> u32 {
    14
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn absent_fields_take_their_defaults() {
        let def: CheckDef =
            serde_json::from_str(r#"{"name":"site","kind":"http","target":"https://example.com/","http":{}}"#).unwrap();
        assert_eq!(def.interval_seconds, 60);
        assert_eq!(def.timeout_ms, 10_000);
        assert_eq!(def.run_on, vec!["hub"]);
        assert!(def.enabled);
        let http = def.http.unwrap();
        assert_eq!(http.method, "GET");
        assert_eq!(http.expect_status, "200-399");
        assert!(http.follow_redirects && http.verify_tls);
    }

    #[test]
    fn round_trips_in_camel_case() {
        let def = CheckDef {
            id: "c1".into(),
            name: "dns".into(),
            kind: Kind::Dns,
            target: "example.com".into(),
            interval_seconds: 30,
            timeout_ms: 2000,
            retries: 2,
            run_on: vec!["hub".into(), agent_location("web-1")],
            http: None,
            dns: Some(DnsSpec { record_type: RecordType::Aaaa, expect: Some("::1".into()), resolver: None }),
            tls: None,
            enabled: false,
        };
        let text = serde_json::to_string(&def).unwrap();
        assert!(text.contains(r#""intervalSeconds":30"#), "{text}");
        assert!(text.contains(r#""recordType":"AAAA""#), "{text}");
        assert!(text.contains(r#""runOn":["hub","agent:web-1"]"#), "{text}");
        assert!(!text.contains("http"), "{text}");
        assert_eq!(serde_json::from_str::<CheckDef>(&text).unwrap(), def);
    }

    #[test]
    fn header_values_do_not_print() {
        let spec = HttpSpec {
            headers: BTreeMap::from([("Authorization".to_string(), "Bearer s3cret".to_string())]),
            ..HttpSpec::default()
        };
        let text = format!("{spec:?}");
        assert!(text.contains("Authorization") && !text.contains("s3cret"), "{text}");
    }

    #[test]
    fn unknown_fields_from_a_newer_hub_are_ignored() {
        let def: CheckDef = serde_json::from_str(r#"{"name":"t","kind":"tcp","target":"db:5432","future":1}"#).unwrap();
        assert_eq!(def.kind, Kind::Tcp);
    }
}
