//! Notification channels as configured (`POST /api/notifications/channels`): where to send and with
//! which credentials. Secrets are write-only: the API shape masks them, and only the stored form
//! (`to_stored_value`) carries them, so they reach the store but never a response or a log line.

use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::validation::{FieldError, check_id, check_name, is_http_url};

/// How `Secret` serializes (its module is private); a test checks the two agree.
pub const MASK: &str = "********";
pub const CHANNEL_PREFIX: &str = "notify_channel/";
pub const DEFAULT_RATE_PER_MINUTE: u32 = 20;
pub const MAX_RATE_PER_MINUTE: u32 = 600;

fn yes() -> bool {
    true
}
fn default_rate() -> u32 {
    DEFAULT_RATE_PER_MINUTE
}
fn telegram_base() -> String {
    "https://api.telegram.org".into()
}
fn ntfy_base() -> String {
    "https://ntfy.sh".into()
}
fn html() -> String {
    "HTML".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Channel {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub id: String,
    /// 1-100 printable characters, not only spaces.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Sends (attempts included) per rolling minute; more wait their turn in the queue.
    #[serde(default = "default_rate")]
    #[schema(minimum = 1, maximum = 600)]
    pub rate_per_minute: u32,
    pub target: Target,
}

/// Base #[schema(max_length = 2048, pattern = "^https?://(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?([/?#][!-~]*)?$")]s are configurable so tests (and self-hosted ntfy or a Telegram proxy) can point anywhere
/// (`alerts.channel_hosts` limits where). #[schema(max_length = 2048, pattern = "^https?://(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?([/?#][!-~]*)?$")]s are `http(s)://` with a DNS name or IPv4 address.
/// Secrets are write-only: answers show `********`, and sending that back keeps the stored value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Target {
    /// Our JSON body, signed with HMAC-SHA256 when a secret is set.
    #[serde(rename_all = "camelCase")]
    Webhook {
        #[schema(schema_with = url_schema)]
        url: String,
        #[serde(default)]
        #[schema(value_type = Option<String>, min_length = 1, max_length = 2048)]
        secret: Option<Secret>,
    },
    /// Incoming-webhook #[schema(max_length = 2048, pattern = "^https?://(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?([/?#][!-~]*)?$")]; it is the credential, hence a secret.
    #[serde(rename_all = "camelCase")]
    Slack {
        #[schema(schema_with = secret_url_schema)]
        url: Secret,
    },
    #[serde(rename_all = "camelCase")]
    Discord {
        #[schema(schema_with = secret_url_schema)]
        url: Secret,
    },
    #[serde(rename_all = "camelCase")]
    Telegram {
        #[serde(default = "telegram_base")]
        #[schema(schema_with = url_schema)]
        base_url: String,
        #[schema(value_type = String, min_length = 1, max_length = 2048)]
        bot_token: Secret,
        #[schema(min_length = 1, max_length = 64, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
        chat_id: String,
        #[serde(default = "html")]
        #[schema(schema_with = parse_mode_schema)]
        parse_mode: String,
    },
    #[serde(rename_all = "camelCase")]
    Ntfy {
        #[serde(default = "ntfy_base")]
        #[schema(schema_with = url_schema)]
        base_url: String,
        #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
        topic: String,
        /// Sent as `Authorization: Bearer` for protected topics.
        #[serde(default)]
        #[schema(value_type = Option<String>, min_length = 1, max_length = 2048)]
        token: Option<Secret>,
    },
}

/// An `http(s)` URL as [`is_http_url`] accepts it.
fn url_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .max_length(Some(crate::validation::MAX_URL_LEN))
        .pattern(Some(crate::validation::HTTP_URL_PATTERN))
        .build()
}

/// A URL that is a credential: the URL, or in answers (and to keep the stored one) the mask.
fn secret_url_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::AnyOfBuilder::new()
        .item(url_schema())
        .item(
            utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).enum_values(Some([MASK])),
        )
        .description(Some("The URL; answers show `********`, and sending that back keeps the stored URL"))
        .build()
        .into()
}

