//! What a probe returns ([`Outcome`]) and what the runner reports ([`CheckResult`]: the outcome with
//! the check, the time it was taken and where it ran). Plain serde values, so an agent can spool them
//! and send them later.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest error text kept; longer ones are cut at a character boundary.
pub const MAX_ERROR_LEN: usize = 512;

/// One probe's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub up: bool,
    /// The whole probe (resolution, connection, handshake, request and the body read), in ms with
    /// two decimals.
    pub latency_ms: f64,
    /// HTTP status of the last response (after redirects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Whole days until the leaf certificate's notAfter (negative once expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<i64>,
    /// The leaf certificate's notAfter, Unix seconds (blackbox_exporter's
    /// `probe_ssl_earliest_cert_expiry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_not_after: Option<i64>,
    /// Whether the chain verified against the roots for the name (absent when not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_verified: Option<bool>,
    /// Why the check is down, or a warning when it is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Outcome {
    /// A failure after `elapsed`, with its reason.
    pub fn down(elapsed: Duration, error: impl Into<String>) -> Self {
        Self { up: false, latency_ms: millis(elapsed), error: Some(bounded(error.into())), ..Self::default() }
    }

    /// A success after `elapsed`.
    pub fn up(elapsed: Duration) -> Self {
        Self { up: true, latency_ms: millis(elapsed), ..Self::default() }
    }

    /// Marks the outcome failed with `error` (keeping what was measured).
    pub(crate) fn fail(mut self, error: impl Into<String>) -> Self {
        self.up = false;
        self.error = Some(bounded(error.into()));
        self
    }
}

/// Milliseconds with two decimals.
pub(crate) fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// Cuts `text` to [`MAX_ERROR_LEN`] bytes.
pub(crate) fn bounded(mut text: String) -> String {
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN - 3;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// A result as the runner reports it: which check, when (ms since the Unix epoch, when the probe
/// started), where it ran (`hub` or `agent:<serverId>`), and the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub check_id: String,
    pub at: i64,
    #[serde(rename = "where")]
    pub location: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn serialises_flat_with_where() {
        let r = CheckResult {
            check_id: "c1".into(),
            at: 1_750_000_000_000,
            location: "agent:web-1".into(),
            outcome: Outcome { status_code: Some(200), ..Outcome::up(Duration::from_micros(12_345)) },
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(
            text,
            r#"{"checkId":"c1","at":1750000000000,"where":"agent:web-1","up":true,"latencyMs":12.35,"statusCode":200}"#
        );
        assert_eq!(serde_json::from_str::<CheckResult>(&text).unwrap(), r);
    }

    #[test]
    fn long_errors_are_cut() {
        let o = Outcome::down(Duration::ZERO, "é".repeat(1000));
        let e = o.error.unwrap();
        assert!(e.len() <= MAX_ERROR_LEN && e.ends_with("..."));
    }
}
