//! Background delivery: one bounded queue and one worker task per channel, so a slow or failing
//! receiver only ever delays its own messages. Each worker retries with exponential back-off (a 429's
//! `Retry-After` header or `retry_after` body field wins), keeps to the channel's per-minute rate, and
//! records every attempt in a bounded delivery log. The workers live inside one supervised job.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::channel::Channel;
use super::format::{Notification, build};
use crate::alerts::Event;
use crate::config::HostPolicy;
use crate::lifecycle::supervisor::{JobContext, Supervisor};

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// Messages waiting per channel; past this, new ones are dropped (and logged as such).
    pub queue_capacity: usize,
    /// Attempts per message, the first included.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A receiver's requested wait is cut to this, so one reply cannot park a channel for hours.
    pub max_retry_after: Duration,
    pub request_timeout: Duration,
    /// Delivery attempts remembered.
    pub log_capacity: usize,
    /// Hosts a channel may send to (`alerts.channel_hosts`).
    pub hosts: HostPolicy,
    /// Bytes of the deliveries sent (the hub's `outbound:notify` egress; shared with its meter).
    pub sent: prometheus_client::metrics::counter::Counter,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 64,
            max_attempts: 5,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(600),
            request_timeout: Duration::from_secs(10),
            log_capacity: 200,
            sent: Default::default(),
            hosts: HostPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Delivered,
    /// Failed this time; another attempt follows.
    Retrying,
    /// Gave up (permanent error or attempts exhausted).
    Failed,
    /// The channel's queue was full.
    Dropped,
    /// The channel is disabled.
    Skipped,
}

/// One line of the delivery log (`GET /api/notifications/...` can show the latest).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub at_ms: i64,
    pub channel_id: String,
    pub kind: &'static str,
    pub event: String,
    pub alert_id: Option<String>,
    pub attempt: u32,
    pub outcome: Outcome,
    pub status: Option<u16>,
    /// Never contains a URL (they can hold tokens).
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotifyError {
    #[error("unknown channel {0}")]
    UnknownChannel(String),
    #[error("queue of channel {0} is full")]
    QueueFull(String),
    /// The channel names a host outside `alerts.channel_hosts`.
    #[error("{0}")]
    HostNotAllowed(String),
}

struct Slot {
    channel: RwLock<Channel>,
    tx: mpsc::Sender<Notification>,
    /// Held by the channel's worker for its whole life; a restarted worker takes it over.
    rx: tokio::sync::Mutex<mpsc::Receiver<Notification>>,
}

impl Slot {
    fn channel(&self) -> Option<Channel> {
        Some(self.channel.read().clone())
    }
}

enum Attempt {
    Delivered,
    Retry(Option<Duration>),
    Permanent,
}

pub struct Notifier {
    config: NotifierConfig,
    client: reqwest::Client,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    log: Mutex<VecDeque<DeliveryRecord>>,
    changed: tokio::sync::Notify,
}

impl Notifier {
    pub fn new(config: NotifierConfig) -> Result<Self, reqwest::Error> {
        ai::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            // Receivers are configured by admins; following redirects would only widen where we post.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("openmanager/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { config, client, slots: Mutex::default(), log: Mutex::default(), changed: tokio::sync::Notify::new() })
    }

    /// Starts the delivery job (and through it one worker per channel) under the supervisor.
    pub fn start(self: &Arc<Self>, supervisor: &Supervisor) {
        let me = self.clone();
        supervisor.spawn("notifier", move |ctx| me.clone().run(ctx));
    }

    /// Adds a channel or replaces its configuration; queued messages are kept.
    pub fn upsert_channel(&self, channel: Channel) {
        let mut slots = self.slots.lock();
        if let Some(slot) = slots.get(&channel.id) {
            {
                let mut c = slot.channel.write();
                *c = channel;
            }
            return;
        }
        let (tx, rx) = mpsc::channel(self.config.queue_capacity.max(1));
        let slot = Slot { channel: RwLock::new(channel.clone()), tx, rx: tokio::sync::Mutex::new(rx) };
        slots.insert(channel.id, Arc::new(slot));
        drop(slots);
        self.changed.notify_one();
    }

    /// Removes a channel; its queued messages are discarded.
    pub fn remove_channel(&self, id: &str) -> bool {
        let removed = self.slots.lock().remove(id).is_some();
        self.changed.notify_one();
        removed
    }

    pub fn set_channels(&self, channels: Vec<Channel>) {
        let keep: Vec<String> = channels.iter().map(|c| c.id.clone()).collect();
        let stale: Vec<String> = self.slots.lock().keys().filter(|k| !keep.contains(k)).cloned().collect();
        for id in stale {
            self.remove_channel(&id);
        }
        for c in channels {
            self.upsert_channel(c);
        }
    }

