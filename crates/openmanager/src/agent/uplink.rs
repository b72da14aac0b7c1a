//! The way to the hub: encodes a report (JSON, gzip), posts it with the agent token, and sorts the
//! answer into what the run loop should do next; plus the retry back-off.
//!
//! The body is written straight from the spool's JSON lines into the gzip stream rather than via a
//! `protocol::Report` value, so a 1000-sample batch never exists as a tree of maps in memory. A
//! test checks the result parses as `protocol::AgentMessage`, so the two cannot drift.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use protocol::compact::CompactReport;
use protocol::{AgentIdentity, Inventory, PROTOCOL_VERSION, ReportAck};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};

use super::AgentError;

/// The report route under the hub's base URL.
pub const REPORT_PATH: &str = "api/agents/report";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// An answer body larger than this is not read: an ack or an error envelope is tiny.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// A `Retry-After` longer than this is cut short, so a misconfigured hub cannot park the agent.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// What to do after one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Durable on the hub: remove the batch from the spool.
    Acked(Option<ReportAck>),
    /// Try the same batch again later. `slow` asks for the longest back-off (a bad token);
    /// `refused` marks a 3xx or a 4xx other than 408/429 (the hub does not want this request), logged as
    /// an error rather than a passing warning.
    Retry { retry_after: Option<Duration>, slow: bool, refused: bool, reason: String },
    /// The hub will never take this batch (422): drop it.
    Rejected { reason: String },
    /// 413: send fewer samples at a time.
    TooLarge,
    /// 428 to a compact body: the hub lacks the base or the agent; resend whole with the identity.
    Resync,
    /// 400/415/422 to a compact body: a hub that does not take it; send the version 1 body instead.
    Unsupported { reason: String },
}

/// One HTTP client for the agent's life (connections are reused across reports).
#[derive(Debug, Clone)]
pub struct Uplink {
    client: reqwest::Client,
    url: Url,
}

impl Uplink {
    /// `trust` decides how an https:// hub is verified (system roots, a CA file or a pinned
    /// certificate).
    pub fn new(hub: &Url, token: &str, trust: &tls::HubTrust) -> Result<Self, AgentError> {
        let url = report_url(hub)?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| AgentError::Config("the token contains characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, auth);
        ai::install_tls_provider();
        let mut builder = reqwest::Client::builder();
        if hub.scheme() == "https" {
            let config = tls::client_config(trust).map_err(|e| AgentError::Config(e.to_string()))?;
            builder = builder.tls_backend_preconfigured(config);
        }
        let client = builder
            .user_agent(concat!("openmanager-agent/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A redirected POST would turn into a GET or leak the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| AgentError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client, url })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Posts one gzip-compressed report body.
    pub async fn send(&self, body: Vec<u8>) -> Outcome {
        match self.post(body).await {
            Ok((status, retry_after, body)) => classify(status, retry_after, &body),
            Err(outcome) => outcome,
        }
    }

    /// Posts one gzip-compressed compact body ([`encode_compact`]).
    pub async fn send_compact(&self, body: Vec<u8>) -> Outcome {
        match self.post(body).await {
            Ok((status, retry_after, body)) => classify_compact(status, retry_after, &body),
            Err(outcome) => outcome,
        }
    }

    async fn post(&self, body: Vec<u8>) -> Result<(StatusCode, Option<Duration>, Vec<u8>), Outcome> {
        let request = self
            .client
            .post(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_ENCODING, "gzip")
            .body(body);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                let reason = format!("{what}: {}", chain(&e));
                return Err(Outcome::Retry { retry_after: None, slow: false, refused: false, reason });
            }
        };
        let status = response.status();
        let retry_after =
            response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let mut body = Vec::new();
        // The answer is read only up to a bound; a truncated one still classifies by status.
        while let Ok(Some(chunk)) = response.chunk().await {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, retry_after, body))
    }
}

/// `{hub}/api/agents/report`, whether or not the hub URL ends in a slash or has a path prefix.
pub fn report_url(hub: &Url) -> Result<Url, AgentError> {
    if !matches!(hub.scheme(), "http" | "https") || hub.host_str().is_none() {
        return Err(AgentError::Config(format!("the hub URL must be http:// or https:// with a host, not `{hub}`")));
    }
    let mut base = hub.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.set_query(None);
    base.set_fragment(None);
    base.join(REPORT_PATH).map_err(|e| AgentError::Config(format!("bad hub URL `{hub}`: {e}")))
}

/// Sorts an answer into what to do next. Pure, so every branch is unit-tested.
pub fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    if status.is_success() {
        // 200 means durable; an unreadable ack body does not change that.
        return Outcome::Acked(serde_json::from_slice::<ReportAck>(body).ok());
    }
    let reason = format!("{status}: {}", envelope_message(body));
    match status.as_u16() {
        401 | 403 => Outcome::Retry { retry_after, slow: true, refused: true, reason },
        413 => Outcome::TooLarge,
        422 => Outcome::Rejected { reason },
        code => {
            // A redirect counts too: it means a wrong hub URL (http for https, a moved path).
            let refused = (300..500).contains(&code) && code != 408 && code != 429;
            Outcome::Retry { retry_after, slow: false, refused, reason }
        }
    }
}

