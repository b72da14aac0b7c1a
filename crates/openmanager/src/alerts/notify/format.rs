//! What each receiver expects, built as plain data (URL, headers, body) so the shapes are testable
//! without a network, plus the HMAC-SHA256 signature of webhook bodies.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::channel::Target;
use crate::alerts::{Alert, Event, EventKind, Severity};

pub const SIGNATURE_HEADER: &str = "X-OpenManager-Signature";
/// Version of our webhook body, so receivers can tell future shapes apart.
pub const WEBHOOK_VERSION: u32 = 1;

/// One message to deliver, whatever the channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// `fired`, `repeat`, `resolved` or `test`.
    pub event: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub alert: Option<Alert>,
    /// Milliseconds since the epoch when the notification was made.
    #[serde(skip)]
    pub at_ms: i64,
}

impl Notification {
    pub fn from_event(event: &Event, now_ms: i64) -> Self {
        let kind = match event.kind {
            EventKind::Fired => "fired",
            EventKind::Repeat => "repeat",
            EventKind::Resolved => "resolved",
        };
        Self {
            event: kind.into(),
            severity: event.alert.severity,
            title: event.title(),
            message: event.message(),
            alert: Some(event.alert.clone()),
            at_ms: now_ms,
        }
    }

    pub fn test(channel_name: &str, now_ms: i64) -> Self {
        Self {
            event: "test".into(),
            severity: Severity::Info,
            title: "OpenManager test notification".into(),
            message: format!("Channel \"{channel_name}\" is configured correctly."),
            alert: None,
            at_ms: now_ms,
        }
    }

    fn is_resolved(&self) -> bool {
        self.event == "resolved"
    }
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&ipad).chain_update(message).finalize();
    Sha256::new().chain_update(&opad).chain_update(inner).finalize().into()
}

/// `sha256=<hex>`, the header value receivers recompute to check the body came from us.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), body)))
}

/// Our webhook body.
pub fn webhook_body(n: &Notification) -> serde_json::Value {
    serde_json::json!({
        "version": WEBHOOK_VERSION,
        "event": n.event,
        "severity": n.severity,
        "title": n.title,
        "message": n.message,
        "alert": n.alert,
        "timestamp": crate::clock::millis_rfc3339(n.at_ms),
    })
}

/// Discord embed colours: red, amber, blue, and green for a recovery.
fn color(n: &Notification) -> u32 {
    if n.is_resolved() {
        return 0x2E_CC_71;
    }
    match n.severity {
        Severity::Critical => 0xE7_4C_3C,
        Severity::Warning => 0xF1_C4_0F,
        Severity::Info => 0x34_98_DB,
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// HTTP header values must be visible ASCII; anything else (a non-Latin server name) becomes '?'.
fn header_safe(s: &str) -> String {
    s.chars().take(250).map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

fn ntfy_priority(n: &Notification) -> &'static str {
    if n.is_resolved() {
        return "3";
    }
    match n.severity {
        Severity::Critical => "5",
        Severity::Warning => "4",
        Severity::Info => "3",
    }
}

fn ntfy_tags(n: &Notification) -> String {
    let icon = if n.is_resolved() {
        "white_check_mark"
    } else {
        match n.severity {
            Severity::Critical => "rotating_light",
            Severity::Warning => "warning",
            Severity::Info => "information_source",
        }
    };
    format!("{icon},openmanager,{}", n.event)
}

fn json(url: String, value: &serde_json::Value) -> Result<Outgoing, serde_json::Error> {
    Ok(Outgoing { url, headers: vec![("Content-Type", "application/json".into())], body: serde_json::to_vec(value)? })
}

pub fn build(target: &Target, n: &Notification) -> Result<Outgoing, serde_json::Error> {
    match target {
        Target::Webhook { url, secret } => {
            let mut out = json(url.clone(), &webhook_body(n))?;
            if let Some(secret) = secret {
                out.headers.push((SIGNATURE_HEADER, signature(secret.expose(), &out.body)));
            }
            Ok(out)
        }
        Target::Slack { url } => {
            let text = format!("*{}*\n{}", n.title, n.message);
            let body = serde_json::json!({
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            });
            json(url.expose().to_owned(), &body)
        }
        Target::Discord { url } => {
            let body = serde_json::json!({
                "content": n.title,
                "embeds": [{"title": n.title, "description": n.message, "color": color(n)}],
            });
            json(url.expose().to_owned(), &body)
        }
        Target::Telegram { base_url, bot_token, chat_id, parse_mode } => {
            let text = if parse_mode == "HTML" {
                format!("<b>{}</b>\n{}", html_escape(&n.title), html_escape(&n.message))
            } else {
                format!("{}\n{}", n.title, n.message)
            };
            let url = format!("{}/bot{}/sendMessage", base_url.trim_end_matches('/'), bot_token.expose());
            json(url, &serde_json::json!({"chat_id": chat_id, "text": text, "parse_mode": parse_mode}))
        }
        Target::Ntfy { base_url, topic, token } => {
            let mut headers = vec![
                ("Title", header_safe(&n.title)),
                ("Priority", ntfy_priority(n).to_owned()),
                ("Tags", ntfy_tags(n)),
                ("Content-Type", "text/plain; charset=utf-8".to_owned()),
            ];
            if let Some(token) = token {
                headers.push(("Authorization", format!("Bearer {}", token.expose())));
            }
            let url = format!("{}/{topic}", base_url.trim_end_matches('/'));
            Ok(Outgoing { url, headers, body: n.message.clone().into_bytes() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Test case 6: a key longer than the block is hashed first.
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn telegram_escapes_html_and_ntfy_headers_are_ascii() {
        let mut n = Notification::test("x", 0);
        n.title = "a<b> & 서버".into();
        let t = Target::Telegram {
            base_url: "http://h/".into(),
            bot_token: crate::config::Secret::new("T"),
            chat_id: "1".into(),
            parse_mode: "HTML".into(),
        };
        let out = build(&t, &n).unwrap();
        assert_eq!(out.url, "http://h/botT/sendMessage");
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
        assert!(body["text"].as_str().unwrap().starts_with("<b>a&lt;b&gt; &amp; 서버</b>\n"));
        let t = Target::Ntfy { base_url: "http://h".into(), topic: "t".into(), token: None };
        let out = build(&t, &n).unwrap();
        assert_eq!(out.headers[0], ("Title", "a<b> & ??".to_owned()));
    }
}
