//! The sender task: takes batches from the queue every interval (or as soon as a full batch waits),
//! POSTs them, and decides what a failure means: 5xx, 429 and network errors are retried with
//! jittered exponential back-off (honouring `Retry-After`); any other 4xx is final, so the batch is
//! dropped and counted, with the receiver's reason logged once per run of refusals.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::queue::Queue;
use crate::stats::Counters;
use crate::wire::{Encoder, Entry};

/// What a receiver's answer says about the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Final: never retried.
    Rejected {
        status: u16,
        message: String,
    },
    /// Try again after `retry_after` (when the receiver said) or the back-off.
    Retry {
        retry_after: Option<Duration>,
        reason: String,
    },
}

/// `Retry-After` beyond this is cut short: a misconfigured receiver cannot park the sender for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);
/// Longest receiver message read from an error answer.
const MAX_ERROR_BODY: usize = 1024;
/// How long the final flush at shutdown may take at most.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);
/// Longest stretch without a heartbeat while waiting.
const BEAT_EVERY: Duration = Duration::from_secs(5);

/// The HTTP side: client, endpoint, credentials.
pub struct Endpoint {
    pub client: reqwest::Client,
    /// Without user info: that is sent as basic authentication.
    pub url: Url,
    pub basic_auth: Option<(String, Option<String>)>,
    /// Bytes of the requests sent, head estimated (see [`wire_bytes`]); the hub's egress meter
    /// holds the same counter.
    pub sent: prometheus_client::metrics::counter::Counter,
}

/// What the client adds to a request's head at sending that the built request does not show:
/// `host`, `user-agent`, `content-length`, `accept`, `accept-encoding`, and the configured headers.
const HEAD_ALLOWANCE: u64 = 120;

/// The bytes a request puts on the wire, estimated before it is sent: request line, the headers it
/// carries, [`HEAD_ALLOWANCE`] and the body. TLS records are not counted.
fn wire_bytes(req: &reqwest::Request) -> u64 {
    let url = req.url();
    let target = url.path().len() + url.query().map_or(0, |q| q.len() + 1);
    let line = req.method().as_str().len() + 1 + target + 11;
    let headers: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    let body = req.body().and_then(reqwest::Body::as_bytes).map_or(0, <[u8]>::len);
    (line + headers + url.host_str().map_or(0, str::len) + 2 + body) as u64 + HEAD_ALLOWANCE
}

impl Endpoint {
    /// One POST of `body`, and what its answer (or the lack of one) means.
    async fn post(&self, body: Vec<u8>, counters: &Counters) -> Outcome {
        let len = body.len();
        let mut request = self
            .client
            .post(self.url.clone())
            .header(header::CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf"))
            .header(header::CONTENT_ENCODING, HeaderValue::from_static("snappy"))
            .header("X-Prometheus-Remote-Write-Version", HeaderValue::from_static("0.1.0"))
            .body(body);
        if let Some((user, password)) = &self.basic_auth {
            request = request.basic_auth(user, password.as_ref());
        }
        let (client, request) = request.build_split();
        let request = match request {
            Ok(r) => r,
            Err(e) => return Outcome::Retry { retry_after: None, reason: describe(&e) },
        };
        let wire = wire_bytes(&request);
        let response = client.execute(request).await;
        if !matches!(&response, Err(e) if e.is_connect()) {
            self.sent.inc_by(wire);
        }
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                // A connection that was never made sent nothing; anything later may have sent the body.
                counters.request((!e.is_connect()).then_some(len));
                return Outcome::Retry { retry_after: None, reason: describe(&e) };
            }
        };
        counters.request(Some(len));
        let status = response.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        let retry_after = response.headers().get(header::RETRY_AFTER).and_then(parse_retry_after);
        let message = read_message(response).await;
        classify(status, retry_after, message)
    }
}

/// The answer's verdict from its status alone (the remote-write spec: retry 5xx, may retry 429,
/// never retry other 4xx).
pub fn classify(status: StatusCode, retry_after: Option<Duration>, message: String) -> Outcome {
    if status.is_success() {
        Outcome::Sent
    } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Outcome::Retry { retry_after, reason: format!("HTTP {}: {message}", status.as_u16()) }
    } else {
        // 4xx, and 1xx/3xx (redirects are not followed: a POST would not survive one intact).
        Outcome::Rejected { status: status.as_u16(), message }
    }
}

/// The receiver's explanation: the first [`MAX_ERROR_BODY`] bytes, one line, printable.
async fn read_message(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY - body.len())]),
            _ => break,
        }
    }
    let text: String =
        String::from_utf8_lossy(&body).trim().chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
    if text.is_empty() { "no details".into() } else { text }
}

