//! Alert rules and silences as users write them (`POST /api/alerts/rules`, `/api/alerts/silences`):
//! the serde shapes (camelCase, unknown fields refused) and their validation, which names each bad field.

use serde::{Deserialize, Serialize};

use crate::fleet::model::{ServerType, Source};
use crate::validation::{FieldError, check_id, check_name};

/// A server id named by a rule's scope or a silence: 1-128 printable characters.
fn check_server_id(field: &str, id: &str, errors: &mut Vec<FieldError>) {
    let n = id.chars().count();
    if n == 0 || n > 128 || id.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "must be 1-128 printable characters"));
    }
}

/// Bounds on list fields, so one rule cannot grow the engine's work without limit.
pub const MAX_SCOPE_ITEMS: usize = 100;
pub const MAX_CHANNELS_PER_RULE: usize = 16;
/// The longest averaging window (one day), which also bounds the samples a rule keeps per server.
pub const MAX_WINDOW_SECONDS: u64 = 86_400;
pub const MAX_N_OF_M: u32 = 100;
pub const MAX_FOR_SECONDS: u64 = 7 * 86_400;
pub const MAX_REPEAT_SECONDS: u64 = 30 * 86_400;

/// What a rule watches. The caller supplies each as a number per server: percentages 0-100 for
/// cpu/memory/disk, bytes per second for network, bytes for `egressMonth` (projected at month end),
/// 1.0/0.0 for `offline`, a 0-1 ratio for `aiErrorRate` and milliseconds for `responseTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RuleMetric)]
pub enum Metric {
    Cpu,
    Memory,
    Disk,
    Load1,
    NetworkIn,
    NetworkOut,
    EgressMonth,
    Offline,
    AiErrorRate,
    ResponseTime,
    /// 1 while the store cannot accept writes (disk full, database unreachable), else 0.
    StoreFailing,
    /// 1 while the HTTPS certificate has less than a third of its lifetime left (or has expired) and
    /// renewal keeps failing, else 0 (absent while TLS is off).
    TlsRenewalFailing,
    /// A service check: 1 up, 0 down (absent while pending, unknown or in maintenance).
    #[serde(rename = "check.up")]
    CheckUp,
    /// A service check's newest latency, milliseconds (the slowest of its places).
    #[serde(rename = "check.latency")]
    CheckLatency,
    /// Days until a service check's certificate expires (the soonest of its places).
    #[serde(rename = "check.cert_days")]
    CheckCertDays,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::Disk => "disk",
            Metric::Load1 => "load1",
            Metric::NetworkIn => "networkIn",
            Metric::NetworkOut => "networkOut",
            Metric::EgressMonth => "egressMonth",
            Metric::Offline => "offline",
            Metric::AiErrorRate => "aiErrorRate",
            Metric::ResponseTime => "responseTime",
            Metric::StoreFailing => "storeFailing",
            Metric::TlsRenewalFailing => "tlsRenewalFailing",
            Metric::CheckUp => "check.up",
            Metric::CheckLatency => "check.latency",
            Metric::CheckCertDays => "check.cert_days",
        }
    }

    /// The metrics a server reports (the others are the hub's own figures).
    pub const SERVER: [Metric; 6] =
        [Metric::Cpu, Metric::Memory, Metric::Disk, Metric::Load1, Metric::NetworkIn, Metric::NetworkOut];

    /// The fleet's name for a server metric.
    pub fn server_metric(self) -> Option<crate::fleet::metric::Metric> {
        use crate::fleet::metric::Metric as M;
        Some(match self {
            Metric::Cpu => M::Cpu,
            Metric::Memory => M::Memory,
            Metric::Disk => M::Disk,
            Metric::Load1 => M::Load1,
            Metric::NetworkIn => M::NetworkIn,
            Metric::NetworkOut => M::NetworkOut,
            _ => return None,
        })
    }

    /// Metrics of service checks: observed on checks (`check:<id>`), never on servers.
    pub fn is_check(self) -> bool {
        matches!(self, Metric::CheckUp | Metric::CheckLatency | Metric::CheckCertDays)
    }

    /// Percent metrics must have thresholds within 0-100.
    pub fn is_percent(self) -> bool {
        matches!(self, Metric::Cpu | Metric::Memory | Metric::Disk)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }

    fn is_upper(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
}

/// How samples are combined before the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields, from = "WindowForm")]
pub enum Window {
    /// The latest sample alone.
    #[default]
    Latest,
    /// The mean of the samples of the last `seconds`.
    Average {
        #[schema(minimum = 1, maximum = 86400)]
        seconds: u64,
    },
    /// At least `n` of the last `m` samples breach (`n` at most `m`).
    #[serde(rename = "nOfM")]
    NOfM {
        #[schema(minimum = 1, maximum = 100)]
        n: u32,
        #[schema(minimum = 1, maximum = 100)]
        m: u32,
    },
}

/// How a window is read: serde lets a unit variant of a tagged enum carry unknown keys
/// (`{"kind": "latest", "x": 1}`), so `latest` is read as an empty struct that refuses them.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
enum WindowForm {
    Latest {},
    Average {
        seconds: u64,
    },
    #[serde(rename = "nOfM")]
    NOfM {
        n: u32,
        m: u32,
    },
}

