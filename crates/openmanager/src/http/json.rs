//! `ApiJson`: axum's `Json` with its rejections turned into the envelope: malformed JSON is 400, a
//! wrong type or missing field 422 naming the field, a missing content type 415, too large 413.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldError};

/// A JSON request body, rejected with the API envelope.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(from_rejection(rejection)),
        }
    }
}

/// The fields of a JSON object body (for handlers that fill defaults or merge before parsing).
pub fn object_mut(value: &mut serde_json::Value) -> Result<&mut serde_json::Map<String, serde_json::Value>, ApiError> {
    value.as_object_mut().ok_or_else(|| ApiError::validation(vec![FieldError::new("body", "must be an object")]))
}

/// Turns a JSON document already read (a merged patch, a body with defaults filled in) into `T`, with
/// the same 422 naming the field as a bad request body.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner().to_string();
        // serde reports a missing field at its parent; name the field itself.
        let missing = reason.strip_prefix("missing field `").and_then(|r| r.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(m)) => m.to_string(),
            (".", None) => "body".to_string(),
            (p, Some(m)) => format!("{p}.{m}"),
            (p, None) => p.to_string(),
        };
        ApiError::validation(vec![FieldError::new(field, reason)])
    })
}

fn from_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde_path_to_error's text is "path: reason"; keep the path as the field.
            let text = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text());
            let (field, reason) = match text.split_once(": ") {
                Some((f, r)) if !f.contains(' ') => (f.to_string(), r.to_string()),
                _ => ("body".to_string(), text),
            };
            ApiError::validation(vec![FieldError::new(field, reason)])
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(format!("malformed JSON: {}", inner_text(&e))),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected `Content-Type: application/json`".into())
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        other => ApiError::BadRequest(other.body_text()),
    }
}

fn inner_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text = s.to_string();
        cur = s.source();
    }
    text
}
