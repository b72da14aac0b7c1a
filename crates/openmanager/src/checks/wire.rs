//! A check as the API takes and gives it: strict mirrors of `probe`'s definition (unknown fields
//! refused, every bound in the OpenAPI schema), converted to and from [`probe::CheckDef`], and the
//! state and uptime the answers add. Header values are write-only: answers show them masked, and a
//! change that sends the mask back keeps the stored value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What answers show in place of a header value.
pub const HIDDEN: &str = "<hidden>";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Http,
    Tcp,
    Ping,
    Dns,
    Tls,
}

impl From<CheckKind> for probe::Kind {
    fn from(k: CheckKind) -> Self {
        match k {
            CheckKind::Http => probe::Kind::Http,
            CheckKind::Tcp => probe::Kind::Tcp,
            CheckKind::Ping => probe::Kind::Ping,
            CheckKind::Dns => probe::Kind::Dns,
            CheckKind::Tls => probe::Kind::Tls,
        }
    }
}

impl From<probe::Kind> for CheckKind {
    fn from(k: probe::Kind) -> Self {
        match k {
            probe::Kind::Http => CheckKind::Http,
            probe::Kind::Tcp => CheckKind::Tcp,
            probe::Kind::Ping => CheckKind::Ping,
            probe::Kind::Dns => CheckKind::Dns,
            probe::Kind::Tls => CheckKind::Tls,
        }
    }
}

/// A check's definition (`POST` body; `PATCH` sends any of its fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckSpec {
    /// Generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", nullable = false)]
    pub id: Option<String>,
    /// 1-100 printable characters, not only spaces.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    pub kind: CheckKind,
    /// A URL (`http`), `host:port` (`tcp`, `tls`; `tls` defaults to 443), a host (`ping`) or a name
    /// (`dns`).
    #[schema(min_length = 1, max_length = 2048, pattern = "^[^\\s\\u0000-\\u001F\\u007F-\\u009F]+$")]
    pub target: String,
    #[serde(default = "default_interval")]
    #[schema(minimum = 10, maximum = 86400, default = 60)]
    pub interval_seconds: u32,
    /// Below the interval. When a new check names none: 10 s, or 80% of a shorter interval.
    #[serde(default = "default_timeout")]
    #[schema(minimum = 100, maximum = 60000, default = 10000)]
    pub timeout_ms: u32,
    /// Failures tolerated before the check counts as down.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10, default = 0)]
    pub retries: u32,
    /// `hub` and/or `agent:<serverId>`.
    #[serde(default = "default_run_on")]
    #[schema(min_items = 1, max_items = 16, inline)]
    pub run_on: Vec<Place>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub http: Option<HttpOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub dns: Option<DnsOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub tls: Option<TlsOptions>,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub enabled: bool,
}

/// Where a check runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = "^(hub|agent:[A-Za-z0-9._-]{1,64})$")]
pub struct Place(pub String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpOptions {
    #[serde(default = "default_method")]
    #[schema(default = "GET")]
    pub method: Method,
    /// Status codes that count as up: `200-399`, `200`, or a comma-separated list of both.
    #[serde(default = "default_expect_status")]
    #[schema(
        max_length = 64,
        default = "200-399",
        pattern = "^[1-5][0-9]{2}(-[1-5][0-9]{2})?( *, *[1-5][0-9]{2}(-[1-5][0-9]{2})?){0,7}$"
    )]
    pub expect_status: String,
    /// Text the body must contain (in its first 64 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 1024, nullable = false)]
    pub keyword: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub json_path: Option<JsonPathOptions>,
    /// Request headers (at most 32); values are write-only (answers show `<hidden>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub follow_redirects: bool,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub verify_tls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonPathOptions {
    /// Object keys and array indexes separated by dots.
    #[schema(min_length = 1, max_length = 256)]
    pub path: String,
    #[schema(max_length = 1024)]
    pub expect: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    #[default]
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsOptions {
    #[serde(default)]
    pub record_type: RecordType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 1024, nullable = false)]
    pub expect: Option<String>,
    /// `host[:port]` of the server to ask (default: the system's first nameserver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 260, nullable = false)]
    pub resolver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsOptions {
    /// Down when the certificate expires in fewer days than this.
    #[serde(default = "default_warn_days")]
    #[schema(minimum = 0, maximum = 3650, default = 14)]
    pub warn_days: u32,
}

fn default_interval() -> u32 {
    60
}
fn default_timeout() -> u32 {
    probe::DEFAULT_TIMEOUT_MS
}
fn default_run_on() -> Vec<Place> {
    vec![Place(probe::HUB.to_string())]
}
fn default_method() -> Method {
    Method::Get
}
fn default_expect_status() -> String {
    "200-399".to_string()
}
fn default_warn_days() -> u32 {
    14
}
fn yes() -> bool {
    true
}

