//! The OpenAPI document (generated from the handlers by utoipa, so it cannot drift) and the JSON 404
//! that lists the documented endpoints.

pub mod contract;
pub mod derived;
#[cfg(test)]
pub mod shape;

use std::sync::Arc;

use axum::Extension;
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::state::AppState;

/// The document as served and the endpoint list for 404 answers, made once when the router is
/// built and handed to the two handlers that need them as a request extension.
pub struct Docs {
    pub json: String,
    pub endpoints: Vec<String>,
}

impl Docs {
    pub fn of(doc: &utoipa::openapi::OpenApi) -> Arc<Self> {
        let mut value = serde_json::to_value(doc).unwrap_or_default();
        contract::unsigned_bounds(&mut value);
        Arc::new(Self { json: value.to_string(), endpoints: endpoint_list(doc) })
    }
}

/// One event of a `text/event-stream` answer, as clients parse it (OpenAPI 3.1 reads a stream's
/// `schema` as each event's). `data` holds one JSON document; the operation says which.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SseEvent {
    /// `message` unless named.
    event: Option<String>,
    data: String,
    id: Option<String>,
    retry: Option<u64>,
}

#[derive(OpenApi)]
#[openapi(
    // Types the routes name only as query parameters, which do not add them to the components.
    components(schemas(
        crate::fleet::metric::Metric,
        crate::fleet::history::TimeRange,
        crate::fleet::model::Status,
        crate::fleet::model::ServerType,
        crate::fleet::model::Source,
        crate::alerts::AlertState,
        crate::alerts::Severity,
        super::analyze::CatalogKind,
        super::analyze::CatalogLang,
        super::gateway::AltForm,
    )),
    info(title = "OpenManager Backend", description = "Monitoring hub, AI gateway, MCP server and alerting for the OpenManager web app."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "health", description = "Liveness, readiness and component checks (public)"),
        (name = "metrics", description = "Server metrics, history and Prometheus exposition"),
        (name = "servers", description = "The fleet: simulated, self, agents and servers registered by hand"),
        (name = "ai", description = "The AI gateway: Google AI, OpenAI-compatible providers and the local engine"),
        (name = "alerts", description = "Alerts, rules and silences"),
        (name = "notifications", description = "Notification channels and deliveries"),
        (name = "budget", description = "The free-tier budget"),
        (name = "docs", description = "This document"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "docs", responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(docs): Extension<Arc<Docs>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], docs.json.clone()).into_response()
}

/// `METHOD /path` for every operation in the document, sorted, for 404 answers.
pub fn endpoint_list(doc: &utoipa::openapi::OpenApi) -> Vec<String> {
    let mut out = Vec::new();
    for (path, item) in doc.paths.paths.iter() {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if op.is_some() {
                out.push(format!("{method} {path}"));
            }
        }
    }
    out.sort();
    out
}

/// Any path no route matched.
pub async fn not_found(Extension(docs): Extension<Arc<Docs>>, method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound { message: format!("no route for {method} {}", uri.path()), available: docs.endpoints.clone() }
}