impl From<WindowForm> for Window {
    fn from(f: WindowForm) -> Self {
        match f {
            WindowForm::Latest {} => Window::Latest,
            WindowForm::Average { seconds } => Window::Average { seconds },
            WindowForm::NOfM { n, m } => Window::NOfM { n, m },
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Which servers a rule applies to; an empty list means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = RuleScope)]
pub struct Scope {
    #[serde(default)]
    #[schema(max_items = 100, inline, value_type = Vec<ServerIdText>)]
    pub server_ids: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 16)]
    pub types: Vec<ServerType>,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub sources: Vec<Source>,
}

/// A server id as rules and silences name it: 1-128 printable characters.
#[derive(utoipa::ToSchema)]
#[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
#[allow(dead_code)]
pub struct ServerIdText(String);

/// A rule, silence or channel id.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
#[allow(dead_code)]
pub struct IdText(String);

/// Longest scope lists (the types and sources have few values; repeats add nothing).
pub const MAX_SCOPE_TYPES: usize = 16;
pub const MAX_SCOPE_SOURCES: usize = 8;

impl Scope {
    pub fn matches(&self, server_id: &str, server_type: ServerType, source: Source) -> bool {
        (self.server_ids.is_empty() || self.server_ids.iter().any(|s| s == server_id))
            && (self.types.is_empty() || self.types.contains(&server_type))
            && (self.sources.is_empty() || self.sources.contains(&source))
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub id: String,
    /// 1-100 printable characters, not only spaces.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    pub metric: Metric,
    pub op: Op,
    /// At least 0; at most 100 for the percent metrics (cpu, memory, disk).
    #[schema(minimum = 0.0)]
    pub threshold: f64,
    /// Hysteresis: once firing, the alert clears only when the value is back past this (below it for
    /// `>`/`>=` rules). Defaults to `threshold`.
    #[serde(default)]
    pub clear_threshold: Option<f64>,
    #[serde(default)]
    pub window: Window,
    /// How long the condition must hold before pending becomes firing.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 604800)]
    pub for_seconds: u64,
    pub severity: Severity,
    #[serde(default)]
    pub scope: Scope,
    /// Notification channel ids; each must exist.
    #[serde(default)]
    #[schema(max_items = 16, inline, value_type = Vec<IdText>)]
    pub channels: Vec<String>,
    /// Re-notify a still-firing, unacknowledged alert this often; 0 never.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2592000)]
    pub repeat_interval_seconds: u64,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// For `check.*` metrics only: only this check (absent or `null`: every check; a change sends
    /// `null` to drop it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub check_id: Option<String>,
}

/// The observation id of check `id` (alerts of checks carry it as their `serverId`).
pub fn check_subject(id: &str) -> String {
    format!("check:{id}")
}

impl Rule {
    /// Whether the rule applies to the observation of `server_id` (a server, or `check:<id>`).
    pub fn applies_to(&self, server_id: &str, server_type: ServerType, source: Source) -> bool {
        match (self.metric.is_check(), server_id.strip_prefix("check:")) {
            (true, Some(check)) => self.check_id.as_deref().is_none_or(|c| c == check),
            (false, None) => self.scope.matches(server_id, server_type, source),
            _ => false,
        }
    }

