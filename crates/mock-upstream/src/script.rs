//! The script a test installs with `POST /_script`: ordered rules, each matching a kind of request and
//! saying what to do with it, consumed as requests arrive.

use serde::{Deserialize, Serialize};

/// Which wire format a request spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Gemini,
    Openai,
    /// Anything outside the two AI APIs: Slack, Discord, Telegram, ntfy and generic webhooks.
    Webhook,
}

/// Which endpoint of an API a request hit. Rules default to `generate`, so a health check
/// (`GET` of a model) never consumes a rule meant for a generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    #[default]
    Generate,
    Models,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    pub kind: Kind,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub endpoint: Endpoint,
}

/// A scripted function call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    pub name: String,
    #[serde(default = "empty_object")]
    pub args: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// Which quota a scripted 429 reports as exhausted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    #[default]
    PerMinute,
    PerDay,
}

/// What to do with a matched request. Fields combine: `latency_ms` delays any of the others,
/// `cut_stream_after` applies to the reply or tool call, `status` wins over everything else.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub tool_call: Option<ToolCall>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub quota: Option<Quota>,
    #[serde(default)]
    pub retry_delay: Option<String>,
    #[serde(default)]
    pub malformed: bool,
    #[serde(default)]
    pub cut_stream_after: Option<usize>,
}

impl Action {
    /// The `retry_delay` as whole seconds (for `Retry-After`), from Google's `"28s"` / `"1.5s"` form.
    pub fn retry_after_secs(&self) -> u64 {
        let raw = self.retry_delay.as_deref().unwrap_or("28s");
        let number = raw.trim().trim_end_matches('s');
        number.parse::<f64>().map(|s| s.max(0.0).ceil() as u64).unwrap_or(28)
    }

    pub fn retry_delay(&self) -> String {
        self.retry_delay.clone().unwrap_or_else(|| "28s".to_owned())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(rename = "match")]
    pub matcher: Match,
    /// How many requests this rule answers; 0 means every matching request from now on.
    #[serde(default = "one")]
    pub times: u32,
    pub action: Action,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptBody {
    pub rules: Vec<Rule>,
}

/// Takes the action of the first rule matching the request, using one of its `times`.
pub fn take(rules: &mut Vec<Rule>, kind: Kind, endpoint: Endpoint, model: Option<&str>) -> Option<Action> {
    let index = rules.iter().position(|rule| {
        let m = &rule.matcher;
        m.kind == kind
            && m.endpoint == endpoint
            && m.model.as_deref().is_none_or(|wanted| model.is_some_and(|got| model_matches(wanted, got)))
    })?;
    let rule = &mut rules[index];
    let action = rule.action.clone();
    if rule.times > 0 {
        rule.times -= 1;
        if rule.times == 0 {
            rules.remove(index);
        }
    }
    Some(action)
}

/// Gemini names models both as `gemini-2.5-flash` and `models/gemini-2.5-flash`; accept either.
fn model_matches(wanted: &str, got: &str) -> bool {
    wanted.trim_start_matches("models/") == got.trim_start_matches("models/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: serde_json::Value) -> Vec<Rule> {
        serde_json::from_value::<ScriptBody>(json).unwrap().rules
    }

    #[test]
    fn rules_are_consumed_in_order_and_times_zero_is_forever() {
        let mut r = rules(serde_json::json!({"rules": [
            {"match": {"kind": "gemini"}, "times": 2, "action": {"reply": "a"}},
            {"match": {"kind": "gemini"}, "times": 0, "action": {"reply": "b"}},
        ]}));
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(take(&mut r, Kind::Gemini, Endpoint::Generate, Some("m")).unwrap().reply.unwrap());
        }
        assert_eq!(got, ["a", "a", "b", "b"]);
        assert!(take(&mut r, Kind::Openai, Endpoint::Generate, Some("m")).is_none());
    }

    #[test]
    fn model_and_endpoint_filter() {
        let mut r = rules(serde_json::json!({"rules": [
            {"match": {"kind": "openai", "model": "x"}, "action": {"status": 500}},
            {"match": {"kind": "gemini", "endpoint": "models"}, "action": {"status": 503}},
        ]}));
        assert!(take(&mut r, Kind::Openai, Endpoint::Generate, Some("y")).is_none());
        assert!(take(&mut r, Kind::Gemini, Endpoint::Generate, Some("x")).is_none());
        assert_eq!(take(&mut r, Kind::Openai, Endpoint::Generate, Some("x")).unwrap().status, Some(500));
        assert_eq!(take(&mut r, Kind::Gemini, Endpoint::Models, None).unwrap().status, Some(503));
        assert!(r.is_empty());
    }

    #[test]
    fn retry_delay_parses_google_durations() {
        let a = Action { retry_delay: Some("1.5s".into()), ..Action::default() };
        assert_eq!(a.retry_after_secs(), 2);
        assert_eq!(Action::default().retry_after_secs(), 28);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let bad = serde_json::json!({"rules": [{"match": {"kind": "gemini"}, "action": {"reploy": "x"}}]});
        assert!(serde_json::from_value::<ScriptBody>(bad).is_err());
    }
}
