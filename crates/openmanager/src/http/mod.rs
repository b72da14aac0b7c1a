//! The HTTP adapter: the router with every route group and the cross-cutting layers, the state
//! handlers receive, and the serving threads. Handlers parse, call one service operation, and map
//! its domain error to a status; no business rule lives here.
//!
//! Layer order, outermost first: CORS > admission (rate limit and in-flight bound; request id,
//! timing, envelope) > catch-panic > egress count > whole answers > compression > dictionary
//! transport > ETag/304 > body limit > routing > per-group authorization and
//! timeout.

pub mod admission;
pub mod agents;
pub mod ai;
pub mod ai_types;
pub mod alerts;
pub mod analyze;
pub mod authorize;
pub mod budget;
pub mod checks;
pub mod coding;
pub mod connections;
pub mod cors;
pub mod dashboard;
pub mod dictionary;
pub mod docs;
pub mod egress;
pub mod envelope;
pub mod error;
pub mod etag;
pub mod fast_health;
pub mod gateway;
pub mod gateway_types;
pub mod health;
pub mod history;
pub mod http_port;
pub mod json;
pub mod limits;
pub mod maintenance;
pub mod metrics;
pub mod notifications;
pub mod servers;
pub mod short_path;
pub mod state;
pub mod status_page;
#[cfg(test)]
mod tests;
pub mod workers;
pub mod ws;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::tokens::Scope;
use error::{ErrorDetail, envelope};
use state::AppState;

/// The application as the HTTP workers serve it: plain health probes and public GETs of the status
/// page answered before routing.
pub type App = short_path::ShortPath<Router>;

/// The application with `adapters`: routes of other adapters (the MCP server) that live outside
/// the OpenAPI document and the request timeout but behind the same layers. The composition root
/// passes them, so this module imports no other adapter.
pub fn app(state: &AppState, adapters: Router<AppState>) -> App {
    short_path::ShortPath::new(router(state, adapters), state.clone())
}

/// Builds the whole application, with the OpenAPI document it serves made from its own routes.
pub fn router(state: &AppState, adapters: Router<AppState>) -> Router {
    // Each group's scope and timeout are marked in the document where its layer is added, so the
    // document's 401/403/504 answers follow the layers (see `docs::contract`).
    let scoped = |r: OpenApiRouter<AppState>, scope: Scope| {
        docs::contract::require_scope(r, scope)
            .route_layer(from_fn_with_state((state.clone(), scope), authorize::authorize))
    };
    let read = |r| scoped(r, Scope::Read);

    let public = health::router().merge(docs::router()).merge(status_page::public_router());
    let prometheus = if state.config.server.public_metrics {
        metrics::prometheus_router()
    } else {
        read(metrics::prometheus_router())
    };
    let protected = read(metrics::api_router().merge(servers::read_router()))
        .merge(scoped(servers::write_router(), Scope::Write))
        .merge(scoped(agents::router(), Scope::Ingest))
        .merge(read(ai::router().merge(analyze::router())))
        .merge(read(alerts::read_router().merge(notifications::read_router()).merge(budget::router())))
        .merge(scoped(alerts::write_router(), Scope::Write))
        .merge(read(checks::read_router().merge(maintenance::read_router())))
        .merge(scoped(checks::write_router().merge(maintenance::write_router()), Scope::Write))
        .merge(scoped(notifications::admin_router().merge(status_page::admin_router()), Scope::Admin));

    // Health answers from memory and is probed often: no timeout timer for it.
    let timed = OpenApiRouter::with_openapi(docs::ApiDoc::openapi()).merge(prometheus).merge(protected);
    let api = docs::contract::with_timeout(timed, state.config.server.request_timeout_ms)
        .route_layer(from_fn_with_state(state.clone(), limits::timeout))
        .merge(public)
        // Streams: bounded by the AI router's deadline, not the request timeout.
        .merge(read(ai::stream_router()))
        .merge(read(gateway::router()).layer(gateway_compression()));

    let (router, mut doc) = api.split_for_parts();
    utoipa::Modify::modify(&docs::contract::CrossCutting, &mut doc);
    // Streams live outside the OpenAPI router and without the request timeout; the dashboard's
    // static files are public, and everything they call is authenticated above.
    let router = router.merge(ws::router()).merge(adapters).merge(dashboard::router());
    let router = router.fallback(docs::not_found).layer(Extension(docs::Docs::of(&doc)));
    with_layers(router, state)
}