    /// The threshold at which a firing alert clears.
    pub fn clear_at(&self) -> f64 {
        self.clear_threshold.unwrap_or(self.threshold)
    }

    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        check_id("id", &self.id, &mut errors);
        check_name("name", &self.name, 100, &mut errors);
        if !self.threshold.is_finite() {
            errors.push(FieldError::new("threshold", "must be a finite number"));
        } else if self.metric.is_percent() && !(0.0..=100.0).contains(&self.threshold) {
            errors.push(FieldError::new("threshold", "must be within 0-100 for a percent metric"));
        } else if self.threshold < 0.0 {
            errors.push(FieldError::new("threshold", "must not be negative"));
        }
        if let Some(clear) = self.clear_threshold {
            if !clear.is_finite() {
                errors.push(FieldError::new("clearThreshold", "must be a finite number"));
            } else if self.op.is_upper() && clear > self.threshold {
                errors.push(FieldError::new("clearThreshold", "must not be above threshold for a '>' rule"));
            } else if !self.op.is_upper() && clear < self.threshold {
                errors.push(FieldError::new("clearThreshold", "must not be below threshold for a '<' rule"));
            }
        }
        match self.window {
            Window::Latest => {}
            Window::Average { seconds } => {
                if seconds == 0 || seconds > MAX_WINDOW_SECONDS {
                    errors.push(FieldError::new("window.seconds", format!("must be 1-{MAX_WINDOW_SECONDS}")));
                }
            }
            Window::NOfM { n, m } => {
                if m == 0 || m > MAX_N_OF_M {
                    errors.push(FieldError::new("window.m", format!("must be 1-{MAX_N_OF_M}")));
                }
                if n == 0 || n > m {
                    errors.push(FieldError::new("window.n", "must be 1-m"));
                }
            }
        }
        if self.for_seconds > MAX_FOR_SECONDS {
            errors.push(FieldError::new("forSeconds", format!("must be at most {MAX_FOR_SECONDS}")));
        }
        // No floor: the channel's own rate per minute bounds how often anything is sent.
        if self.repeat_interval_seconds > MAX_REPEAT_SECONDS {
            errors.push(FieldError::new(
                "repeatIntervalSeconds",
                format!("must be at most {MAX_REPEAT_SECONDS} (30 days)"),
            ));
        }
        if self.scope.server_ids.len() > MAX_SCOPE_ITEMS {
            errors.push(FieldError::new("scope.serverIds", format!("at most {MAX_SCOPE_ITEMS} ids")));
        }
        for (i, id) in self.scope.server_ids.iter().enumerate() {
            check_server_id(&format!("scope.serverIds[{i}]"), id, &mut errors);
        }
        if self.scope.types.len() > MAX_SCOPE_TYPES {
            errors.push(FieldError::new("scope.types", format!("at most {MAX_SCOPE_TYPES}")));
        }
        if self.scope.sources.len() > MAX_SCOPE_SOURCES {
            errors.push(FieldError::new("scope.sources", format!("at most {MAX_SCOPE_SOURCES}")));
        }
        if self.channels.len() > MAX_CHANNELS_PER_RULE {
            errors.push(FieldError::new("channels", format!("at most {MAX_CHANNELS_PER_RULE} channels")));
        }
        for (i, c) in self.channels.iter().enumerate() {
            check_id(&format!("channels[{i}]"), c, &mut errors);
        }
        if let Some(c) = &self.check_id {
            if self.metric.is_check() {
                check_id("checkId", c, &mut errors);
            } else {
                errors.push(FieldError::new("checkId", "is only for check.* metrics"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// What a silence applies to; an absent matcher matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Matchers {
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub rule_id: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub server_id: Option<String>,
    #[serde(default)]
    pub severity: Option<Severity>,
}

/// Mutes notifications of matching alerts between `startsAt` and `endsAt`; alerts still change state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Silence {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub id: String,
    #[serde(default)]
    pub matchers: Matchers,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: jiff::Timestamp,
    /// At most 500 characters; no control characters but tab and newline.
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$")]
    pub comment: String,
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub created_by: String,
}

impl Silence {
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.starts_at.as_millisecond() <= now_ms && now_ms < self.ends_at.as_millisecond()
    }

    pub fn matches(&self, rule_id: &str, server_id: &str, severity: Severity) -> bool {
        let m = &self.matchers;
        m.rule_id.as_deref().is_none_or(|r| r == rule_id)
            && m.server_id.as_deref().is_none_or(|s| s == server_id)
            && m.severity.is_none_or(|s| s == severity)
    }

    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        check_id("id", &self.id, &mut errors);
        if self.ends_at <= self.starts_at {
            errors.push(FieldError::new("endsAt", "must be after startsAt"));
        }
        let m = &self.matchers;
        if m.rule_id.is_none() && m.server_id.is_none() && m.severity.is_none() {
            // A silence that matches everything is too easy to create by mistake.
            errors.push(FieldError::new("matchers", "at least one of ruleId, serverId, severity is required"));
        }
        if let Some(rule) = &m.rule_id {
            check_id("matchers.ruleId", rule, &mut errors);
        }
        if let Some(server) = &m.server_id {
            check_server_id("matchers.serverId", server, &mut errors);
        }
        let comment_ok = |c: char| !c.is_control() || c == '\t' || c == '\n';
        if self.comment.chars().count() > 500 || !self.comment.chars().all(comment_ok) {
            errors
                .push(FieldError::new("comment", "at most 500 characters; no control characters but tab and newline"));
        }
        if self.created_by.chars().count() > 100 || self.created_by.chars().any(char::is_control) {
            errors.push(FieldError::new("createdBy", "at most 100 printable characters"));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_refuse_unknown_keys_latest_too() {
        let w: Window = serde_json::from_str(r#"{"kind": "latest"}"#).unwrap();
        assert_eq!(w, Window::Latest);
        assert!(serde_json::from_str::<Window>(r#"{"kind": "latest", "x": 1}"#).is_err());
        assert!(serde_json::from_str::<Window>(r#"{"kind": "average", "seconds": 5, "x": 1}"#).is_err());
        let w: Window = serde_json::from_str(r#"{"kind": "nOfM", "n": 2, "m": 3}"#).unwrap();
        assert_eq!(serde_json::to_value(w).unwrap(), serde_json::json!({"kind": "nOfM", "n": 2, "m": 3}));
    }

    #[test]
    fn names_refuse_control_characters() {
        let rule: Rule = serde_json::from_value(serde_json::json!({
            "id": "r", "name": "a\u{7}b", "metric": "cpu", "op": ">", "threshold": 50, "severity": "info"
        }))
        .unwrap();
        assert_eq!(rule.validate().unwrap_err()[0].field, "name");
    }
}