/// Telegram's `parse_mode` values.
const PARSE_MODES: [&str; 3] = ["HTML", "MarkdownV2", "Markdown"];

fn parse_mode_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(PARSE_MODES.to_vec()))
        .default(Some("HTML".into()))
        .build()
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Webhook { .. } => "webhook",
            Target::Slack { .. } => "slack",
            Target::Discord { .. } => "discord",
            Target::Telegram { .. } => "telegram",
            Target::Ntfy { .. } => "ntfy",
        }
    }

    fn secrets(&self) -> Vec<(&'static str, &Secret)> {
        match self {
            Target::Webhook { secret, .. } => secret.iter().map(|s| ("secret", s)).collect(),
            Target::Slack { url } | Target::Discord { url } => vec![("url", url)],
            Target::Telegram { bot_token, .. } => vec![("botToken", bot_token)],
            Target::Ntfy { token, .. } => token.iter().map(|s| ("token", s)).collect(),
        }
    }

    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        match self {
            Target::Webhook { secret, .. } => secret.iter_mut().collect(),
            Target::Slack { url } | Target::Discord { url } => vec![url],
            Target::Telegram { bot_token, .. } => vec![bot_token],
            Target::Ntfy { token, .. } => token.iter_mut().collect(),
        }
    }
}

fn check_url(field: &str, url: &str, errors: &mut Vec<FieldError>) {
    // The pattern the document states, and (a net for the pattern) a URL the client can use.
    if !is_http_url(url) || reqwest::Url::parse(url).is_err() {
        errors.push(FieldError::new(field, "must be an http(s) URL with a DNS name or IPv4 address"));
    }
}

