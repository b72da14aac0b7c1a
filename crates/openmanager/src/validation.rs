//! Validation errors, shared by every domain rule that checks input (servers, alert rules, silences,
//! channels, queries). A domain service returns them; the HTTP adapter turns them into a 422 with
//! `details`, the tools into "invalid arguments". Nothing here knows about HTTP.

use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// One field that failed validation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// `Ok` when nothing failed, else every failure.
pub fn check(errors: Vec<FieldError>) -> Result<(), Vec<FieldError>> {
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Parses a JSON document already read (a merged patch, a body with defaults filled in, tool
/// arguments) into `T`, naming the field at fault.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Vec<FieldError>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        vec![path_error(&path, &e.into_inner().to_string())]
    })
}

/// The error for `reason` at serde path `path`. serde reports a missing field at its parent, so the
/// field itself is named.
pub fn path_error(path: &str, reason: &str) -> FieldError {
    let named = |prefix: &str| reason.strip_prefix(prefix).and_then(|r| r.split('`').next());
    // An unknown field is already the last step of the path.
    if let Some(unknown) = named("unknown field `")
        && (path == unknown || path.ends_with(&format!(".{unknown}")))
    {
        return FieldError::new(path, reason);
    }
    let missing = named("missing field `").or_else(|| named("unknown field `"));
    let field = match (path, missing) {
        ("." | "", Some(m)) => m.to_string(),
        ("." | "", None) => "body".to_string(),
        (p, Some(m)) => format!("{p}.{m}"),
        (p, None) => p.to_string(),
    };
    FieldError::new(field, reason)
}

/// Refuses control characters in a text field (names end up in logs, notifications and HTML).
pub fn printable(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if value.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "must not contain control characters"));
    }
}

// The same rules as JSON Schema patterns, for the OpenAPI document (ECMA-262 syntax, which Python's
// `re` and Rust's `regex` read alike). A test checks each against the function that enforces it.

/// No control character (Unicode `Cc`, what `char::is_control` refuses).
pub const PRINTABLE_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
/// At least one character that is not white space (what `str::trim` keeps: Unicode `White_Space`).
pub const NOT_BLANK_PATTERN: &str =
    r"[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
/// A printable name that is not blank.
pub const NAME_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$";
/// An id named in a list (servers or checks of a status page or maintenance window): 1-128
/// printable characters ([`check_listed_id`]).
#[derive(utoipa::ToSchema)]
#[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
#[allow(dead_code)]
pub struct ListedId(String);

/// Checks a [`ListedId`]: 1-128 characters (not bytes, as `maxLength` counts), none a control.
pub fn check_listed_id(field: &str, id: &str, errors: &mut Vec<FieldError>) {
    let n = id.chars().count();
    if n == 0 || n > 128 || id.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "must be 1-128 printable characters"));
    }
}

/// Ids of rules, silences, channels and jobs ([`check_id`]).
pub const ID_PATTERN: &str = "^[A-Za-z0-9._-]{1,64}$";

/// A name: 1-`max` characters, not blank, no control characters.
pub fn check_name(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        errors.push(FieldError::new(field, format!("must be 1-{max} printable characters, not only spaces")));
    }
}

/// An `http(s)://host[:port][/path]` URL whose host is a DNS name (letters, digits and single
/// inner hyphens, so no punycode label; the last label starts with a letter, so it is never read as
/// a number) or an IPv4 address, and whose path is printable ASCII: what [`is_http_url`] accepts,
/// and every such string is a URL `reqwest` parses.
pub const HTTP_URL_PATTERN: &str = concat!(
    r"^https?://",
    r"(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*",
    r"|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))",
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?",
    r"([/?#][!-~]*)?$"
);
pub const MAX_URL_LEN: usize = 2048;

/// Checks [`HTTP_URL_PATTERN`] and [`MAX_URL_LEN`], by hand (no regex engine in the binary).
pub fn is_http_url(url: &str) -> bool {
    let rest = match url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) {
        Some(r) if url.len() <= MAX_URL_LEN => r,
        _ => return false,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if !path.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
        return false;
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p == "0" || !p.starts_with('0'))
            && p.parse::<u32>().is_ok_and(|n| n <= 65_535)
    });
    port_ok && (is_dns_name(host) || is_ipv4(host))
}

fn is_dns_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let Some(last) = labels.last() else { return false };
    labels.iter().all(|l| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
            && !l.contains("--")
    }) && last.starts_with(|c: char| c.is_ascii_alphabetic())
}

