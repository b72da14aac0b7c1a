//! Validation: every bad field named with its reason, in one pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn def(kind: &str, target: &str, extra: &str) -> CheckDef {
    let target = serde_json::to_string(target).unwrap();
    let text = format!(r#"{{"id":"c1","name":"n","kind":"{kind}","target":{target}{extra}}}"#);
    serde_json::from_str(&text).unwrap()
}

fn fields(def: &CheckDef) -> Vec<String> {
    def.validate().unwrap_err().into_iter().map(|e| e.field).collect()
}

#[test]
fn good_checks_of_every_kind_pass() {
    for (kind, target, extra) in [
        ("http", "https://example.com/health?x=1", r#","http":{"keyword":"ok","headers":{"X-Token":"abc"}}"#),
        ("http", "http://10.0.0.1:8080/", r#","http":{"jsonPath":{"path":"db.0.up","expect":"true"}}"#),
        ("tcp", "db.internal:5432", ""),
        ("tcp", "[::1]:22", ""),
        ("ping", "10.0.0.1", ""),
        ("ping", "gateway.lan", ""),
        ("dns", "example.com", r#","dns":{"recordType":"MX","expect":"10 mx.example.com","resolver":"1.1.1.1"}"#),
        ("dns", "_dmarc.example.com", r#","dns":{"recordType":"TXT","expect":"v=DMARC1; p=none"}"#),
        ("tls", "example.com", r#","tls":{"warnDays":7}"#),
        ("tls", "example.com:8443", ""),
    ] {
        let d = def(kind, target, extra);
        assert!(d.validate().is_ok(), "{kind} {target}: {:?}", d.validate().err());
    }
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let mut d = def(
        "http",
        "ftp://x",
        r#","http":{"method":"TRACE","expectStatus":"600","headers":{"Bad Name":"v","X-Ok":"line\nbreak","Content-Length":"1"}}"#,
    );
    d.id = "has space".into();
    d.name = String::new();
    d.interval_seconds = 5;
    d.timeout_ms = 50;
    d.retries = 11;
    d.run_on = vec!["hub".into(), "agent:".into(), "hub".into(), "moon".into()];
    d.dns = Some(DnsSpec::default());
    let errors = d.validate().unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "id",
        "name",
        "intervalSeconds",
        "timeoutMs",
        "retries",
        "runOn[1]",
        "runOn[2]",
        "runOn[3]",
        "dns",
        "target",
        "http.method",
        "http.expectStatus",
        "http.headers.Bad Name",
        "http.headers.X-Ok",
        "http.headers.Content-Length",
    ] {
        assert!(fields.contains(&f), "{f} missing from {errors:?}");
    }
    assert!(errors.iter().all(|e| !e.reason.is_empty()));
    let dup = errors.iter().find(|e| e.field == "runOn[2]").unwrap();
    assert_eq!(dup.reason, "is listed twice");
}

#[test]
fn the_timeout_must_be_below_the_interval() {
    let mut d = def("tcp", "a:1", "");
    d.interval_seconds = 10;
    d.timeout_ms = 10_000;
    assert_eq!(fields(&d), vec!["timeoutMs"]);
}

#[test]
fn the_default_timeout_fits_the_interval() {
    assert_eq!(default_timeout_ms(10), 8000);
    assert_eq!(default_timeout_ms(12), 9600);
    assert_eq!(default_timeout_ms(60), DEFAULT_TIMEOUT_MS);
    assert_eq!(default_timeout_ms(MAX_INTERVAL_SECONDS), DEFAULT_TIMEOUT_MS);
    for interval in MIN_INTERVAL_SECONDS..=20 {
        let mut d = def("tcp", "a:1", "");
        d.interval_seconds = interval;
        d.timeout_ms = default_timeout_ms(interval);
        assert!(d.validate().is_ok(), "interval {interval}");
    }
}

#[test]
fn targets_are_parsed_per_kind() {
    assert_eq!(fields(&def("tcp", "db.internal", "")), vec!["target"]);
    assert_eq!(fields(&def("ping", "10.0.0.1:80", "")), vec!["target"]);
    assert_eq!(fields(&def("dns", "bad_name!", "")), vec!["target"]);
    assert_eq!(fields(&def("http", "https://user:pw@example.com/", "")), vec!["target"]);
    assert_eq!(fields(&def("http", "not a url", "")), vec!["target"]);
    assert_eq!(fields(&def("tcp", "a\u{1}b:80", "")), vec!["target"]);
    assert_eq!(fields(&def("tcp", &format!("{}:80", "a".repeat(3000)), "")), vec!["target"]);
}

#[test]
fn dns_expectations_fit_the_record_type() {
    assert_eq!(fields(&def("dns", "x.test", r#","dns":{"recordType":"A","expect":"::1"}"#)), vec!["dns.expect"]);
    assert_eq!(
        fields(&def("dns", "x.test", r#","dns":{"recordType":"AAAA","expect":"10.0.0.1"}"#)),
        vec!["dns.expect"]
    );
    assert_eq!(
        fields(&def("dns", "x.test", r#","dns":{"recordType":"MX","expect":"ten mx.test"}"#)),
        vec!["dns.expect"]
    );
    assert_eq!(fields(&def("dns", "x.test", r#","dns":{"resolver":"1.1.1.1:x"}"#)), vec!["dns.resolver"]);
}

#[test]
fn http_bounds_hold() {
    let many: Vec<String> = (0..33).map(|i| format!(r#""X-{i}":"v""#)).collect();
    let d = def("http", "http://a.test/", &format!(r#","http":{{"headers":{{{}}}}}"#, many.join(",")));
    assert_eq!(fields(&d), vec!["http.headers"]);
    let long = "k".repeat(2000);
    let d = def("http", "http://a.test/", &format!(r#","http":{{"keyword":"{long}"}}"#));
    assert_eq!(fields(&d), vec!["http.keyword"]);
    let d = def("http", "http://a.test/", r#","http":{"keyword":"a","jsonPath":{"path":"a..b","expect":"x"}}"#);
    assert_eq!(fields(&d), vec!["http.jsonPath.path", "http.jsonPath"]);
    let d = def("http", "http://a.test/", r#","http":{"jsonPath":{"path":"a","expect":""}}"#);
    assert!(d.validate().is_ok());
    let d = def("http", "http://a.test/", r#","http":{"method":"HEAD","keyword":"a"}"#);
    assert_eq!(fields(&d), vec!["http.method"]);
}

#[test]
fn a_valid_check_knows_where_it_runs() {
    let mut d = def("tcp", "a:1", "");
    d.run_on = vec!["agent:web-1".into()];
    let c = d.validate().unwrap();
    assert!(c.runs_on("agent:web-1"));
    assert!(!c.runs_on("hub"));
    assert_eq!(c.interval(), std::time::Duration::from_secs(60));
}