/// An error and its causes, without the URL (its query string may hold a credential).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut s = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// `Retry-After` as delay-seconds or an HTTP date, bounded by [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &HeaderValue) -> Option<Duration> {
    let value = value.to_str().ok()?.trim();
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

/// Exponential back-off: 250 ms doubling to 30 s, each delay jittered to 50-100% of itself.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub const BASE: Duration = Duration::from_millis(250);
    pub const MAX: Duration = Duration::from_secs(30);

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The wait before the next attempt; a receiver's `Retry-After` wins (never below [`Self::BASE`],
    /// so `Retry-After: 0` in a loop does not hammer it).
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if let Some(after) = retry_after {
            return after.max(Self::BASE);
        }
        let doublings = self.failures.saturating_sub(1).min(16);
        jitter(Self::BASE.saturating_mul(1 << doublings).min(Self::MAX))
    }
}

/// A uniformly random duration in `[d/2, d]`, so senders that failed together do not return together.
fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 4];
    // Without randomness the delay is simply not jittered; that is harmless.
    let r = getrandom::fill(&mut b).map(|()| u32::from_le_bytes(b)).unwrap_or(u32::MAX);
    d.mul_f64(0.5 + 0.5 * f64::from(r) / f64::from(u32::MAX))
}

/// Everything the task needs, borrowed from the handle.
pub struct Task<'a> {
    pub queue: &'a Queue,
    pub counters: &'a Counters,
    pub endpoint: &'a Endpoint,
    pub interval: Duration,
    pub redacted_url: &'a str,
}

/// Per-run state: buffers reused between batches, the back-off, what has been logged.
struct Run<'a, B: Fn()> {
    task: &'a Task<'a>,
    beat: &'a B,
    cancel: &'a CancellationToken,
    encoder: Encoder,
    batch: Vec<Entry>,
    backoff: Backoff,
    /// Set by the first failure of a run of failures: later ones log at debug level only.
    failing: bool,
    /// Likewise for refusals (4xx).
    refusing: bool,
}

/// Whether to carry on after a batch.
#[derive(PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
}

impl<B: Fn()> Run<'_, B> {
    /// Sends the front batch until it is delivered, refused, or the task is stopped.
    async fn send_front(&mut self) -> Flow {
        loop {
            self.task.queue.take(&mut self.batch);
            if self.batch.is_empty() {
                return Flow::Next;
            }
            (self.beat)();
            let outcome = match self.encoder.encode(&self.batch) {
                Ok(body) => {
                    tokio::select! {
                        outcome = self.task.endpoint.post(body, self.task.counters) => outcome,
                        () = self.cancel.cancelled() => {
                            self.task.queue.put_back(&mut self.batch);
                            return Flow::Stop;
                        }
                    }
                }
                // Snappy fails only for inputs past 4 GiB, which a bounded batch never reaches; treat
                // it as a refusal rather than retry something that cannot succeed.
                Err(e) => Outcome::Rejected { status: 0, message: format!("cannot compress the batch: {e}") },
            };
            let Some(retry_after) = self.settle(outcome) else { return Flow::Next };
            let delay = self.backoff.next_delay(retry_after);
            if self.wait(delay).await == Flow::Stop {
                return Flow::Stop;
            }
            self.task.counters.retry();
        }
    }

    /// Books the outcome of the batch in flight; `Some(retry_after)` when it is to be retried.
    fn settle(&mut self, outcome: Outcome) -> Option<Option<Duration>> {
        let (queue, counters, n) = (self.task.queue, self.task.counters, self.batch.len());
        match outcome {
            Outcome::Sent => {
                queue.settle();
                counters.sent(n);
                self.backoff.reset();
                if std::mem::take(&mut self.failing) {
                    tracing::info!(url = self.task.redacted_url, "remote write recovered");
                }
                self.refusing = false;
                None
            }
            Outcome::Rejected { status, message } => {
                queue.settle();
                counters.rejected(n);
                let text = format!("HTTP {status}: {message}");
                counters.failed(&text);
                if std::mem::replace(&mut self.refusing, true) {
                    tracing::debug!(url = self.task.redacted_url, samples = n, reason = text, "remote write refused");
                } else {
                    tracing::warn!(
                        url = self.task.redacted_url,
                        samples = n,
                        reason = text,
                        "remote write receiver refused a batch; dropped, not retried (further refusals are logged at debug level)"
                    );
                }
                None
            }
            Outcome::Retry { retry_after, reason } => {
                queue.put_back(&mut self.batch);
                counters.failed(&reason);
                if std::mem::replace(&mut self.failing, true) {
                    tracing::debug!(url = self.task.redacted_url, reason, "remote write still failing");
                } else {
                    tracing::warn!(url = self.task.redacted_url, reason, "remote write failed; retrying with back-off");
                }
                Some(retry_after)
            }
        }
    }

    /// Sleeps `delay` unless stopped, beating the heartbeat at least every [`BEAT_EVERY`].
    async fn wait(&self, delay: Duration) -> Flow {
        let until = Instant::now() + delay;
        loop {
            (self.beat)();
            let now = Instant::now();
            if now >= until {
                return Flow::Next;
            }
            tokio::select! {
                () = tokio::time::sleep_until(until.min(now + BEAT_EVERY)) => {}
                () = self.cancel.cancelled() => return Flow::Stop,
            }
        }
    }
}

