//! JSON Schemas for tools: argument schemas derived from the argument types (`schemars`), so a tool
//! promises exactly what its parser checks, inlined (no `$ref`/`$defs`) because Gemini's function
//! declarations do not follow references; and small builders for result schemas.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// The schema of argument type `T`, self-contained.
pub fn of<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(obj) = value.as_object_mut() {
        // The type's name is not part of the contract.
        obj.remove("title");
        obj.entry("properties").or_insert_with(|| json!({}));
    }
    value
}

/// An object schema for results: the named properties are described, and more may appear.
pub fn result(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let props: Map<String, Value> = properties.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    json!({"type": "object", "properties": props, "required": required})
}

pub fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

pub fn count(description: &str) -> Value {
    json!({"type": "integer", "description": description, "minimum": 0})
}

pub fn array_of_objects(description: &str) -> Value {
    json!({"type": "array", "description": description, "items": {"type": "object"}})
}

pub fn any_object(description: &str) -> Value {
    json!({"type": "object", "description": description})
}
