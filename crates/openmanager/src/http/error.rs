//! The API error type: one enum with the stable codes of API.md, rendered as the JSON envelope
//! `{success: false, error, message, timestamp}`. Internal errors are logged with the request id and
//! the client gets a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::clock;

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

/// The cause of a 500, carried from the handler to the observe layer for the log.
#[derive(Clone, Debug)]
pub struct ErrorDetail(pub String);

/// The error envelope, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always false.
    pub success: bool,
    /// A stable code such as `UNAUTHORIZED` or `VALIDATION_ERROR`.
    pub error: String,
    pub message: String,
    pub timestamp: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    NotFound { message: String, available: Vec<String> },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Validation { message: String, details: Vec<FieldError> },
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("{0}")]
    Upstream(String),
    #[error("{message}")]
    Unavailable { message: String, retry_after: Option<u64> },
    #[error("the request took longer than {0} ms")]
    Timeout(u64),
    /// Details go to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound { message: message.into(), available: Vec::new() }
    }

    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("invalid `{}`: {}", one.field, one.reason),
            _ => format!("{} fields are invalid", details.len()),
        };
        Self::Validation { message, details }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        code_for(self.status())
    }
}

/// The stable code for a status, also used to wrap errors that did not come from an `ApiError`.
pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        408 | 504 => "TIMEOUT",
        409 => "CONFLICT",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        422 => "VALIDATION_ERROR",
        429 => "RATE_LIMITED",
        502 => "UPSTREAM_ERROR",
        503 => "UNAVAILABLE",
        s if s < 500 => "BAD_REQUEST",
        _ => "INTERNAL",
    }
}

/// The envelope for a status with a message, for layers that only know the status.
pub fn envelope(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "success": false,
        "error": code_for(status),
        "message": message,
        "timestamp": clock::now_rfc3339(),
    });
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({
            "success": false,
            "error": self.code(),
            "message": self.to_string(),
            "timestamp": clock::now_rfc3339(),
        });
        let mut retry = None;
        match &self {
            Self::NotFound { available, .. } if !available.is_empty() => {
                body["availableEndpoints"] = json!(available);
            }
            Self::Validation { details, .. } => body["details"] = json!(details),
            Self::RateLimited { retry_after } => {
                body["retryAfter"] = json!(retry_after);
                retry = Some(*retry_after);
            }
            Self::Unavailable { retry_after: Some(r), .. } => {
                body["retryAfter"] = json!(r);
                retry = Some(*r);
            }
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Self::Internal(e) = &self {
            // Logged by the observe layer, which knows the request id; never sent to the client.
            response.extensions_mut().insert(ErrorDetail(format!("{e:#}")));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}
