//! The one success envelope of resource endpoints, `{success: true, data, timestamp}`, typed so the
//! OpenAPI document shows what `data` holds.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock;

#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always true.
    pub success: bool,
    pub data: T,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// `data` in the envelope, timestamped now.
pub fn ok<T>(data: T) -> Json<Envelope<T>> {
    Json(Envelope { success: true, data, timestamp: clock::now_rfc3339() })
}
