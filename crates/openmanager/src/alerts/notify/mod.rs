//! Notifications: channel configuration with write-only secrets (`channel`), the request each receiver
//! expects (`format`: webhook, Slack, Discord, Telegram, ntfy) and background delivery with retries,
//! rate limits and a bounded log (`notifier`), limited to the hosts
//! `alerts.channel_hosts` allows (`config::HostPolicy`).

pub mod channel;
pub mod format;
pub mod notifier;

pub use channel::{Channel, Target};
pub use format::Notification;
pub use notifier::{DeliveryRecord, Notifier, NotifierConfig, NotifyError, Outcome};
