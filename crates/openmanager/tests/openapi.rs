//! The served OpenAPI document's structure, checked without the Python tool (schemathesis checks
//! the behaviour in `.ci/run`): every authenticated operation answers 401/403/429, every JSON-body
//! operation 400/413/415/422, every `$ref` resolves, operation ids are unique, and no request field
//! named like an enum is a free string. So the document cannot silently lose its contract.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::Server;
use serde_json::Value;

/// Request fields and query parameters whose name says they take one of a few values.
const ENUM_LIKE: [&str; 11] =
    ["kind", "type", "status", "state", "severity", "op", "metric", "source", "lang", "timeRange", "parseMode"];

/// The OpenAI and Gemini request formats: their `type` and `role` take values defined by those APIs
/// and are read leniently (an unknown part type is skipped), so they stay free strings.
fn is_external_format(path: &str) -> bool {
    path.starts_with("/v1/") || path.starts_with("/api/ai/google/")
}

async fn document() -> Value {
    let s = Server::start();
    let res = s.get("/api/openapi.json").send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op));
        }
    }
    out
}

fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"].as_object().unwrap().keys().cloned().collect()
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("unresolved {r}")),
        None => schema,
    }
}

/// `(name, schema)` of every property reachable from `schema`, refs followed once each.
fn properties<'a>(doc: &'a Value, schema: &'a Value, seen: &mut BTreeSet<String>, out: &mut Vec<(String, &'a Value)>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str)
        && !seen.insert(r.to_owned())
    {
        return;
    }
    let schema = resolve(doc, schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, p) in props {
            out.push((name.clone(), p));
            properties(doc, p, seen, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = schema.get(key).filter(|v| v.is_object()) {
            properties(doc, inner, seen, out);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for inner in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            properties(doc, inner, seen, out);
        }
    }
}

/// A string schema that admits any string: no `enum` or `const`, here or in its alternatives.
fn is_free_string(doc: &Value, schema: &Value) -> bool {
    let schema = resolve(doc, schema);
    if schema.get("enum").is_some() || schema.get("const").is_some() {
        return false;
    }
    if let Some(alts) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
        return alts.iter().any(|a| is_free_string(doc, a));
    }
    match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

fn all_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.push(r);
            }
            map.values().for_each(|x| all_refs(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| all_refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_operation_declares_the_cross_cutting_answers() {
    let doc = document().await;
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "only {} operations", ops.len());
    let mut problems = Vec::new();
    for (method, path, op) in &ops {
        let have = statuses(op);
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let json_body = op.pointer("/requestBody/content/application~1json").is_some();
        let mut want: Vec<&str> = vec!["500", "503"];
        if secured {
            want.extend(["401", "403", "429"]);
            // The scope is stated, so a reader knows which token the operation takes.
            let scopes = op.pointer("/security/0/bearer").and_then(Value::as_array).map_or(0, Vec::len);
            if scopes != 1 {
                problems.push(format!("{method} {path}: no scope in `security`"));
            }
        }
        if !path.starts_with("/api/health") && path != "/health" {
            want.push("429");
        }
        if json_body {
            want.extend(["400", "413", "415", "422"]);
        }
        for status in want {
            if !have.contains(status) {
                problems.push(format!("{method} {path}: no {status}"));
            }
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                let schema = response.pointer("/content/application~1json/schema").cloned().unwrap_or_default();
                if !schema.to_string().contains("#/components/schemas/ErrorBody") {
                    problems.push(format!("{method} {path}: {status} without the error envelope"));
                }
            }
            if status != "204" && response.get("content").is_none() {
                problems.push(format!("{method} {path}: {status} without a body"));
            }
            if response.pointer("/headers/X-Request-Id").is_none() {
                problems.push(format!("{method} {path}: {status} without X-Request-Id"));
            }
            if ["429", "503"].contains(&status.as_str()) && response.pointer("/headers/Retry-After").is_none() {
                problems.push(format!("{method} {path}: {status} without Retry-After"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn request_schemas_are_closed_typed_and_resolvable() {
    let doc = document().await;
    let mut refs = Vec::new();
    all_refs(&doc, &mut refs);
    let unresolved: Vec<&&str> = refs.iter().filter(|r| doc.pointer(r.trim_start_matches('#')).is_none()).collect();
    assert!(unresolved.is_empty(), "unresolved: {unresolved:?}");

    let ops = operations(&doc);
    let ids: Vec<&str> = ops.iter().filter_map(|(_, _, op)| op["operationId"].as_str()).collect();
    let unique: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(ids.len(), ops.len(), "an operation without an id");
    assert_eq!(unique.len(), ids.len(), "operation ids repeat: {ids:?}");

    let mut problems = Vec::new();
    for (method, path, op) in &ops {
        if is_external_format(path) {
            continue;
        }
        let mut fields = Vec::new();
        if let Some(body) = op.pointer("/requestBody/content/application~1json/schema") {
            properties(&doc, body, &mut BTreeSet::new(), &mut fields);
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            fields.push((p["name"].as_str().unwrap().to_owned(), &p["schema"]));
        }
        for (name, schema) in fields {
            if ENUM_LIKE.contains(&name.as_str()) && is_free_string(&doc, schema) {
                problems.push(format!("{method} {path}: `{name}` is a free string"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Bodies whose Rust types refuse unknown fields say so, and names refuse control characters.
    let schemas = &doc["components"]["schemas"];
    for name in ["NewServer", "ServerPatch", "NewRule", "RulePatch", "NewSilence", "NewChannel", "QueryBody"] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name} is not closed");
    }
    for (schema, field) in [("NewRule", "name"), ("NewChannel", "name"), ("ServerPatch", "hostname")] {
        let pattern = schemas[schema]["properties"][field]["pattern"].as_str().unwrap_or_default();
        assert!(pattern.contains(r"\u0000-\u001F"), "{schema}.{field} admits control characters: {pattern:?}");
    }
    // No unsigned format is left for clients to guess at: each became a range.
    let text = doc.to_string();
    assert!(!text.contains("\"u-int") && !text.contains("\"uint"), "an unsigned format is left");
}
