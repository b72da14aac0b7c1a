//! The API error type: one enum with the stable codes of API.md, rendered as the JSON envelope
//! `{success: false, error, message, timestamp}`. Internal errors are logged with the request id and
//! the client gets a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::alerts::AlertingError;
use crate::analyses::AnalysesError;
use crate::clock;
use crate::fleet::FleetError;
pub use crate::validation::FieldError;

/// The cause of a 500, carried from the handler to the admission layer for the log.
#[derive(Clone, Debug)]
pub struct ErrorDetail(pub String);

/// The error envelope, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always false.
    pub success: bool,
    /// A stable code.
    #[schema(value_type = String, example = "VALIDATION_ERROR", pattern = "^[A-Z_]+$")]
    pub error: String,
    pub message: String,
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// 422: each field that failed and why.
    #[schema(nullable = false)]
    pub details: Option<Vec<FieldError>>,
    /// 429 and some 503: seconds to wait (also the `Retry-After` header).
    #[schema(nullable = false, minimum = 0)]
    pub retry_after: Option<u64>,
    /// 404: the documented `METHOD /path` operations.
    #[schema(nullable = false)]
    pub available_endpoints: Option<Vec<String>>,
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
    /// 428: the request relies on state the server does not hold (an agent's compact base).
    #[error("{0}")]
    PreconditionRequired(String),
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
            Self::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
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
        428 => "PRECONDITION_REQUIRED",
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
            // Logged by the admission layer, which knows the request id; never sent to the client.
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

impl From<FleetError> for ApiError {
    fn from(e: FleetError) -> Self {
        match e {
            FleetError::NotFound(_) => ApiError::not_found(e.to_string()),
            FleetError::Duplicate(_) | FleetError::Simulated(_) | FleetError::NotAnAgent(_) => {
                ApiError::Conflict(e.to_string())
            }
            // Past the cap: a clear refusal, not an outage.
            FleetError::Full(_) => ApiError::Conflict(e.to_string()),
            FleetError::Invalid(details) => ApiError::validation(details),
            FleetError::Busy => ApiError::Unavailable { message: e.to_string(), retry_after: Some(1) },
            // Agents keep their spool and come back after the wait.
            FleetError::Unavailable { retry_after_secs, .. } => {
                ApiError::Unavailable { message: e.to_string(), retry_after: Some(retry_after_secs) }
            }
            FleetError::Store(err) => ApiError::Internal(err),
        }
    }
}

impl From<AlertingError> for ApiError {
    fn from(e: AlertingError) -> Self {
        match e {
            AlertingError::NotFound(_) => ApiError::not_found(e.to_string()),
            AlertingError::Conflict(m) => ApiError::Conflict(m),
            AlertingError::Invalid(details) => ApiError::validation(details),
            AlertingError::Store(err) => ApiError::Internal(err),
        }
    }
}

impl From<crate::checks::ChecksError> for ApiError {
    fn from(e: crate::checks::ChecksError) -> Self {
        use crate::checks::ChecksError;
        match e {
            ChecksError::NotFound(_) => ApiError::not_found(e.to_string()),
            ChecksError::Conflict(m) => ApiError::Conflict(m),
            ChecksError::Invalid(details) => ApiError::validation(details),
            ChecksError::Unavailable(m) => ApiError::Unavailable { message: m, retry_after: Some(5) },
            ChecksError::Store(err) => ApiError::Internal(err),
        }
    }
}

impl From<crate::maintenance::MaintenanceError> for ApiError {
    fn from(e: crate::maintenance::MaintenanceError) -> Self {
        use crate::maintenance::MaintenanceError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::Conflict(m) => ApiError::Conflict(m),
            E::Invalid(details) => ApiError::validation(details),
            E::Store(err) => ApiError::Internal(err),
        }
    }
}

impl From<crate::status_page::StatusPageError> for ApiError {
    fn from(e: crate::status_page::StatusPageError) -> Self {
        use crate::status_page::StatusPageError as E;
        match e {
            E::Invalid(details) => ApiError::validation(details),
            E::Store(err) => ApiError::Internal(err),
        }
    }
}

impl From<crate::status_page::incidents::IncidentError> for ApiError {
    fn from(e: crate::status_page::incidents::IncidentError) -> Self {
        use crate::status_page::incidents::IncidentError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::Conflict(m) => ApiError::Conflict(m),
            E::Invalid(details) => ApiError::validation(details),
            E::Store(err) => ApiError::Internal(err),
        }
    }
}

impl From<AnalysesError> for ApiError {
    fn from(e: AnalysesError) -> Self {
        match e {
            AnalysesError::NotFound(_) => ApiError::not_found(e.to_string()),
            AnalysesError::Full(_) => ApiError::Unavailable { message: e.to_string(), retry_after: Some(5) },
            AnalysesError::Failed(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}

impl From<crate::assistant::BadQuestion> for ApiError {
    fn from(e: crate::assistant::BadQuestion) -> Self {
        let field = match e {
            crate::assistant::BadQuestion::Query => "query",
            crate::assistant::BadQuestion::SessionId => "sessionId",
        };
        ApiError::validation(vec![FieldError::new(field, e.to_string())])
    }
}

impl From<ai::AiError> for ApiError {
    fn from(e: ai::AiError) -> Self {
        let message = e.to_string();
        match e.http_status() {
            400 => ApiError::BadRequest(message),
            404 => ApiError::not_found(message),
            429 => ApiError::RateLimited { retry_after: e.retry_after().map(|d| d.as_secs().max(1)).unwrap_or(60) },
            503 => ApiError::Unavailable { message, retry_after: e.retry_after().map(|d| d.as_secs().max(1)) },
            504 => ApiError::Timeout(0),
            _ => ApiError::Upstream(message),
        }
    }
}
