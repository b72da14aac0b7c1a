//! Test helper: checks a serialized value against a type's OpenAPI schema, key by key (every key
//! the value has is declared, every required key is there, recursively through refs, arrays and
//! maps), so schema mirrors of other crates' types cannot drift unseen.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// Panics with the path of the first key the schema of `T` does not account for.
pub fn assert_shape<T: ToSchema>(value: &Value) {
    let mut components = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut components);
    let map: BTreeMap<String, Value> =
        components.into_iter().map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or_default())).collect();
    let root = map.get(T::name().as_ref()).cloned().unwrap_or_default();
    check(&map, &root, value, "$");
}

fn resolve<'a>(map: &'a BTreeMap<String, Value>, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => map.get(r.rsplit('/').next().unwrap_or_default()).unwrap_or(schema),
        None => schema,
    }
}

fn check(map: &BTreeMap<String, Value>, schema: &Value, value: &Value, path: &str) {
    let schema = resolve(map, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            // The alternative with the value's type (null, or the one carrying its keys).
            let pick = alts.iter().map(|a| resolve(map, a)).find(|a| match value {
                Value::Null => a["type"] == "null",
                _ => a["type"] != "null",
            });
            if let Some(a) = pick {
                check(map, a, value, path);
            }
            return;
        }
    }
    match value {
        Value::Object(obj) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                for (k, v) in obj {
                    let p = props.get(k).unwrap_or_else(|| panic!("{path}.{k} is not in the schema"));
                    check(map, p, v, &format!("{path}.{k}"));
                }
                for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                    let r = r.as_str().unwrap_or_default();
                    assert!(obj.contains_key(r), "{path}.{r} is required by the schema but not sent");
                }
            } else if let Some(inner) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, v) in obj {
                    check(map, inner, v, &format!("{path}.{k}"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(inner) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(map, inner, v, &format!("{path}[{i}]"));
                }
            }
        }
        _ => {}
    }
}

/// The schema of `T` itself (not a reference), for tests that look inside it.
#[allow(dead_code)]
pub fn schema_of<T: ToSchema>() -> Schema {
    match T::schema() {
        RefOr::T(s) => s,
        RefOr::Ref(_) => Schema::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Pair {
        a: u32,
        b: Option<Vec<Inner>>,
    }

    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Inner {
        c: String,
    }

    #[test]
    fn accepts_what_matches_and_names_what_does_not() {
        assert_shape::<Pair>(&serde_json::json!({"a": 1, "b": [{"c": "x"}]}));
        assert_shape::<Pair>(&serde_json::json!({"a": 1, "b": null}));
        let extra =
            std::panic::catch_unwind(|| assert_shape::<Pair>(&serde_json::json!({"a": 1, "b": [{"c": "x", "d": 1}]})));
        assert!(extra.is_err(), "an undeclared nested key passed");
        let missing = std::panic::catch_unwind(|| assert_shape::<Pair>(&serde_json::json!({"b": null})));
        assert!(missing.is_err(), "a missing required key passed");
    }
}
