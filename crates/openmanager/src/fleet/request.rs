//! Bodies of `POST /api/servers` and `PATCH /api/servers/{id}`, with validation that names each bad
//! field (422 `VALIDATION_ERROR` with `details`).

use serde::Deserialize;
use utoipa::ToSchema;

use super::model::{
    MAX_CPU_CORES, MAX_DISK_GB, MAX_MEMORY_GB, SERVICE_STATUSES, ServerMeta, ServerType, Service, Source, Specs,
};
use crate::validation::FieldError;

const MAX_TEXT: usize = 128;
const MAX_SERVICES: usize = 64;

/// `ip`: an IPv4 or IPv6 address, or empty.
fn ip_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    AnyOfBuilder::new()
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv4))))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv6))))
        .item(string().max_length(Some(0)))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("An IPv4 or IPv6 address, or empty"))
        .build()
        .into()
}

/// A server registered by hand; it shows `unknown` until data arrives for it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewServer {
    /// Unique; letters, digits, `.`, `_` and `-`; also the server's id.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub hostname: Option<String>,
    #[serde(default)]
    #[schema(schema_with = ip_schema)]
    pub ip: Option<String>,
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub os: Option<String>,
    #[serde(default, rename = "type")]
    pub server_type: Option<ServerType>,
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub role: Option<String>,
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub environment: Option<String>,
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub provider: Option<String>,
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub location: Option<String>,
    #[serde(default)]
    #[schema(max_items = 64)]
    pub services: Option<Vec<Service>>,
    #[serde(default)]
    pub specs: Option<Specs>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerPatch {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub name: Option<String>,
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub hostname: Option<String>,
    #[schema(schema_with = ip_schema)]
    pub ip: Option<String>,
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub os: Option<String>,
    #[serde(rename = "type")]
    pub server_type: Option<ServerType>,
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub role: Option<String>,
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub environment: Option<String>,
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub provider: Option<String>,
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub location: Option<String>,
    #[schema(max_items = 64)]
    pub services: Option<Vec<Service>>,
    pub specs: Option<Specs>,
    pub maintenance: Option<bool>,
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        errors.push(FieldError::new("name", "must be 1-64 characters of letters, digits, `.`, `_` or `-`"));
    }
}

fn check_text(field: &str, value: Option<&String>, errors: &mut Vec<FieldError>) {
    if let Some(v) = value
        && (v.chars().count() > MAX_TEXT || v.chars().any(char::is_control))
    {
        errors.push(FieldError::new(field, format!("must be at most {MAX_TEXT} printable characters")));
    }
}

fn check_common(
    ip: Option<&String>,
    services: Option<&Vec<Service>>,
    specs: Option<&Specs>,
    errors: &mut Vec<FieldError>,
) {
    if let Some(ip) = ip
        && !ip.is_empty()
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        errors.push(FieldError::new("ip", "must be an IPv4 or IPv6 address"));
    }
    if let Some(services) = services {
        if services.len() > MAX_SERVICES {
            errors.push(FieldError::new("services", format!("at most {MAX_SERVICES}")));
        }
        for (i, s) in services.iter().enumerate() {
            let n = s.name.chars().count();
            if n == 0 || n > MAX_TEXT || s.name.chars().any(char::is_control) {
                errors.push(FieldError::new(format!("services[{i}].name"), "must be 1-128 printable characters"));
            }
            if !SERVICE_STATUSES.contains(&s.status.as_str()) {
                errors.push(FieldError::new(format!("services[{i}].status"), "must be `running` or `stopped`"));
            }
        }
    }
    if let Some(specs) = specs
        && (!(0.0..=MAX_MEMORY_GB).contains(&specs.memory_gb)
            || !(0.0..=MAX_DISK_GB).contains(&specs.disk_gb)
            || specs.cpu_cores > MAX_CPU_CORES)
    {
        errors.push(FieldError::new("specs", "values out of range"));
    }
}

impl NewServer {
    /// A registration is checked as a change that sets every field it carries, the name included.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        ServerPatch {
            name: Some(self.name.clone()),
            hostname: self.hostname.clone(),
            ip: self.ip.clone(),
            os: self.os.clone(),
            server_type: self.server_type,
            role: self.role.clone(),
            environment: self.environment.clone(),
            provider: self.provider.clone(),
            location: self.location.clone(),
            services: self.services.clone(),
            specs: self.specs,
            maintenance: None,
        }
        .validate()
    }

    pub fn into_meta(self) -> ServerMeta {
        ServerMeta {
            id: self.name.clone(),
            hostname: self.hostname.unwrap_or_else(|| self.name.clone()),
            name: self.name,
            ip: self.ip.unwrap_or_default(),
            os: self.os.unwrap_or_default(),
            server_type: self.server_type.unwrap_or(ServerType::Other),
            role: self.role.unwrap_or_default(),
            environment: self.environment.unwrap_or_else(|| "production".into()),
            provider: self.provider.unwrap_or_default(),
            location: self.location.unwrap_or_default(),
            source: Source::Static,
            services: self.services.unwrap_or_default(),
            specs: self.specs.unwrap_or_default(),
            maintenance: false,
        }
    }
}

impl ServerPatch {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Some(name) = &self.name {
            check_name(name, &mut errors);
        }
        for (field, value) in [
            ("hostname", &self.hostname),
            ("os", &self.os),
            ("role", &self.role),
            ("environment", &self.environment),
            ("provider", &self.provider),
            ("location", &self.location),
        ] {
            check_text(field, value.as_ref(), &mut errors);
        }
        check_common(self.ip.as_ref(), self.services.as_ref(), self.specs.as_ref(), &mut errors);
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    pub fn apply(self, meta: &mut ServerMeta) {
        let set = |target: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut meta.name, self.name);
        set(&mut meta.hostname, self.hostname);
        set(&mut meta.ip, self.ip);
        set(&mut meta.os, self.os);
        set(&mut meta.role, self.role);
        set(&mut meta.environment, self.environment);
        set(&mut meta.provider, self.provider);
        set(&mut meta.location, self.location);
        if let Some(t) = self.server_type {
            meta.server_type = t;
        }
        if let Some(s) = self.services {
            meta.services = s;
        }
        if let Some(s) = self.specs {
            meta.specs = s;
        }
        if let Some(m) = self.maintenance {
            meta.maintenance = m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fields_are_checked() {
        let good: NewServer =
            serde_json::from_str(r#"{"name": "db-3", "ip": "10.0.0.3", "type": "database"}"#).unwrap();
        assert!(good.validate().is_ok());
        let bad: NewServer = serde_json::from_str(r#"{"name": "no spaces!", "ip": "300.1.1.1"}"#).unwrap();
        let errs = bad.validate().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "ip"]);
        assert!(serde_json::from_str::<NewServer>(r#"{"name": "x", "type": "mainframe"}"#).is_err());
        assert!(serde_json::from_str::<NewServer>(r#"{"name": "x", "colour": "red"}"#).is_err());
    }
}
