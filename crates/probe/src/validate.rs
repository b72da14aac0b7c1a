//! Validation of a [`CheckDef`] into a [`Check`]: every bad field is reported, each with its JSON name
//! (`http.headers.X-Token`, `runOn[1]`) and the reason, in one pass; every size has a bound.

use std::net::{Ipv4Addr, Ipv6Addr};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;

use crate::check::{Check, DnsPlan, HttpPlan, JsonPlan, Plan, StatusRanges, TlsPlan};
use crate::def::{AGENT_PREFIX, CheckDef, DnsSpec, HUB, HttpSpec, Kind, RecordType};
use crate::target::{check_dns_name, parse_host, parse_host_port};

pub const MIN_INTERVAL_SECONDS: u32 = 10;
pub const MAX_INTERVAL_SECONDS: u32 = 86_400;
pub const MIN_TIMEOUT_MS: u32 = 100;
pub const MAX_TIMEOUT_MS: u32 = 60_000;
pub const MAX_RETRIES: u32 = 10;
/// The timeout a check gets when it names none.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// The timeout for a check that names none: [`DEFAULT_TIMEOUT_MS`], or 80% of a shorter interval
/// (as Uptime Kuma does), so the shortest interval allowed is never refused for a timeout nobody
/// chose.
pub fn default_timeout_ms(interval_seconds: u32) -> u32 {
    let share = u64::from(interval_seconds) * 800;
    u32::try_from(share).unwrap_or(u32::MAX).clamp(MIN_TIMEOUT_MS, DEFAULT_TIMEOUT_MS)
}
pub const MAX_ID_LEN: usize = 64;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_TARGET_LEN: usize = 2048;
pub const MAX_RUN_ON: usize = 16;
pub const MAX_HEADERS: usize = 32;
pub const MAX_HEADER_NAME_LEN: usize = 128;
pub const MAX_HEADER_VALUE_LEN: usize = 4096;
pub const MAX_TEXT_LEN: usize = 1024;
pub const MAX_JSON_PATH_LEN: usize = 256;
pub const MAX_JSON_PATH_SEGMENTS: usize = 32;
pub const MAX_WARN_DAYS: u32 = 3650;

/// Headers the HTTP client sets itself; a definition cannot override them.
const RESERVED_HEADERS: &[&str] = &["content-length", "transfer-encoding", "connection", "upgrade", "te", "keep-alive"];
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// One bad field: the same `{field, reason}` shape as the API's validation details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// Collects errors while the sections are checked.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    /// Adds the error of `r` under `field`, and returns its value.
    fn take<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|reason| self.add(field, reason)).ok()
    }
}

