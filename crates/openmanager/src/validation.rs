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

/// Longest id accepted for rules, silences, channels and jobs (they become store keys).
pub const MAX_ID_LEN: usize = 64;

/// Ids become store keys and URL segments: keep them to a safe alphabet.
pub fn check_id(field: &str, id: &str, errors: &mut Vec<FieldError>) {
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