fn is_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (*p == "0" || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// Longest id accepted for rules, silences, channels and jobs (they become store keys).
pub const MAX_ID_LEN: usize = 64;

/// Ids become store keys and URL segments: keep them to a safe alphabet.
pub fn check_id(field: &str, id: &str, errors: &mut Vec<FieldError>) {
    // Keep in step with ID_PATTERN.
    if id.is_empty() || id.len() > MAX_ID_LEN {
        errors.push(FieldError::new(field, format!("must be 1-{MAX_ID_LEN} characters")));
    } else if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
        errors.push(FieldError::new(field, "may contain only letters, digits, '-', '_' and '.'"));
    }
}

/// A random id with a readable prefix (`rule-3f2a9c01d4e5`), valid for [`check_id`].
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    format!("{prefix}-{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    /// A deterministic spread of strings: the edge cases by hand, then random ones over an alphabet
    /// that hits every class the patterns name.
    fn corpus(extra: &[&str]) -> Vec<String> {
        let alphabet: Vec<char> =
            "aZ09-_.:/?#@%[]~ \t\n\u{0}\u{1f}\u{7f}\u{85}\u{9f}\u{a0}\u{3000}é한".chars().collect();
        let mut out: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 12) as usize;
            let s: String = (0..len).map(|i| alphabet[((x >> (i * 5)) % alphabet.len() as u64) as usize]).collect();
            out.push(s);
        }
        out
    }

    fn agrees(pattern: &str, check: impl Fn(&str) -> bool, extra: &[&str]) {
        let re = regex::Regex::new(pattern).unwrap();
        for s in corpus(extra) {
            assert_eq!(re.is_match(&s), check(&s), "{pattern} disagrees on {s:?}");
        }
    }

    #[test]
    fn patterns_say_what_the_checks_do() {
        let name_ok = |s: &str| {
            let mut e = Vec::new();
            check_name("n", s, usize::MAX, &mut e);
            e.is_empty()
        };
        agrees(NAME_PATTERN, name_ok, &["", " ", "a", " a ", "\u{3000}", "a\tb", "\u{85}x"]);
        agrees(PRINTABLE_PATTERN, |s| !s.chars().any(char::is_control), &["", "a\u{9f}", "\u{a0}"]);
        agrees(NOT_BLANK_PATTERN, |s| !s.trim().is_empty(), &["", " \t\n", "\u{1c}", "\u{180e}"]);
        let id_ok = |s: &str| {
            let mut e = Vec::new();
            check_id("id", s, &mut e);
            e.is_empty()
        };
        agrees(ID_PATTERN, id_ok, &["", "a", &"a".repeat(64), &"a".repeat(65), "a b"]);
    }

    #[test]
    fn url_pattern_says_what_is_http_url_does_and_reqwest_parses_it() {
        let urls = [
            "http://a",
            "https://hooks.slack.com/services/T0/B0/x?y=1#z",
            "http://127.0.0.1:8080/hook",
            "http://256.1.1.1/",
            "http://1.2.3.4.5/",
            "http://a.1/",
            "http://0x1/",
            "http://xn--a/",
            "http://a--b.example/",
            "http://-a.example/",
            "http://a:65535/",
            "http://a:65536/",
            "http://a:0/",
            "http://a:080/",
            "http://a/ b",
            "http://a/\u{e9}",
            "http://[::1]/",
            "ftp://a/",
            "http://",
            "http://a_b/",
        ];
        let re = regex::Regex::new(HTTP_URL_PATTERN).unwrap();
        for u in urls.iter().map(|s| s.to_string()).chain(corpus(&[]).into_iter().map(|s| format!("http://{s}"))) {
            assert_eq!(re.is_match(&u), is_http_url(&u), "disagree on {u:?}");
            if is_http_url(&u) {
                assert!(reqwest::Url::parse(&u).is_ok(), "accepted but unparsable: {u:?}");
            }
        }
        assert!(!is_http_url(&format!("http://a/{}", "x".repeat(MAX_URL_LEN))));
    }

    #[test]
    fn names_the_field() {
        let e = from_value::<Outer>(serde_json::json!({"inner": {"n": "x"}})).unwrap_err();
        assert_eq!(e[0].field, "inner.n");
        let e = from_value::<Outer>(serde_json::json!({"inner": {}})).unwrap_err();
        assert_eq!(e[0].field, "inner.n");
        let e = from_value::<Outer>(serde_json::json!({})).unwrap_err();
        assert_eq!(e[0].field, "inner");
    }
}