/// The HTTP layer's own jobs: the WebSocket hub's publisher, and forgetting idle rate-limit buckets.
pub fn start_jobs(state: &AppState) {
    ws::hub::start(state);
    let s = state.clone();
    state.supervisor.spawn_periodic("rate-limit-prune", std::time::Duration::from_secs(60), move || {
        s.rate_limiter.prune();
        async { Ok(()) }
    });
}

/// Wraps routes in the cross-cutting layers (also used by the layer tests with test-only routes).
fn with_layers(router: Router<AppState>, state: &AppState) -> Router {
    let max_body = state.config.server.max_body_bytes;
    router
        .layer(
            ServiceBuilder::new()
                // Outermost, so refusals (429, 503) carry CORS headers a browser can read.
                .option_layer(cors::layer(&state.config.server.allowed_origins))
                .layer(from_fn_with_state(state.clone(), admission::admission))
                .layer(CatchPanicLayer::custom(on_panic))
                // Outside compression: counts the bytes that go out, per route group.
                .layer(from_fn_with_state(state.clone(), egress::count))
                // Polled answers whole, with a length (see `etag::whole`).
                .layer(axum::middleware::from_fn(etag::whole))
                // Compression adds `Vary: accept-encoding` beside a dictionary answer's `Vary: *`,
                // which already covers it: 24 bytes on every poll (see `dictionary::vary_star`).
                .layer(axum::middleware::map_response(dictionary::vary_star))
                // Brotli at quality 5 rather than tower-http's 4: on the polled JSON answers
                // (`/api/servers` with the default fleet: 8.5 KB) it sends 7% fewer bytes for about
                // the same time; 6 to 9 add little and 10 and 11 take 10 to 40 times as long.
                // gzip then runs at 5 (1% larger than 6); browsers ask for br.
                .layer(CompressionLayer::new().quality(CompressionLevel::Precise(5)))
                // Inside compression: a polled answer as `dcb` against the client's previous one
                // (see `dictionary`), which compression then leaves alone.
                .layer(from_fn_with_state(state.clone(), dictionary::transport))
                // Inside compression: tags the JSON as the handler wrote it (see `etag.rs`).
                .layer(axum::middleware::from_fn(etag::conditional))
                .layer(DefaultBodyLimit::max(max_body))
                .layer(RequestBodyLimitLayer::new(max_body)),
        )
        .with_state(state.clone())
}

/// The OpenAI- and Gemini-format answers, compressed here (the layer in `with_layers` then leaves
/// them alone) at brotli quality 1 and gzip 1 instead of 5. Each answer is a new text that no client
/// polls, and at quality 5 brotli spent about 45-65 us per 1.5 KB answer against about 18 us at 1
/// (a microbenchmark on this machine), which showed in the gateway's added p99 (`bench/ai.sh`), for
/// answers 10-20% larger (an answer of 1,443 bytes: 555 at 5, 678 at 1). Polled reads keep quality
/// 5: they are most of the egress, and their bytes matter more than their microseconds.
fn gateway_compression() -> CompressionLayer {
    CompressionLayer::new().quality(CompressionLevel::Precise(1))
}

/// A panicking handler becomes a 500 envelope; the panic text goes to the log only.
fn on_panic(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into());
    let mut res = envelope(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    res.extensions_mut().insert(ErrorDetail(format!("handler panicked: {detail}")));
    res
}