/// Ids: of checks and of servers in `runOn` (the fleet's id rule).
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// A bounded, printable, non-empty text.
fn text(value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() || value.len() > max {
        return Err(format!("must be 1-{max} bytes"));
    }
    if !printable(value) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

impl CheckDef {
    /// Checks every field and returns the runnable check, or every bad field. `id` must be set (the
    /// hub assigns it before validating a new check).
    pub fn validate(&self) -> Result<Check, Vec<FieldError>> {
        let mut e = Errors::default();
        if !valid_id(&self.id) {
            e.add("id", format!("must be 1-{MAX_ID_LEN} letters, digits, '.', '_' or '-'"));
        }
        let chars = self.name.chars().count();
        if self.name.trim().is_empty() || chars > MAX_NAME_CHARS || !printable(&self.name) {
            e.add("name", format!("must be 1-{MAX_NAME_CHARS} printable characters"));
        }
        if !(MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&self.interval_seconds) {
            e.add("intervalSeconds", format!("must be {MIN_INTERVAL_SECONDS}-{MAX_INTERVAL_SECONDS}"));
        }
        if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            e.add("timeoutMs", format!("must be {MIN_TIMEOUT_MS}-{MAX_TIMEOUT_MS}"));
        } else if u64::from(self.timeout_ms) >= u64::from(self.interval_seconds) * 1000 {
            e.add("timeoutMs", "must be below the interval");
        }
        if self.retries > MAX_RETRIES {
            e.add("retries", format!("must be 0-{MAX_RETRIES}"));
        }
        self.check_run_on(&mut e);
        self.check_sections(&mut e);
        let plan = self.plan(&mut e);
        match plan {
            Some(plan) if e.0.is_empty() => Ok(Check { def: self.clone(), plan }),
            _ => Err(e.0),
        }
    }

    fn check_run_on(&self, e: &mut Errors) {
        if self.run_on.is_empty() || self.run_on.len() > MAX_RUN_ON {
            e.add("runOn", format!("must list 1-{MAX_RUN_ON} places"));
        }
        for (i, place) in self.run_on.iter().enumerate().take(MAX_RUN_ON) {
            let ok = place == HUB || place.strip_prefix(AGENT_PREFIX).is_some_and(valid_id);
            if !ok {
                e.add(format!("runOn[{i}]"), "must be `hub` or `agent:<serverId>`");
            } else if self.run_on[..i].contains(place) {
                e.add(format!("runOn[{i}]"), "is listed twice");
            }
        }
    }

    /// A kind's options belong to that kind only.
    fn check_sections(&self, e: &mut Errors) {
        for (section, present, kind) in [
            ("http", self.http.is_some(), Kind::Http),
            ("dns", self.dns.is_some(), Kind::Dns),
            ("tls", self.tls.is_some(), Kind::Tls),
        ] {
            if present && self.kind != kind {
                e.add(section, format!("is only for checks of kind {}", kind.as_str()));
            }
        }
    }

    /// The parsed form of the target and the kind's options (`None` when one is bad).
    fn plan(&self, e: &mut Errors) -> Option<Plan> {
        if self.target.is_empty() || self.target.len() > MAX_TARGET_LEN {
            e.add("target", format!("must be 1-{MAX_TARGET_LEN} bytes"));
            return None;
        }
        if !printable(&self.target) || self.target.contains(char::is_whitespace) {
            e.add("target", "must not contain spaces or control characters");
            return None;
        }
        match self.kind {
            Kind::Http => http_plan(&self.target, self.http.clone().unwrap_or_default(), e),
            Kind::Tcp => e.take("target", parse_host_port(&self.target, None)).map(Plan::Tcp),
            Kind::Ping => e.take("target", parse_host(&self.target)).map(Plan::Ping),
            Kind::Dns => dns_plan(&self.target, self.dns.clone().unwrap_or_default(), e),
            Kind::Tls => {
                let spec = self.tls.clone().unwrap_or_default();
                if spec.warn_days > MAX_WARN_DAYS {
                    e.add("tls.warnDays", format!("must be 0-{MAX_WARN_DAYS}"));
                }
                let target = e.take("target", parse_host_port(&self.target, Some(443)))?;
                Some(Plan::Tls(TlsPlan { target, warn_days: spec.warn_days }))
            }
        }
    }
}

fn http_plan(target: &str, spec: HttpSpec, e: &mut Errors) -> Option<Plan> {
    let url = e.take("target", parse_url(target));
    let method = if METHODS.contains(&spec.method.as_str()) {
        Method::from_bytes(spec.method.as_bytes()).ok()
    } else {
        e.add("http.method", format!("must be one of {}", METHODS.join(", ")));
        None
    };
    let expect = if spec.expect_status.len() > 64 {
        e.add("http.expectStatus", "must be at most 64 characters");
        None
    } else {
        e.take("http.expectStatus", StatusRanges::parse(&spec.expect_status))
    };
    if let Some(k) = &spec.keyword {
        e.take("http.keyword", text(k, MAX_TEXT_LEN));
    }
    let json = spec.json_path.as_ref().and_then(|j| {
        let path = e.take("http.jsonPath.path", json_path(&j.path));
        // An empty string is a value a JSON field can hold, so it is allowed here.
        let expect_ok = j.expect.len() <= MAX_TEXT_LEN && printable(&j.expect);
        if !expect_ok {
            e.add("http.jsonPath.expect", format!("must be at most {MAX_TEXT_LEN} bytes, without control characters"));
        }
        Some(JsonPlan { path: path?, expect: j.expect.clone() }).filter(|_| expect_ok)
    });
    if spec.method == "HEAD" && (spec.keyword.is_some() || spec.json_path.is_some()) {
        e.add("http.method", "HEAD answers without a body, so a keyword or JSON path cannot match");
    }
    if spec.keyword.is_some() && spec.json_path.is_some() {
        e.add("http.jsonPath", "set either keyword or jsonPath, not both");
    }
    let headers = headers(&spec, e);
    Some(Plan::Http(Box::new(HttpPlan {
        url: url?,
        method: method?,
        expect: expect?,
        keyword: spec.keyword,
        json,
        headers: headers?,
        follow_redirects: spec.follow_redirects,
        verify_tls: spec.verify_tls,
    })))
}

