//! What `POST /api/ai/analyze` (and the `analyze` tool) asks for, checked into a [`Plan`].

use analysis::{AnalysisType, Lang};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::{ObjectBuilder, Type};

use crate::fleet::history::TimeRange;
use crate::fleet::metric::Metric;
use crate::validation::FieldError;

fn enum_schema(description: &str, values: &[&str]) -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values.to_vec()))
        .build()
}

fn kind_schema() -> utoipa::openapi::Object {
    let names: Vec<&str> = AnalysisType::ALL.iter().map(|k| k.as_str()).collect();
    enum_schema("The analysis to run", &names)
}

fn lang_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::Type;
    // Nullable: `null` reads as absent, as for every optional field.
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some("Language of the findings (default from `Accept-Language`)"))
        .enum_values(Some([serde_json::Value::from("ko"), "en".into(), serde_json::Value::Null]))
        .build()
}

/// The metrics an analysis takes: every fleet metric but `network` (in and out are analysed apart).
const ANALYSED_METRICS: [&str; 6] = ["cpu", "memory", "disk", "load1", "networkIn", "networkOut"];

fn metric_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::Type;
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some("One metric (`network` is not analysed as a whole: use `networkIn` or `networkOut`)"))
        .enum_values(Some(
            ANALYSED_METRICS.iter().map(|m| serde_json::Value::from(*m)).chain([serde_json::Value::Null]),
        ))
        .build()
}

fn kind_json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = AnalysisType::ALL.iter().map(|k| k.as_str()).collect();
    schemars::json_schema!({"type": "string", "description": "The analysis to run", "enum": names})
}

fn lang_json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "description": "Language of the findings", "enum": ["ko", "en"]})
}

/// The analyses by their API names, for the document (the type itself lives in the `analysis` crate).
pub struct AnalysisKind;

impl utoipa::PartialSchema for AnalysisKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(kind_schema()))
    }
}

impl ToSchema for AnalysisKind {}

/// The same fields for the REST body and the `analyze` tool, so both schemas come from here.
#[derive(Debug, Clone, Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyzeRequest {
    #[serde(rename = "type")]
    #[schema(schema_with = kind_schema)]
    #[schemars(schema_with = "kind_json_schema")]
    pub kind: AnalysisType,
    /// One server (default: the whole fleet).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    #[schemars(length(min = 1, max = 128))]
    pub server_id: Option<String>,
    /// One metric (`network` is not analysed as a whole: use `networkIn` or `networkOut`).
    #[schema(schema_with = metric_schema)]
    pub metric: Option<Metric>,
    /// How far back (default 24h; 7d or more for daily patterns).
    pub time_range: Option<TimeRange>,
    /// The question that led here (kept for the web app; analyses do not parse it).
    #[schema(max_length = 4000)]
    #[schemars(length(max = 4000))]
    pub query: Option<String>,
    #[schema(schema_with = lang_schema)]
    #[schemars(schema_with = "lang_json_schema")]
    pub lang: Option<Lang>,
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: AnalysisType,
    pub server_id: Option<String>,
    pub metric: Option<analysis::Metric>,
    pub range_ms: i64,
    pub lang: Lang,
}

/// The analysis crate's name for a fleet metric.
pub fn analysis_metric(m: Metric) -> Option<analysis::Metric> {
    Some(match m {
        Metric::Cpu => analysis::Metric::Cpu,
        Metric::Memory => analysis::Metric::Memory,
        Metric::Disk => analysis::Metric::Disk,
        Metric::Load1 => analysis::Metric::Load1,
        Metric::NetworkIn => analysis::Metric::NetworkIn,
        Metric::NetworkOut => analysis::Metric::NetworkOut,
        Metric::Network => return None,
    })
}

/// The fleet's name for an analysis metric.
pub fn fleet_metric(m: analysis::Metric) -> Metric {
    match m {
        analysis::Metric::Cpu => Metric::Cpu,
        analysis::Metric::Memory => Metric::Memory,
        analysis::Metric::Disk => Metric::Disk,
        analysis::Metric::Load1 => Metric::Load1,
        analysis::Metric::NetworkIn => Metric::NetworkIn,
        analysis::Metric::NetworkOut => Metric::NetworkOut,
    }
}

impl AnalyzeRequest {
    /// The plan, in `default_lang` unless the request names one.
    pub fn plan(&self, default_lang: Lang) -> Result<Plan, Vec<FieldError>> {
        let mut errors = Vec::new();
        let metric = match self.metric {
            None => None,
            Some(m) => {
                let a = analysis_metric(m);
                if a.is_none() {
                    errors.push(FieldError::new("metric", format!("must be one of {}", ANALYSED_METRICS.join(", "))));
                }
                a
            }
        };
        let bad_id = |s: &String| s.is_empty() || s.chars().count() > 128 || s.chars().any(char::is_control);
        if self.server_id.as_ref().is_some_and(bad_id) {
            errors.push(FieldError::new("serverId", "must be 1-128 printable characters"));
        }
        if self.query.as_ref().is_some_and(|q| q.chars().count() > 4000) {
            errors.push(FieldError::new("query", "must be at most 4000 characters"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Plan {
            kind: self.kind,
            server_id: self.server_id.clone(),
            metric,
            range_ms: self.time_range.unwrap_or(TimeRange::H24).millis(),
            lang: self.lang.unwrap_or(default_lang),
        })
    }
}
