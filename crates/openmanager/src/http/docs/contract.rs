//! The cross-cutting half of the OpenAPI contract, added from facts rather than repeated in every
//! handler: the route groups mark their operations as they are assembled (which scope the
//! authorization layer demands, whether the request timeout applies), and one [`CrossCutting`] pass
//! over the finished document adds what every such operation can answer: 401 and 403 where a scope
//! is checked, 429 where the rate limit applies (everything but health), 503 from the in-flight
//! bound, 504 where the timeout applies, 400/413/415/422 where a JSON body is read, 500 anywhere,
//! and the `X-Request-Id` and `Retry-After` headers. Handlers declare only their own answers.

use utoipa::PartialSchema;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{Modify, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::super::error::ErrorBody;
use super::super::limits::is_exempt;
use super::super::state::AppState;
use crate::tokens::Scope;

/// Extension on an operation that the request timeout (`server.request_timeout_ms`) applies to.
pub const TIMEOUT_EXTENSION: &str = "x-request-timeout";

/// Every operation of a method of `item`, mutable.
pub fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
        ("head", item.head.as_mut()),
        ("options", item.options.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
}

/// The scope's name as tokens and the document spell it.
fn scope_name(scope: Scope) -> String {
    serde_json::to_value(scope).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Marks every operation of a route group as needing a token with `scope` (either header form).
/// Called where the group gets its authorization layer, so the document cannot say otherwise.
pub fn require_scope(mut router: OpenApiRouter<AppState>, scope: Scope) -> OpenApiRouter<AppState> {
    let name = scope_name(scope);
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            op.security = Some(vec![
                SecurityRequirement::new("bearer", [name.clone()]),
                SecurityRequirement::new("apiKey", [name.clone()]),
            ]);
        }
    }
    router
}

/// Marks every operation of a route group as bounded by the request timeout of `ms` (504 after it).
/// Called where the group gets its timeout layer.
pub fn with_timeout(mut router: OpenApiRouter<AppState>, ms: u64) -> OpenApiRouter<AppState> {
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            op.extensions.get_or_insert_with(Default::default).insert(TIMEOUT_EXTENSION.into(), ms.into());
        }
    }
    router
}

/// The pass that adds the answers every operation shares, from the marks above and the document's
/// own facts (a request body, the path).
pub struct CrossCutting;

fn error_ref() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(ErrorBody::name()))
}

fn string_header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).max_length(Some(128))))
        .description(Some(description))
        .build()
}

fn seconds_header() -> Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0))))
        .description(Some("Seconds to wait before retrying (also `retryAfter` in the body)"))
        .build()
}

/// An error answer with the envelope; `Retry-After` where the status carries one.
fn error_response(status: &str, description: &str) -> Response {
    let mut r =
        ResponseBuilder::new().description(description).content("application/json", Content::new(Some(error_ref())));
    match status {
        "429" | "503" => r = r.header("Retry-After", seconds_header()),
        "401" => r = r.header("WWW-Authenticate", string_header("`Bearer`")),
        _ => {}
    }
    r.build()
}

/// Adds `status` unless the handler declared it; if the handler declared it with another body,
/// the envelope becomes a second possible body (for example readiness's 503 is its probe body
/// from the handler, or the envelope from the in-flight bound).
fn add(op: &mut Operation, status: &str, description: &str) {
    let fresh = error_response(status, description);
    let Some(RefOr::T(existing)) = op.responses.responses.get_mut(status) else {
        op.responses.responses.insert(status.into(), RefOr::T(fresh));
        return;
    };
    for (name, header) in fresh.headers {
        existing.headers.entry(name).or_insert(header);
    }
    let Some(RefOr::T(content)) = existing.content.get_mut("application/json") else {
        if existing.content.is_empty() {
            existing.content.insert("application/json".into(), RefOr::T(Content::new(Some(error_ref()))));
        }
        return;
    };
    let is_envelope = matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/ErrorBody"));
    if !is_envelope && let Some(own) = content.schema.take() {
        content.schema = Some(RefOr::T(Schema::AnyOf(AnyOfBuilder::new().item(own).item(error_ref()).build())));
    }
}

