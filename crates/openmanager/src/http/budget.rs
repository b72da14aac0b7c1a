//! `GET /api/budget`: the free-tier plan against this month's use.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alerts::{Body, ok};
use crate::budget::report::{BudgetReport, build};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(budget))
}

/// Egress month to date and projected, VM hours, disk, CPU, memory and AI quotas against the plan.
#[utoipa::path(get, path = "/api/budget", tag = "budget", security(("bearer" = [])),
    responses((status = 200, body = Body<BudgetReport>)))]
async fn budget(State(state): State<AppState>) -> Json<Body<BudgetReport>> {
    Json(ok(build(&state).await))
}