/// The task's body: runs until `cancel`, then makes one bounded last attempt to send what waits.
pub async fn run<B: Fn()>(task: &Task<'_>, cancel: &CancellationToken, beat: &B) {
    let mut run = Run {
        task,
        beat,
        cancel,
        encoder: Encoder::default(),
        batch: Vec::new(),
        backoff: Backoff::default(),
        failing: false,
        refusing: false,
    };
    let batch = task.queue.batch();
    let mut next_flush = Instant::now() + task.interval;
    'outer: loop {
        beat();
        if task.queue.len() < batch {
            tokio::select! {
                () = tokio::time::sleep_until(next_flush.min(Instant::now() + BEAT_EVERY)) => {}
                () = task.queue.full_batch() => {}
                () = cancel.cancelled() => break,
            }
        }
        let flush = Instant::now() >= next_flush;
        if flush {
            next_flush = Instant::now() + task.interval;
        }
        // Full batches go at once; at the interval, the partial one too.
        loop {
            let waiting = task.queue.len();
            if waiting == 0 || (waiting < batch && !flush) {
                break;
            }
            if run.send_front().await == Flow::Stop {
                break 'outer;
            }
        }
    }
    // Stopping: one attempt for what waits, bounded, no retries (the hub's store keeps the data).
    task.queue.take(&mut run.batch);
    if run.batch.is_empty() {
        return;
    }
    if let Ok(body) = run.encoder.encode(&run.batch) {
        match tokio::time::timeout(SHUTDOWN_FLUSH, task.endpoint.post(body, task.counters)).await {
            Ok(Outcome::Sent) => {
                task.queue.settle();
                task.counters.sent(run.batch.len());
                return;
            }
            Ok(outcome) => tracing::debug!(?outcome, "remote write: last flush at shutdown failed"),
            Err(_) => tracing::debug!("remote write: last flush at shutdown timed out"),
        }
    }
    task.queue.put_back(&mut run.batch);
}

/// The headers every request carries, from the configuration; values marked sensitive, so the HTTP
/// stack never prints them.
pub fn default_headers(configured: &std::collections::BTreeMap<String, String>) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    for (name, value) in configured {
        let name = header::HeaderName::from_bytes(name.as_bytes()).ok()?;
        let mut value = HeaderValue::from_str(value).ok()?;
        value.set_sensitive(true);
        headers.append(name, value);
    }
    Some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_spec_says() {
        let after = Some(Duration::from_secs(3));
        assert_eq!(classify(StatusCode::NO_CONTENT, None, String::new()), Outcome::Sent);
        for status in [500, 502, 503, 504] {
            let s = StatusCode::from_u16(status).unwrap();
            assert!(
                matches!(classify(s, after, "x".into()), Outcome::Retry { retry_after, .. } if retry_after == after)
            );
        }
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, after, "slow down".into()),
            Outcome::Retry { retry_after, ref reason } if retry_after == after && reason.contains("slow down")
        ));
        for status in [400, 401, 403, 404, 409, 413, 422, 301] {
            let s = StatusCode::from_u16(status).unwrap();
            assert_eq!(
                classify(s, after, "why".into()),
                Outcome::Rejected { status, message: "why".into() },
                "{status}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let parse = |s: &str| parse_retry_after(&HeaderValue::from_str(s).unwrap());
        assert_eq!(parse("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse("999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let header = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&later).unwrap();
        let d = parse(&header).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
        assert_eq!(parse("soon"), None);
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_and_honours_retry_after() {
        let mut b = Backoff::default();
        let mut ceiling = Backoff::BASE;
        for _ in 0..20 {
            let d = b.next_delay(None);
            assert!(d >= ceiling / 2 && d <= ceiling, "{d:?} vs {ceiling:?}");
            ceiling = (ceiling * 2).min(Backoff::MAX);
        }
        assert_eq!(b.next_delay(Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(b.next_delay(Some(Duration::ZERO)), Backoff::BASE);
        b.reset();
        assert!(b.next_delay(None) <= Backoff::BASE);
    }
}