/// Whether the operation reads a JSON body (the `ApiJson` extractor's rejections apply).
fn json_body(op: &Operation) -> bool {
    matches!(&op.request_body, Some(RefOr::T(b)) if b.content.keys().any(|ct| ct == "application/json"))
}

impl Modify for CrossCutting {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut schemas = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
        ErrorBody::schemas(&mut schemas);
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        super::derived::close_variants(components, &super::derived::closed_enums());
        super::derived::unique_lists(components);
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in operations_mut(item) {
                if op.operation_id.as_deref().is_none_or(|id| !id.contains('.')) {
                    // Handler names repeat across route groups (`list`); the tag makes them unique.
                    let tag = op.tags.as_ref().and_then(|t| t.first()).cloned().unwrap_or_default();
                    let name = op.operation_id.clone().unwrap_or_else(|| method.to_owned());
                    op.operation_id = Some(format!("{tag}.{name}"));
                }
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(op, "401", "No token, or a token that is not valid (`UNAUTHORIZED`)");
                    add(op, "403", "The token lacks the scope this route group needs (`FORBIDDEN`)");
                }
                if json_body(op) {
                    add(op, "400", "The body is not well-formed JSON (`BAD_REQUEST`)");
                    add(op, "415", "No JSON content type (`UNSUPPORTED_MEDIA_TYPE`)");
                    add(
                        op,
                        "422",
                        "A field is missing, of the wrong type or out of range (`VALIDATION_ERROR`, with `details`)",
                    );
                }
                if op.request_body.is_some() {
                    add(op, "413", "The body is larger than `server.max_body_bytes` (`PAYLOAD_TOO_LARGE`)");
                }
                if !is_exempt(path) {
                    add(op, "429", "Over the client's rate limit (`RATE_LIMITED`, `Retry-After`)");
                }
                add(op, "503", "At the bound on requests in flight, or a component is unavailable (`UNAVAILABLE`)");
                if op.extensions.as_ref().is_some_and(|e| e.contains_key(TIMEOUT_EXTENSION)) {
                    add(op, "504", "The request took longer than `server.request_timeout_ms` (`TIMEOUT`)");
                }
                add(op, "500", "An internal error; the detail is only in the log (`INTERNAL`)");
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = response {
                        r.headers.entry("X-Request-Id".into()).or_insert_with(|| {
                            RefOr::T(string_header("The request's id (echoed when the client sent one)"))
                        });
                    }
                }
            }
        }
    }
}

/// JSON Schema has no unsigned integer formats, and a client reads `int32` as a bound: each
/// `uint8`..`uint64` (and `int8`, `int16`) becomes the range the Rust type takes, stated as
/// `minimum`/`maximum` where the field does not narrow it already.
pub fn unsigned_bounds(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let range: Option<(i64, u64)> = match map.get("format").and_then(Value::as_str) {
                // utoipa spells them kebab-case (`u-int32`).
                Some("u-int8" | "uint8") => Some((0, u8::MAX.into())),
                Some("u-int16" | "uint16") => Some((0, u16::MAX.into())),
                Some("u-int32" | "uint32") => Some((0, u32::MAX.into())),
                Some("u-int64" | "uint64") => Some((0, u64::MAX)),
                Some("int8") => Some((i8::MIN.into(), i8::MAX as u64)),
                Some("int16") => Some((i16::MIN.into(), i16::MAX as u64)),
                _ => None,
            };
            if let Some((min, max)) = range {
                map.remove("format");
                map.entry("minimum").or_insert(min.into());
                map.entry("maximum").or_insert(max.into());
            }
            map.values_mut().for_each(unsigned_bounds);
        }
        Value::Array(items) => items.iter_mut().for_each(unsigned_bounds),
        _ => {}
    }
}