impl CheckSpec {
    /// The probe's definition (the id must have been filled in).
    pub fn to_def(&self) -> probe::CheckDef {
        probe::CheckDef {
            id: self.id.clone().unwrap_or_default(),
            name: self.name.clone(),
            kind: self.kind.into(),
            target: self.target.clone(),
            interval_seconds: self.interval_seconds,
            timeout_ms: self.timeout_ms,
            retries: self.retries,
            run_on: self.run_on.iter().map(|p| p.0.clone()).collect(),
            http: self.http.as_ref().map(|h| probe::HttpSpec {
                method: h.method.as_str().to_string(),
                expect_status: h.expect_status.clone(),
                keyword: h.keyword.clone(),
                json_path: h
                    .json_path
                    .as_ref()
                    .map(|j| probe::JsonPathSpec { path: j.path.clone(), expect: j.expect.clone() }),
                headers: h.headers.clone(),
                follow_redirects: h.follow_redirects,
                verify_tls: h.verify_tls,
            }),
            dns: self.dns.as_ref().map(|d| probe::DnsSpec {
                record_type: match d.record_type {
                    RecordType::A => probe::RecordType::A,
                    RecordType::Aaaa => probe::RecordType::Aaaa,
                    RecordType::Cname => probe::RecordType::Cname,
                    RecordType::Mx => probe::RecordType::Mx,
                    RecordType::Txt => probe::RecordType::Txt,
                    RecordType::Ns => probe::RecordType::Ns,
                },
                expect: d.expect.clone(),
                resolver: d.resolver.clone(),
            }),
            tls: self.tls.as_ref().map(|t| probe::TlsSpec { warn_days: t.warn_days }),
            enabled: self.enabled,
        }
    }

    /// The same definition with header values masked, for answers.
    pub fn masked(&self) -> Self {
        let mut out = self.clone();
        if let Some(http) = &mut out.http {
            for v in http.headers.values_mut() {
                *v = HIDDEN.to_string();
            }
        }
        out
    }

    /// Header values sent back masked take the stored ones (`before`).
    pub fn unmask_from(&mut self, before: &CheckSpec) {
        let (Some(http), Some(old)) = (&mut self.http, &before.http) else { return };
        for (name, value) in http.headers.iter_mut() {
            if value == HIDDEN
                && let Some(stored) = old.headers.get(name)
            {
                value.clone_from(stored);
            }
        }
    }
}

/// A check's status, as answers and the status page give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Up,
    Down,
    Pending,
    Maintenance,
    Unknown,
}

impl From<probe::Status> for CheckStatus {
    fn from(s: probe::Status) -> Self {
        match s {
            probe::Status::Up => CheckStatus::Up,
            probe::Status::Down => CheckStatus::Down,
            probe::Status::Pending => CheckStatus::Pending,
            probe::Status::Unknown => CheckStatus::Unknown,
        }
    }
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Up => "up",
            CheckStatus::Down => "down",
            CheckStatus::Pending => "pending",
            CheckStatus::Maintenance => "maintenance",
            CheckStatus::Unknown => "unknown",
        }
    }
}

/// The newest state of a check at one place.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    pub status: CheckStatus,
    /// The newest result's latency (absent before the first result).
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<i64>,
    /// Why it failed (or a warning while up).
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the newest result was taken.
    #[schema(nullable = false, format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// Since when the status holds.
    #[schema(nullable = false, format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// `hub` or `agent:<serverId>`.
    #[serde(rename = "where")]
    pub location: String,
}

/// Uptime in percent over each window (`null` before anything was observed in it).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, ToSchema)]
pub struct Uptime {
    pub h24: Option<f64>,
    pub d7: Option<f64>,
    pub d30: Option<f64>,
    pub d90: Option<f64>,
}

/// A check in answers: its definition (header values hidden), its state (the worst of the places
/// it runs) and each place's, and its uptime.
///
/// Its schema is written out below: `spec` is flattened, and `CheckSpec`'s schema is closed
/// (`additionalProperties: false`), so the derived `allOf` would refuse every answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckView {
    #[serde(flatten)]
    pub spec: CheckSpec,
    pub state: StateView,
    /// One state per place in `runOn`.
    pub locations: Vec<StateView>,
    pub uptime: Uptime,
}

/// `CheckSpec`'s properties (`id` required: an answer always has one) and the view's own, one
/// closed object. Written as `ComposeSchema` (what the derive writes; it gives `PartialSchema`),
/// so `Vec<CheckView>` and `Envelope<CheckView>` compose with it as with derived types.
impl utoipa::__dev::ComposeSchema for CheckView {
    fn compose(
        _generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, Schema};
        use utoipa::openapi::{Ref, RefOr};
        let mut o = match <CheckSpec as utoipa::PartialSchema>::schema() {
            RefOr::T(Schema::Object(o)) => o,
            _ => Default::default(),
        };
        o.description = Some(
            "A check: its definition (header values hidden), its state (the worst of its places), each place's state and its uptime."
                .into(),
        );
        let refer = |name: std::borrow::Cow<'static, str>| RefOr::Ref(Ref::from_schema_name(name));
        o.properties.insert("state".into(), refer(StateView::name()));
        let locations =
            ArrayBuilder::new().items(refer(StateView::name())).description(Some("One state per place in `runOn`."));
        o.properties.insert("locations".into(), RefOr::T(Schema::Array(locations.build())));
        o.properties.insert("uptime".into(), refer(Uptime::name()));
        for field in ["id", "state", "locations", "uptime"] {
            if !o.required.iter().any(|r| r == field) {
                o.required.push(field.into());
            }
        }
        o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        RefOr::T(Schema::Object(o))
    }
}

impl ToSchema for CheckView {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("CheckView")
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push((CheckSpec::name().into_owned(), <CheckSpec as utoipa::PartialSchema>::schema()));
        CheckSpec::schemas(schemas);
        schemas.push((StateView::name().into_owned(), <StateView as utoipa::PartialSchema>::schema()));
        StateView::schemas(schemas);
        schemas.push((Uptime::name().into_owned(), <Uptime as utoipa::PartialSchema>::schema()));
        Uptime::schemas(schemas);
    }
}
