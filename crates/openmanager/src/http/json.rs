//! Request extractors whose rejections are the API envelope. `ApiJson`: malformed JSON is 400, a
//! wrong type or missing field 422 naming the field, a missing content type 415, too large 413; a
//! whole number written `2.0` counts as the integer it is (JSON Schema's reading).
//! `ApiQuery`: a bad query parameter (`limit=abc`, `page=-1`, an unknown one) is 422 naming it.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{ApiError, FieldError};
use crate::validation::path_error;

/// A JSON request body, rejected with the API envelope.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rejection) => return Err(from_rejection(rejection)),
        };
        from_value(value).map(Self).map_err(ApiError::validation)
    }
}

/// Parses a JSON document into `T`, naming the field at fault. A number with a zero fraction
/// (`2.0`) is an integer, as in JSON Schema, so it fills an integer field as `2` does.
pub fn from_value<T: DeserializeOwned>(mut value: Value) -> Result<T, Vec<FieldError>> {
    whole_numbers_as_integers(&mut value);
    crate::validation::from_value(value)
}

/// Rewrites every number with a zero fraction, within the range a float holds exactly, as an integer.
pub fn whole_numbers_as_integers(value: &mut Value) {
    // 2^53: past it a float no longer spells every integer, so it is left as it is.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// A JSON object body (for operations that fill defaults or merge before parsing).
pub struct ApiObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for ApiObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match ApiJson::<Value>::from_request(req, state).await?.0 {
            Value::Object(mut map) => {
                map.values_mut().for_each(whole_numbers_as_integers);
                Ok(Self(map))
            }
            _ => Err(ApiError::validation(vec![FieldError::new("body", "must be a JSON object")])),
        }
    }
}

/// Query parameters, rejected with a 422 that names the parameter.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        // serde stops at the first bad parameter; set it aside and parse again, so one answer names
        // every bad parameter (a query has a handful at most, so this is bounded).
        let mut errors = Vec::new();
        for _ in 0..=pairs.len() {
            let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
            let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
            match serde_path_to_error::deserialize::<_, T>(de) {
                Ok(v) if errors.is_empty() => return Ok(Self(v)),
                Ok(_) => break,
                Err(e) => {
                    let path = e.path().to_string();
                    let error = path_error(&path, &e.into_inner().to_string());
                    let before = pairs.len();
                    pairs.retain(|(k, _)| *k != error.field);
                    errors.push(error);
                    if pairs.len() == before {
                        break;
                    }
                }
            }
        }
        Err(ApiError::validation(errors))
    }
}

fn from_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde_path_to_error's text is "path: reason"; keep the path as the field.
            let text = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text());
            let (field, reason) = match text.split_once(": ") {
                Some((f, r)) if !f.contains(' ') => (f.to_string(), r.to_string()),
                _ => ("body".to_string(), text),
            };
            ApiError::validation(vec![FieldError::new(field, reason)])
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(format!("malformed JSON: {}", inner_text(&e))),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected `Content-Type: application/json`".into())
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        other => ApiError::BadRequest(other.body_text()),
    }
}

fn inner_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text = s.to_string();
        cur = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request as HttpRequest;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        limit: Option<u32>,
        page: Option<u32>,
    }

    async fn query(uri: &str) -> Result<Q, ApiError> {
        let (mut parts, ()) = HttpRequest::builder().uri(uri).body(()).unwrap().into_parts();
        ApiQuery::<Q>::from_request_parts(&mut parts, &()).await.map(|q| q.0)
    }

    #[test]
    fn whole_numbers_fill_integer_fields() {
        #[derive(Debug, serde::Deserialize)]
        struct B {
            n: u32,
            x: f64,
        }
        let b: B = from_value(serde_json::json!({"n": 525.0, "x": 2.0})).unwrap();
        assert_eq!((b.n, b.x), (525, 2.0));
        let e = from_value::<B>(serde_json::json!({"n": 1.5, "x": 1})).unwrap_err();
        assert_eq!(e[0].field, "n");
        // Past 2^53 a float is not an exact integer, so it is not taken for one.
        assert!(from_value::<B>(serde_json::json!({"n": 1e300, "x": 0})).is_err());
    }

    #[tokio::test]
    async fn bad_numbers_name_the_parameter() {
        for (uri, field) in [("/x?limit=abc", "limit"), ("/x?page=-1", "page"), ("/x?bogus=1", "bogus")] {
            match query(uri).await {
                Err(ApiError::Validation { details, .. }) => assert_eq!(details[0].field, field, "{uri}"),
                other => panic!("{uri}: {other:?}"),
            }
        }
        assert_eq!(query("/x?limit=5").await.unwrap().limit, Some(5));
        match query("/x?limit=abc&page=x").await {
            Err(ApiError::Validation { details, .. }) => {
                let fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
                assert_eq!(fields, ["limit", "page"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
