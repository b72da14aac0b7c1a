//! Small builders for the JSON Schemas tools declare, so each definition reads like its contract.

use serde_json::{Map, Value, json};

/// An object schema with these properties, of which `required` must be present. Unknown properties
/// are refused, as the handlers refuse them.
pub fn object(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let props: Map<String, Value> = properties.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

/// An object schema for results: the named properties are described, and more may appear.
pub fn result(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let props: Map<String, Value> = properties.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    json!({"type": "object", "properties": props, "required": required})
}

pub fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

pub fn one_of(description: &str, values: &[&str]) -> Value {
    json!({"type": "string", "description": description, "enum": values})
}

pub fn integer(description: &str, min: i64, max: i64) -> Value {
    json!({"type": "integer", "description": description, "minimum": min, "maximum": max})
}

pub fn array_of_objects(description: &str) -> Value {
    json!({"type": "array", "description": description, "items": {"type": "object"}})
}

pub fn any_object(description: &str) -> Value {
    json!({"type": "object", "description": description})
}

pub const STATUSES: &[&str] = &["online", "warning", "critical", "offline", "maintenance", "unknown"];
pub const TYPES: &[&str] =
    &["web", "api", "database", "cache", "monitoring", "backup", "security", "firewall", "other"];
pub const SOURCES: &[&str] = &["self", "agent", "simulated", "static"];
pub const RANGES: &[&str] = &["15m", "1h", "6h", "24h", "7d", "30d"];
pub const METRICS: &[&str] = &["cpu", "memory", "disk", "network", "load1"];
