//! `GET /api/budget`: the free-tier plan against this month's use.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::envelope::{Envelope, ok};
use super::state::AppState;
use crate::budget::report::{BudgetReport, build};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(budget))
}

/// Egress month to date and projected, VM hours, disk, CPU, memory and AI quotas against the plan.
#[utoipa::path(get, path = "/api/budget", tag = "budget",
    responses((status = 200, body = Envelope<BudgetReport>)))]
async fn budget(State(state): State<AppState>) -> Json<Envelope<BudgetReport>> {
    let gateway = state.gateway.status().await;
    ok(build(&state.budget, &state.fleet, &gateway.engines))
}
