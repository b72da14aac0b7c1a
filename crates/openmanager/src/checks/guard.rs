//! What a check may not do: carry one of this hub's own tokens. A check runs unattended and its
//! results (status codes, error texts, keyword matches) are readable with the `read` scope, so a
//! check holding an admin token would lend that token's power to whoever can read or edit checks.
//! Refused in headers (`Authorization: Bearer`, `X-API-Key`, any value) and in the URL's query and
//! user-info.

use crate::tokens::TokenSet;
use crate::validation::FieldError;

use super::wire::CheckSpec;

/// Every place in `spec` where one of `tokens` appears.
pub fn hub_tokens(spec: &CheckSpec, tokens: &TokenSet) -> Vec<FieldError> {
    let mut out = Vec::new();
    let is_token = |text: &str| -> bool {
        let text = text.trim();
        let bare = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .or_else(|| text.strip_prefix("Token "))
            .unwrap_or(text)
            .trim();
        !bare.is_empty() && tokens.authenticate(bare).is_some()
    };
    if let Some(http) = &spec.http {
        for (name, value) in &http.headers {
            if is_token(value) {
                out.push(FieldError::new(
                    format!("http.headers.{name}"),
                    "must not carry one of this hub's tokens (check results are readable with the read scope)",
                ));
            }
        }
    }
    if let Ok(url) = reqwest::Url::parse(&spec.target) {
        let in_query = url.query_pairs().any(|(_, v)| is_token(&v));
        let in_user = is_token(url.username()) || url.password().is_some_and(is_token);
        if in_query || in_user {
            out.push(FieldError::new("target", "must not carry one of this hub's tokens"));
        }
    }
    out
}
