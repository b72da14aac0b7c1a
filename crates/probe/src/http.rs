//! The `http` probe: one request with the definition's method and headers (and nothing else: no
//! cookies, no stored credentials), redirects followed by hand up to [`MAX_REDIRECTS`] (credential
//! headers dropped when a redirect leaves the origin), the status matched against the expected
//! ranges, and at most [`MAX_BODY`] bytes of the body read for a keyword or a JSON path.

use std::time::Instant;

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderValue, LOCATION, PROXY_AUTHORIZATION, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::check::{HttpPlan, JsonPlan};
use crate::exchange::{Answer, exchange};
use crate::result::Outcome;
use crate::tls::{TlsContext, days_left, not_after, unix_now};

pub use crate::exchange::MAX_BODY;

/// Redirects followed before the probe gives up (a loop ends here too).
pub const MAX_REDIRECTS: usize = 5;

/// Runs the probe. The caller bounds the whole of it with the check's timeout. `user_agent` is sent
/// unless the check sets its own.
pub(crate) async fn probe(
    tls: &TlsContext,
    user_agent: Option<&HeaderValue>,
    plan: &HttpPlan,
    started: Instant,
) -> Outcome {
    let config = if plan.verify_tls { &tls.verifying } else { &tls.accept_any };
    let mut headers = plan.headers.clone();
    if !headers.contains_key(USER_AGENT)
        && let Some(ua) = user_agent
    {
        headers.insert(USER_AGENT, ua.clone());
    }
    // The body is read only when something is matched in it, and only from the last answer.
    let wants_body = plan.keyword.is_some() || plan.json.is_some();
    let answer = match send(config, plan, headers, wants_body).await {
        Ok(r) => r,
        Err(e) => return Outcome::down(started.elapsed(), e),
    };
    let status = answer.status;
    let mut outcome = Outcome { status_code: Some(status.as_u16()), ..Outcome::up(started.elapsed()) };
    if let Some(der) = &answer.leaf
        && let Ok(na) = not_after(der)
    {
        outcome.cert_not_after = Some(na);
        outcome.cert_days_left = Some(days_left(na, unix_now()));
        // Verified when the client verified it: the request would have failed otherwise.
        outcome.cert_verified = plan.verify_tls.then_some(true);
    }
    if !plan.expect.contains(status.as_u16()) {
        return outcome.fail(format!("status {} is not in {}", status.as_u16(), plan.expect));
    }
    let Some((body, complete)) = answer.body else {
        return outcome;
    };
    outcome.latency_ms = crate::result::millis(started.elapsed());
    if let Some(keyword) = &plan.keyword
        && !contains(&body, keyword.as_bytes())
    {
        let within = if complete { "the body" } else { "the first 64 KiB of the body" };
        return outcome.fail(format!("keyword {keyword:?} not found in {within}"));
    }
    if let Some(json) = &plan.json {
        if !complete {
            return outcome.fail("the body is larger than 64 KiB; a JSON path needs the whole document");
        }
        if let Err(e) = match_json(&body, json) {
            return outcome.fail(e);
        }
    }
    outcome
}

/// Sends the request, following redirects when asked; returns the last answer, with its body when
/// `wants_body` and its status is expected (a body that fails the probe anyway is not read).
async fn send(
    tls: &std::sync::Arc<rustls::ClientConfig>,
    plan: &HttpPlan,
    mut headers: HeaderMap,
    wants_body: bool,
) -> Result<Answer, String> {
    let mut url = plan.url.clone();
    let mut method = plan.method.clone();
    for redirects in 0..=MAX_REDIRECTS {
        let follows = |status: StatusCode, headers: &HeaderMap| {
            plan.follow_redirects && status.is_redirection() && headers.contains_key(LOCATION)
        };
        let answer = exchange(tls, &method, &url, &headers, |status, h| {
            wants_body && !follows(status, h) && plan.expect.contains(status.as_u16())
        })
        .await?;
        let status = answer.status;
        if !follows(status, &answer.headers) {
            return Ok(answer);
        }
        let Some(location) = answer.headers.get(LOCATION).and_then(|l| l.to_str().ok()) else {
            return Ok(answer);
        };
        if redirects == MAX_REDIRECTS {
            return Err(format!("more than {MAX_REDIRECTS} redirects (the last to {})", redacted(location)));
        }
        let next = url.join(location).map_err(|e| format!("redirect to a bad location: {e}"))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(format!("redirect to a {} URL", next.scheme()));
        }
        if next.origin() != url.origin() {
            // Credentials were given for the target's origin, not for wherever it points to.
            for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
                headers.remove(name);
            }
        }
        // As browsers do: 303 turns any method but HEAD into GET; 301 and 302 turn POST into GET.
        if (status == StatusCode::SEE_OTHER && method != Method::HEAD)
            || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND) && method == Method::POST)
        {
            method = Method::GET;
        }
        url = next;
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// A location without its query (which may carry tokens), for error texts.
fn redacted(location: &str) -> &str {
    location.split(['?', '#']).next().unwrap_or(location)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Follows the path and compares the value found with the expected text.
pub(crate) fn match_json(body: &[u8], plan: &JsonPlan) -> Result<(), String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let mut at = &doc;
    for (i, key) in plan.path.iter().enumerate() {
        let next = match at {
            Value::Object(map) => map.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|n| items.get(n)),
            _ => None,
        };
        at = next.ok_or_else(|| format!("JSON path {} has no value", plan.path[..=i].join(".")))?;
    }
    let found = match at {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if found == plan.expect {
        Ok(())
    } else {
        let mut shown = found;
        if shown.len() > 100 {
            let mut end = 100;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push_str("...");
        }
        Err(format!("JSON path {} is {shown:?}, expected {:?}", plan.path.join("."), plan.expect))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn plan(path: &str, expect: &str) -> JsonPlan {
        JsonPlan { path: path.split('.').map(str::to_string).collect(), expect: expect.into() }
    }

    #[test]
    fn json_paths_match_strings_numbers_and_indexes() {
        let body = br#"{"status":"ok","db":{"up":true,"lag":3},"items":[{"state":"ready"}]}"#;
        assert!(match_json(body, &plan("status", "ok")).is_ok());
        assert!(match_json(body, &plan("db.up", "true")).is_ok());
        assert!(match_json(body, &plan("db.lag", "3")).is_ok());
        assert!(match_json(body, &plan("items.0.state", "ready")).is_ok());
        let e = match_json(body, &plan("db.lag", "0")).unwrap_err();
        assert_eq!(e, r#"JSON path db.lag is "3", expected "0""#);
        let e = match_json(body, &plan("items.1.state", "ready")).unwrap_err();
        assert!(e.contains("items.1 has no value"), "{e}");
        assert!(match_json(b"<html>", &plan("a", "b")).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn keyword_search_and_redaction() {
        assert!(contains(b"hello world", b"o w"));
        assert!(!contains(b"hello", b"world"));
        assert_eq!(redacted("/next?token=secret"), "/next");
    }
}