fn parse_url(target: &str) -> Result<Url, String> {
    let url = Url::parse(target).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials; send them in http.headers (Authorization)".into());
    }
    Ok(url)
}

fn json_path(path: &str) -> Result<Vec<String>, String> {
    text(path, MAX_JSON_PATH_LEN)?;
    let segments: Vec<String> = path.split('.').map(str::to_string).collect();
    if segments.len() > MAX_JSON_PATH_SEGMENTS {
        return Err(format!("must have at most {MAX_JSON_PATH_SEGMENTS} segments"));
    }
    if segments.iter().any(String::is_empty) {
        return Err("must be keys or array indexes separated by single dots (`data.items.0.state`)".into());
    }
    Ok(segments)
}

fn headers(spec: &HttpSpec, e: &mut Errors) -> Option<HeaderMap> {
    if spec.headers.len() > MAX_HEADERS {
        e.add("http.headers", format!("at most {MAX_HEADERS} headers"));
        return None;
    }
    let mut map = HeaderMap::new();
    let before = e.0.len();
    for (name, value) in &spec.headers {
        // The field names the header, shortened so an attacker-sized name cannot bloat the error.
        let field = format!("http.headers.{}", name.chars().take(40).collect::<String>());
        if name.len() > MAX_HEADER_NAME_LEN {
            e.add(field, format!("the name must be at most {MAX_HEADER_NAME_LEN} bytes"));
            continue;
        }
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            e.add(field, "is not a valid header name");
            continue;
        };
        if RESERVED_HEADERS.contains(&header.as_str()) {
            e.add(field, "is set by the probe itself");
            continue;
        }
        if value.len() > MAX_HEADER_VALUE_LEN || !printable(value) {
            e.add(field, format!("the value must be at most {MAX_HEADER_VALUE_LEN} bytes, without control characters"));
            continue;
        }
        match HeaderValue::from_str(value) {
            Ok(mut v) => {
                v.set_sensitive(true);
                map.insert(header, v);
            }
            Err(_) => e.add(field, "the value must be visible ASCII"),
        }
    }
    (e.0.len() == before).then_some(map)
}

fn dns_plan(target: &str, spec: DnsSpec, e: &mut Errors) -> Option<Plan> {
    let name = e.take("target", check_dns_name(target)).map(|()| target.to_string());
    let expect = spec.expect.as_ref().and_then(|x| e.take("dns.expect", dns_expect(spec.record_type, x)));
    let resolver = match &spec.resolver {
        Some(r) if r.len() > 300 => {
            e.add("dns.resolver", "must be at most 300 bytes");
            return None;
        }
        Some(r) => Some(e.take("dns.resolver", parse_host_port(r, Some(53)))?),
        None => None,
    };
    Some(Plan::Dns(DnsPlan { name: name?, record_type: spec.record_type, expect, resolver }))
}

/// Checks that `expect` can be an answer of `record_type`, and returns it.
fn dns_expect(record_type: RecordType, expect: &str) -> Result<String, String> {
    text(expect, MAX_TEXT_LEN)?;
    let name = |n: &str| check_dns_name(n).map_err(|r| format!("must be a host name: {r}"));
    match record_type {
        RecordType::A => expect.parse::<Ipv4Addr>().map(|_| ()).map_err(|_| "must be an IPv4 address".to_string()),
        RecordType::Aaaa => expect.parse::<Ipv6Addr>().map(|_| ()).map_err(|_| "must be an IPv6 address".to_string()),
        RecordType::Cname | RecordType::Ns => name(expect),
        RecordType::Mx => match expect.split_once(' ') {
            Some((pref, host)) => {
                pref.parse::<u16>().map_err(|_| "must be `exchange` or `preference exchange`".to_string())?;
                name(host)
            }
            None => name(expect),
        },
        RecordType::Txt => Ok(()),
    }?;
    Ok(expect.to_string())
}

#[cfg(test)]
mod tests;