    /// Channels in the API shape (secrets masked when serialized).
    pub fn channels(&self) -> Vec<Channel> {
        let slots: Vec<Arc<Slot>> = self.slots.lock().values().cloned().collect();
        let mut out: Vec<Channel> = slots.iter().filter_map(|s| s.channel()).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    fn slot(&self, id: &str) -> Option<Arc<Slot>> {
        self.slots.lock().get(id).cloned()
    }

    /// Queues a message without waiting; a full queue drops it (recorded in the log).
    pub fn enqueue(&self, channel_id: &str, notification: Notification) -> Result<(), NotifyError> {
        let slot = self.slot(channel_id).ok_or_else(|| NotifyError::UnknownChannel(channel_id.to_owned()))?;
        match slot.tx.try_send(notification) {
            Ok(()) => Ok(()),
            Err(e) => {
                let n = match e {
                    mpsc::error::TrySendError::Full(n) | mpsc::error::TrySendError::Closed(n) => n,
                };
                let kind = slot.channel().map_or("unknown", |c| c.target.kind());
                self.record(channel_id, kind, &n, 0, Outcome::Dropped, None, Some("queue full".into()), 0);
                Err(NotifyError::QueueFull(channel_id.to_owned()))
            }
        }
    }

    /// Queues an engine event to each of its alert's channels, unless silenced; a rule that names no
    /// channel goes to every enabled one (as Alertmanager's default route does, so adding a channel
    /// is enough to hear about the default rules). Returns how many were queued; unknown channels
    /// and full queues are logged and skipped.
    pub fn dispatch(&self, event: &Event, now_ms: i64) -> usize {
        if !event.should_notify() {
            return 0;
        }
        let targets: Vec<String> = if event.alert.channels.is_empty() {
            self.channels().into_iter().filter(|c| c.enabled).map(|c| c.id).collect()
        } else {
            event.alert.channels.clone()
        };
        let n = Notification::from_event(event, now_ms);
        let mut queued = 0;
        for id in &targets {
            match self.enqueue(id, n.clone()) {
                Ok(()) => queued += 1,
                Err(e) => tracing::warn!(alert = event.alert.id, error = %e, "notification not queued"),
            }
        }
        queued
    }

    /// Sends a test message now (one attempt, not queued) and returns its log record.
    pub async fn test(&self, channel_id: &str) -> Result<DeliveryRecord, NotifyError> {
        let channel = self.slot(channel_id).and_then(|s| s.channel());
        let channel = channel.ok_or_else(|| NotifyError::UnknownChannel(channel_id.to_owned()))?;
        let n = Notification::test(&channel.name, crate::clock::now_millis());
        // Refused by policy is the caller's to fix, not a receiver's failure: say so before trying.
        if let Ok(out) = build(&channel.target, &n) {
            self.config.hosts.check(&out.url).map_err(NotifyError::HostNotAllowed)?;
        }
        let (_, record) = self.attempt(&channel, &n, 1, true).await;
        Ok(record)
    }

    /// The latest delivery attempts, newest first.
    pub fn log(&self) -> Vec<DeliveryRecord> {
        self.log.lock().iter().rev().cloned().collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        channel_id: &str,
        kind: &'static str,
        n: &Notification,
        attempt: u32,
        outcome: Outcome,
        status: Option<u16>,
        error: Option<String>,
        duration_ms: u64,
    ) -> DeliveryRecord {
        let record = DeliveryRecord {
            at_ms: crate::clock::now_millis(),
            channel_id: channel_id.to_owned(),
            kind,
            event: n.event.clone(),
            alert_id: n.alert.as_ref().map(|a| a.id.clone()),
            attempt,
            outcome,
            status,
            error,
            duration_ms,
        };
        {
            let mut log = self.log.lock();
            while log.len() >= self.config.log_capacity.max(1) {
                log.pop_front();
            }
            log.push_back(record.clone());
        }
        record
    }

    /// The supervised job: keeps one worker per channel running, and nothing else.
    async fn run(self: Arc<Self>, ctx: JobContext) -> anyhow::Result<()> {
        let mut workers: HashMap<String, (Arc<Slot>, AbortHandle)> = HashMap::new();
        let mut set = JoinSet::new();
        loop {
            let current: Vec<(String, Arc<Slot>)> =
                self.slots.lock().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            workers.retain(|id, (slot, handle)| {
                let keep = !handle.is_finished() && current.iter().any(|(i, s)| i == id && Arc::ptr_eq(s, slot));
                if !keep {
                    handle.abort();
                }
                keep
            });
            for (id, slot) in current {
                if let std::collections::hash_map::Entry::Vacant(e) = workers.entry(id) {
                    let handle = set.spawn(self.clone().worker(e.key().clone(), slot.clone()));
                    e.insert((slot, handle));
                }
            }
            ctx.heartbeat.beat();
            tokio::select! {
                _ = ctx.cancel.cancelled() => {
                    set.abort_all();
                    return Ok(());
                }
                _ = self.changed.notified() => {}
                // A worker that ended (it should not) is started again on the next pass.
                Some(_) = set.join_next(), if !set.is_empty() => {}
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }

    async fn worker(self: Arc<Self>, id: String, slot: Arc<Slot>) {
        let mut rx = slot.rx.lock().await;
        let mut sent: VecDeque<Instant> = VecDeque::new();
        while let Some(n) = rx.recv().await {
            self.deliver(&id, &slot, &n, &mut sent).await;
        }
    }

    async fn deliver(&self, id: &str, slot: &Slot, n: &Notification, sent: &mut VecDeque<Instant>) {
        let mut backoff = self.config.base_backoff;
        for attempt in 1..=self.config.max_attempts.max(1) {
            // Re-read each time, so an edited URL or token applies to the retries too.
            let Some(channel) = slot.channel() else { return };
            if !channel.enabled {
                self.record(id, channel.target.kind(), n, attempt, Outcome::Skipped, None, None, 0);
                return;
            }
            wait_for_rate(sent, channel.rate_per_minute).await;
            let last = attempt == self.config.max_attempts.max(1);
            let (result, _) = self.attempt(&channel, n, attempt, last).await;
            match result {
                Attempt::Delivered | Attempt::Permanent => return,
                Attempt::Retry(after) if !last => {
                    let wait = after.map_or(backoff, |a| a.min(self.config.max_retry_after));
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
                Attempt::Retry(_) => return,
            }
        }
    }

    /// One request; `last` turns a retryable failure into `failed` in the log.
    async fn attempt(
        &self,
        channel: &Channel,
        n: &Notification,
        attempt: u32,
        last: bool,
    ) -> (Attempt, DeliveryRecord) {
        let kind = channel.target.kind();
        let started = Instant::now();
        let out = match build(&channel.target, n) {
            Ok(out) => out,
            Err(e) => {
                let r = self.record(&channel.id, kind, n, attempt, Outcome::Failed, None, Some(e.to_string()), 0);
                return (Attempt::Permanent, r);
            }
        };
        if let Err(why) = self.config.hosts.check(&out.url) {
            let r = self.record(&channel.id, kind, n, attempt, Outcome::Failed, None, Some(why), 0);
            return (Attempt::Permanent, r);
        }
        let mut req = self.client.post(&out.url).body(out.body);
        for (name, value) in out.headers {
            req = req.header(name, value);
        }
        let (result, status, error) = match ai::provider::send_counted(req, &self.config.sent).await {
            Err(e) => (Attempt::Retry(None), None, Some(describe(e))),
            Ok(resp) => {
                let status = resp.status();
                let header_wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok());
                let body = resp.bytes().await.unwrap_or_default();
                let code = status.as_u16();
                if status.is_success() {
                    (Attempt::Delivered, Some(code), None)
                } else if code == 429 {
                    let wait = header_wait.or_else(|| body_retry_after(&body)).and_then(secs);
                    (Attempt::Retry(wait), Some(code), Some("rate limited".to_owned()))
                } else if status.is_server_error() || code == 408 {
                    (Attempt::Retry(None), Some(code), Some(format!("HTTP {code}")))
                } else {
                    (Attempt::Permanent, Some(code), Some(format!("HTTP {code}")))
                }
            }
        };
        let outcome = match result {
            Attempt::Delivered => Outcome::Delivered,
            Attempt::Retry(_) if !last => Outcome::Retrying,
            _ => Outcome::Failed,
        };
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let record = self.record(&channel.id, kind, n, attempt, outcome, status, error, ms);
        if outcome == Outcome::Failed {
            tracing::warn!(channel = channel.id, kind, attempt, error = record.error, "notification failed");
        }
        (result, record)
    }
}

/// Discord puts `retry_after` (seconds) at the top of its 429 body; Telegram under `parameters`.
fn body_retry_after(body: &[u8]) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("retry_after").or_else(|| v.get("parameters").and_then(|p| p.get("retry_after")))?.as_f64()
}

fn secs(s: f64) -> Option<Duration> {
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(86_400.0)))
}

/// The error without its URL, which for Slack, Discord and Telegram contains the credential.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut detail = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() { kind.to_owned() } else { format!("{kind}: {detail}") }
}

/// Waits until fewer than `per_minute` sends happened in the last minute, then counts this one.
async fn wait_for_rate(sent: &mut VecDeque<Instant>, per_minute: u32) {
    let window = Duration::from_secs(60);
    loop {
        let now = Instant::now();
        while sent.front().is_some_and(|t| now.duration_since(*t) >= window) {
            sent.pop_front();
        }
        if sent.len() < per_minute.max(1) as usize {
            sent.push_back(now);
            return;
        }
        if let Some(oldest) = sent.front() {
            tokio::time::sleep_until(*oldest + window).await;
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