/// [`classify`] for a compact body: any success is durable (the hub answers 204), 428 asks for a
/// resync, and a refusal of the format means an older hub.
pub fn classify_compact(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    match status.as_u16() {
        // 204 as a rule; 200 with an acknowledgement when the hub has checks for this agent.
        200..=299 => Outcome::Acked(serde_json::from_slice::<ReportAck>(body).ok()),
        428 => Outcome::Resync,
        400 | 415 | 422 => Outcome::Unsupported { reason: format!("{status}: {}", envelope_message(body)) },
        _ => classify(status, retry_after, body),
    }
}

/// The `message` (or `error`) of the hub's JSON error envelope, else a short piece of the body.
fn envelope_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["message", "error"] {
            if let Some(s) = v.get(key).and_then(|m| m.as_str()) {
                return s.chars().take(500).collect();
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(200).collect();
    if text.is_empty() { "no details".into() } else { text }
}

/// `Retry-After` as delay-seconds or an HTTP date, bounded by [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
            let secs = at.as_second().saturating_sub(jiff::Timestamp::now().as_second());
            Duration::from_secs(u64::try_from(secs).unwrap_or(0))
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Writes `AgentMessage::Report` for `samples` (JSON lines of `protocol::Sample`), gzip-compressed.
pub fn encode_report<'a>(
    agent: &AgentIdentity,
    samples: impl IntoIterator<Item = &'a str>,
    inventory: Option<&Inventory>,
) -> Result<Vec<u8>, AgentError> {
    encode_report_with_checks(agent, samples, inventory, [], None)
}

