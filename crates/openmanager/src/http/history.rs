//! `GET /api/metrics/history`: a server's metrics over a range at the stored tier's resolution, with
//! a cursor for the next page (the fleet service does the work).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::json::ApiQuery;
use super::state::AppState;
use crate::clock;
use crate::fleet::history::{HistoryPoint, HistoryQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(history))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryBody {
    pub success: bool,
    pub server_id: String,
    pub data: Vec<HistoryPoint>,
    /// Seconds between points.
    pub resolution: String,
    pub next_cursor: Option<String>,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// A server's metrics over time.
#[utoipa::path(get, path = "/api/metrics/history", tag = "metrics", params(HistoryQuery),
    responses((status = 200, body = HistoryBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<HistoryBody>, ApiError> {
    let page = state.fleet.history(q).await?;
    Ok(Json(HistoryBody {
        success: true,
        server_id: page.server_id,
        data: page.points,
        resolution: page.resolution_seconds.to_string(),
        next_cursor: page.next_cursor,
        timestamp: clock::now_rfc3339(),
    }))
}
