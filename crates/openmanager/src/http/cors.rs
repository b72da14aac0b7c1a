//! CORS exactly as API.md says: only listed origins (exact match) get `Access-Control-Allow-Origin`,
//! credentials only for them, never a wildcard.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Headers a browser may send, and the ones it may read back.
const ALLOWED_HEADERS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-request-id"),
];
const EXPOSED_HEADERS: [HeaderName; 2] = [HeaderName::from_static("x-request-id"), header::RETRY_AFTER];

/// `None` when no origin is listed: then no CORS headers are sent at all.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE, Method::OPTIONS])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED_HEADERS)
            .allow_credentials(true)
            .max_age(std::time::Duration::from_secs(600)),
    )
}