/// [`encode_report`] with check results (JSON lines of `probe::CheckResult`), saying the agent
/// speaks `protocol::CHECKS_VERSION` so the acknowledgement brings its checks, unless
/// `checks_hash` (of the set it holds) is still the hub's.
pub fn encode_report_with_checks<'a, 'b>(
    agent: &AgentIdentity,
    samples: impl IntoIterator<Item = &'a str>,
    inventory: Option<&Inventory>,
    check_results: impl IntoIterator<Item = &'b str>,
    checks_hash: Option<&str>,
) -> Result<Vec<u8>, AgentError> {
    let enc = |e: std::io::Error| AgentError::Encode(e.to_string());
    let mut gz = GzEncoder::new(Vec::with_capacity(8 * 1024), Compression::default());
    write!(gz, r#"{{"type":"report","version":{PROTOCOL_VERSION},"agent":"#).map_err(enc)?;
    serde_json::to_writer(&mut gz, agent).map_err(|e| AgentError::Encode(e.to_string()))?;
    gz.write_all(br#","samples":["#).map_err(enc)?;
    for (i, line) in samples.into_iter().enumerate() {
        if i > 0 {
            gz.write_all(b",").map_err(enc)?;
        }
        gz.write_all(line.as_bytes()).map_err(enc)?;
    }
    gz.write_all(b"]").map_err(enc)?;
    if let Some(inv) = inventory {
        gz.write_all(br#","inventory":"#).map_err(enc)?;
        serde_json::to_writer(&mut gz, inv).map_err(|e| AgentError::Encode(e.to_string()))?;
    }
    write!(gz, r#","checksVersion":{}"#, protocol::CHECKS_VERSION).map_err(enc)?;
    if let Some(hash) = checks_hash {
        gz.write_all(br#","checksHash":"#).map_err(enc)?;
        serde_json::to_writer(&mut gz, hash).map_err(|e| AgentError::Encode(e.to_string()))?;
    }
    let mut results = check_results.into_iter().peekable();
    if results.peek().is_some() {
        gz.write_all(br#","checkResults":["#).map_err(enc)?;
        for (i, line) in results.enumerate() {
            if i > 0 {
                gz.write_all(b",").map_err(enc)?;
            }
            gz.write_all(line.as_bytes()).map_err(enc)?;
        }
        gz.write_all(b"]").map_err(enc)?;
    }
    gz.write_all(b"}").map_err(enc)?;
    gz.finish().map_err(enc)
}

/// A compact body, gzip-compressed at the highest level (it is small, and egress is what counts).
pub fn encode_compact(report: &CompactReport) -> Result<Vec<u8>, AgentError> {
    let enc = |e: std::io::Error| AgentError::Encode(e.to_string());
    let mut gz = GzEncoder::new(Vec::with_capacity(1024), Compression::best());
    gz.write_all(&report.to_json()).map_err(enc)?;
    gz.finish().map_err(enc)
}

/// Exponential back-off: 1 s doubling to 60 s, each delay jittered to 50-100% of itself so a
/// fleet that lost its hub together does not come back in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub const BASE: Duration = Duration::from_secs(1);
    pub const MAX: Duration = Duration::from_secs(60);

    pub fn new() -> Self {
        Self { failures: 0 }
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the next attempt after another failure. `slow` jumps to the maximum;
    /// `retry_after` from the hub wins over the computed delay when given.
    pub fn next_delay(&mut self, slow: bool, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if let Some(after) = retry_after {
            // Never zero: a hub answering `Retry-After: 0` in a loop must not be hammered.
            return after.max(Self::BASE);
        }
        let ceiling = if slow { Self::MAX } else { Self::ceiling(self.failures) };
        jitter(ceiling)
    }

    fn ceiling(failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        Self::BASE.saturating_mul(1 << doublings).min(Self::MAX)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// A uniformly random duration in `[d/2, d]`.
fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 4];
    // Without randomness the delay is simply not jittered; that is harmless.
    let r = getrandom::fill(&mut b).map(|()| u32::from_le_bytes(b)).unwrap_or(u32::MAX);
    let fraction = 0.5 + 0.5 * f64::from(r) / f64::from(u32::MAX);
    d.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;

    use protocol::{AgentMessage, Report, Sample};

    use super::*;

    fn identity() -> AgentIdentity {
        AgentIdentity {
            machine_id: "0123456789abcdef".into(),
            name: "web \"1\"".into(),
            hostname: "web-1".into(),
            agent_version: "0.1.0".into(),
        }
    }

    fn gunzip(body: &[u8]) -> String {
        let mut s = String::new();
        flate2::read::GzDecoder::new(body).read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn encoded_report_is_a_protocol_message() {
        let samples: Vec<Sample> = (1..=3)
            .map(|ts| Sample { timestamp_ms: ts, values: BTreeMap::from([("cpu".to_string(), ts as f64 / 3.0)]) })
            .collect();
        let lines: Vec<String> = samples.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
        let inv = Inventory { os: "Debian".into(), cpu_cores: 2, ..Inventory::default() };
        let body = encode_report(&identity(), lines.iter().map(String::as_str), Some(&inv)).unwrap();
        let msg: AgentMessage = serde_json::from_str(&gunzip(&body)).unwrap();
        let expected = Report {
            version: PROTOCOL_VERSION,
            agent: identity(),
            samples,
            inventory: Some(inv),
            checks_version: protocol::CHECKS_VERSION,
            check_results: Vec::new(),
            checks_hash: None,
        };
        assert!(expected.validate().is_ok());
        assert_eq!(msg, AgentMessage::Report(expected));

        let body = encode_report(&identity(), [], None).unwrap();
        let AgentMessage::Report(r) = serde_json::from_str(&gunzip(&body)).unwrap();
        assert!(r.samples.is_empty() && r.inventory.is_none());
    }

    #[test]
    fn report_url_joins_the_route() {
        let u = |s: &str| report_url(&Url::parse(s).unwrap()).map(|u| u.to_string());
        assert_eq!(u("http://127.0.0.1:9000").unwrap(), "http://127.0.0.1:9000/api/agents/report");
        assert_eq!(u("https://hub.example/").unwrap(), "https://hub.example/api/agents/report");
        assert_eq!(u("https://hub.example/om?x=1").unwrap(), "https://hub.example/om/api/agents/report");
        assert!(u("ftp://hub.example").is_err());
    }

    #[test]
    fn answers_are_classified() {
        let ack = br#"{"version":1,"accepted":2,"duplicates":1,"serverId":"s1"}"#;
        match classify(StatusCode::OK, None, ack) {
            Outcome::Acked(Some(a)) => assert_eq!((a.accepted, a.duplicates), (2, 1)),
            other => panic!("{other:?}"),
        }
        assert_eq!(classify(StatusCode::OK, None, b"garbage"), Outcome::Acked(None));
        let envelope = br#"{"success":false,"error":"invalid_report","message":"metric `x` is bad"}"#;
        match classify(StatusCode::UNPROCESSABLE_ENTITY, None, envelope) {
            Outcome::Rejected { reason } => assert!(reason.contains("metric `x` is bad"), "{reason}"),
            other => panic!("{other:?}"),
        }
        match classify(StatusCode::UNAUTHORIZED, None, b"") {
            Outcome::Retry { slow: true, .. } => {}
            other => panic!("{other:?}"),
        }
        let after = Some(Duration::from_secs(7));
        match classify(StatusCode::SERVICE_UNAVAILABLE, after, b"busy") {
            Outcome::Retry { slow: false, refused: false, retry_after, reason } => {
                assert_eq!(retry_after, after);
                assert!(reason.contains("busy"));
            }
            other => panic!("{other:?}"),
        }
        for (status, refused) in [
            (StatusCode::TOO_MANY_REQUESTS, false),
            (StatusCode::REQUEST_TIMEOUT, false),
            (StatusCode::BAD_GATEWAY, false),
            (StatusCode::NOT_FOUND, true),
            (StatusCode::PERMANENT_REDIRECT, true),
            (StatusCode::BAD_REQUEST, true),
        ] {
            match classify(status, None, b"") {
                Outcome::Retry { slow: false, refused: r, .. } => assert_eq!(r, refused, "{status}"),
                other => panic!("{status}: {other:?}"),
            }
        }
        assert_eq!(classify(StatusCode::PAYLOAD_TOO_LARGE, None, b""), Outcome::TooLarge);
        assert_eq!(classify_compact(StatusCode::NO_CONTENT, None, b""), Outcome::Acked(None));
        assert_eq!(classify_compact(StatusCode::PRECONDITION_REQUIRED, None, b""), Outcome::Resync);
        assert!(matches!(classify_compact(StatusCode::UNPROCESSABLE_ENTITY, None, b""), Outcome::Unsupported { .. }));
        assert!(matches!(classify_compact(StatusCode::SERVICE_UNAVAILABLE, None, b""), Outcome::Retry { .. }));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let header = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&later).unwrap();
        let d = parse_retry_after(&header).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter() {
        let mut b = Backoff::new();
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            let d = b.next_delay(false, None);
            let ceiling = Backoff::ceiling(b.failures());
            assert!(d >= ceiling / 2 && d <= ceiling, "{d:?} vs {ceiling:?}");
            ceilings.push(ceiling.as_secs());
        }
        assert_eq!(ceilings, vec![1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        b.reset();
        assert!(b.next_delay(false, None) <= Backoff::BASE);
        assert!(b.next_delay(true, None) >= Backoff::MAX / 2, "a bad token retries slowly");
        assert_eq!(b.next_delay(false, Some(Duration::from_secs(30))), Duration::from_secs(30));
        assert_eq!(b.next_delay(false, Some(Duration::ZERO)), Backoff::BASE, "never hammer");
    }
}