impl Channel {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        check_id("id", &self.id, &mut errors);
        check_name("name", &self.name, 100, &mut errors);
        if self.rate_per_minute == 0 || self.rate_per_minute > MAX_RATE_PER_MINUTE {
            errors.push(FieldError::new("ratePerMinute", format!("must be 1-{MAX_RATE_PER_MINUTE}")));
        }
        match &self.target {
            Target::Webhook { url, .. } => check_url("target.url", url, &mut errors),
            Target::Slack { url } | Target::Discord { url } => check_url("target.url", url.expose(), &mut errors),
            Target::Telegram { base_url, chat_id, parse_mode, .. } => {
                check_url("target.baseUrl", base_url, &mut errors);
                let n = chat_id.chars().count();
                if n == 0 || n > 64 || chat_id.chars().any(char::is_control) {
                    errors.push(FieldError::new("target.chatId", "must be 1-64 printable characters"));
                }
                if !PARSE_MODES.contains(&parse_mode.as_str()) {
                    errors.push(FieldError::new("target.parseMode", "must be HTML, MarkdownV2 or Markdown"));
                }
            }
            Target::Ntfy { base_url, topic, .. } => {
                check_url("target.baseUrl", base_url, &mut errors);
                if topic.is_empty()
                    || topic.len() > 64
                    || !topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    errors.push(FieldError::new("target.topic", "must be 1-64 letters, digits, '-' or '_'"));
                }
            }
        }
        for (field, secret) in self.target.secrets() {
            let v = secret.expose();
            if v.is_empty() || v.chars().count() > 2048 || v == MASK {
                errors.push(FieldError::new(format!("target.{field}"), "must be set (1-2048 characters)"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// A PATCH that sends back the mask for a secret (as a GET showed it) keeps the previous value.
    pub fn keep_unchanged_secrets(&mut self, previous: &Channel) {
        if self.target.kind() != previous.target.kind() {
            return;
        }
        let old: Vec<Secret> = previous.target.secrets().into_iter().map(|(_, s)| s.clone()).collect();
        for (new, old) in self.target.secrets_mut().into_iter().zip(old) {
            if new.expose() == MASK {
                *new = old;
            }
        }
    }

    /// The JSON kept in the store, secrets included (the `Serialize` shape masks them).
    pub fn to_stored_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Some(target) = value.get_mut("target").and_then(|t| t.as_object_mut()) {
            for (field, secret) in self.target.secrets() {
                target.insert(field.to_owned(), serde_json::Value::String(secret.expose().to_owned()));
            }
        }
        Ok(value)
    }
}

pub async fn load_channels(store: &store::Store) -> Result<Vec<Channel>, store::Error> {
    let mut out = Vec::new();
    for key in store.kv_keys(CHANNEL_PREFIX).await? {
        let Some(value) = store.get_kv(&key).await? else { continue };
        match serde_json::from_value::<Channel>(value) {
            Ok(c) => out.push(c),
            Err(e) => tracing::warn!(key, error = %e, "skipping unreadable notification channel"),
        }
    }
    Ok(out)
}

pub async fn save_channel(store: &store::Store, channel: &Channel) -> Result<(), store::Error> {
    store.put_kv(&format!("{CHANNEL_PREFIX}{}", channel.id), &channel.to_stored_value()?).await?;
    Ok(())
}

pub async fn delete_channel(store: &store::Store, id: &str) -> Result<bool, store::Error> {
    store.delete_kv(&format!("{CHANNEL_PREFIX}{id}")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegram() -> Channel {
        serde_json::from_value(serde_json::json!({
            "id": "tg", "name": "Telegram",
            "target": {"kind": "telegram", "botToken": "123:abc", "chatId": "42"}
        }))
        .unwrap()
    }

    #[test]
    fn secrets_are_masked_in_api_shape_but_stored() {
        let c = telegram();
        let api = serde_json::to_value(&c).unwrap();
        assert_eq!(api["target"]["botToken"], MASK);
        assert_eq!(api["target"]["baseUrl"], "https://api.telegram.org");
        assert!(!format!("{c:?}").contains("123:abc"));
        let stored = c.to_stored_value().unwrap();
        assert_eq!(stored["target"]["botToken"], "123:abc");
        let back: Channel = serde_json::from_value(stored).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn mask_matches_secret_serialization() {
        assert_eq!(serde_json::to_value(Secret::new("x")).unwrap(), MASK);
    }

    #[test]
    fn masked_secret_in_patch_keeps_previous() {
        let old = telegram();
        let mut new = old.clone();
        new.target = Target::Telegram {
            base_url: telegram_base(),
            bot_token: Secret::new(MASK),
            chat_id: "43".into(),
            parse_mode: html(),
        };
        assert!(new.validate().is_err());
        new.keep_unchanged_secrets(&old);
        assert_eq!(new.validate(), Ok(()));
        assert!(
            matches!(&new.target, Target::Telegram { bot_token, chat_id, .. } if bot_token.expose() == "123:abc" && chat_id == "43")
        );
    }

    #[test]
    fn validation_names_fields_and_unknown_fields_refused() {
        let c: Channel = serde_json::from_value(serde_json::json!({
            "id": "n", "name": "", "ratePerMinute": 0,
            "target": {"kind": "ntfy", "baseUrl": "ftp://x", "topic": "a b"}
        }))
        .unwrap();
        let fields: Vec<String> = c.validate().unwrap_err().into_iter().map(|f| f.field).collect();
        assert_eq!(fields, vec!["name", "ratePerMinute", "target.baseUrl", "target.topic"]);
        let err = serde_json::from_value::<Channel>(serde_json::json!({
            "id": "s", "name": "S", "target": {"kind": "slack", "url": "https://x", "extra": 1}
        }));
        assert!(err.is_err());
    }

    #[tokio::test]
    async fn channels_persist_with_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open(store::Config::new(dir.path().join("t.db"))).unwrap();
        save_channel(&store, &telegram()).await.unwrap();
        assert_eq!(load_channels(&store).await.unwrap(), vec![telegram()]);
        assert!(delete_channel(&store, "tg").await.unwrap());
        assert!(load_channels(&store).await.unwrap().is_empty());
    }
}
