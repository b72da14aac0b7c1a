//! One WebSocket connection: sends `hello` and the full snapshot, then forwards the hub's messages
//! the client subscribed to, answers `ping`, and streams `live` samples of one server. Everything it
//! holds is bounded; a client that cannot keep up is resynchronised, then dropped. Subscribing to a
//! topic sends its full snapshot first, so a client that unsubscribed (a hidden tab) and comes back
//! ends with the correct state.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WireFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

use super::deflate::{self, DeflateIo, Wire};
use super::hub::{Encoded, Frame, Hub, ServerUpdate, Topic, Utf8Bytes, encode};
use crate::clock;
use crate::fleet::model::{Live, Source};
use crate::fleet::simulated;
use crate::http::state::AppState;

/// Resynchronisations in a row (each after missing messages) before a client is dropped.
const MAX_LAGS: u32 = 3;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Ping,
    Subscribe {
        #[serde(default)]
        topics: Vec<String>,
        #[serde(default, rename = "serverIds")]
        server_ids: Option<Vec<String>>,
        #[serde(default)]
        live: Option<String>,
    },
    Unsubscribe {
        #[serde(default)]
        topics: Vec<String>,
        #[serde(default)]
        live: Option<String>,
    },
}

/// One upgraded connection.
pub struct Client {
    pub socket: WebSocketStream<DeflateIo<TokioIo<hyper::upgrade::Upgraded>>>,
    /// `permessage-deflate` was agreed.
    pub deflate: bool,
    /// Bytes through the socket, counted by [`DeflateIo`].
    pub wire: Arc<Wire>,
}

/// What a connection wants; by default everything but `live` and `fleet` (what clients that never
/// subscribe always got).
struct Subscription {
    topics: HashSet<&'static str>,
    /// Still the defaults (no `?topics=`, no subscribe naming a topic, no unsubscribe yet): the first
    /// subscribe that names topics selects them instead of adding to the defaults, so a client that
    /// asks for `fleet` alone is not also sent every server each second.
    defaults: bool,
    server_ids: Option<HashSet<String>>,
    live: Option<String>,
    live_after: i64,
    /// The overview baseline version this client holds.
    overview_seq: u64,
    /// When `live` samples were last sent.
    live_sent_ms: i64,
}

const DEFAULT_TOPICS: [&str; 3] = ["servers", "system", "alerts"];

impl Default for Subscription {
    fn default() -> Self {
        Self {
            topics: DEFAULT_TOPICS.into(),
            defaults: true,
            server_ids: None,
            live: None,
            live_after: 0,
            overview_seq: 0,
            live_sent_ms: 0,
        }
    }
}

fn topic_name(t: &str) -> Option<&'static str> {
    ["servers", "system", "alerts", "predictions", "fleet", "checks"].into_iter().find(|k| *k == t)
}

/// The `?topics=` of the upgrade: comma-separated topic names, possibly none.
pub fn parse_topics(list: &str) -> Result<HashSet<&'static str>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| topic_name(t).ok_or_else(|| format!("unknown topic `{t}` in `topics`")))
        .collect()
}

impl Subscription {
    fn wants(&self, topic: Topic) -> bool {
        topic == Topic::Notice || self.topics.contains(topic.name())
    }
}

enum Flow {
    Continue,
    /// A message was skipped (no room in the unsent budget): resynchronise at the next chance.
    Lagged,
    Stop,
}

/// Sends one message within the hub's unsent budget, deflated when the client agreed to it. A socket
/// that takes nothing for the stall timeout means the client stopped reading: it is dropped. A
/// message that does not fit in the budget right now (other clients are slow) is skipped and counted
/// as a lag, so the client is resynchronised with the newest state, or dropped if it stays behind.
async fn send(client: &mut Client, hub: &Hub, topic: &'static str, msg: impl Into<Encoded>) -> Flow {
    let msg = msg.into();
    let message =
        match msg.deflated.or_else(|| if client.deflate { deflate::deflate(msg.text.as_bytes()) } else { None }) {
            Some(body) if client.deflate => {
                let mut frame = WireFrame::message(body, OpCode::Data(Data::Text), true);
                frame.header_mut().rsv1 = true;
                Message::Frame(frame)
            }
            _ => Message::Text(msg.text),
        };
    let Some(_reserved) = hub.unsent.reserve(message.len()) else { return Flow::Lagged };
    // Counted as the socket took it (frame headers included): the egress view's per-topic bytes.
    let before = client.wire.sent.load(std::sync::atomic::Ordering::Relaxed);
    let sent = tokio::time::timeout(hub.stall_timeout, client.socket.send(message)).await;
    let after = client.wire.sent.load(std::sync::atomic::Ordering::Relaxed);
    hub.meter.add_topic(topic, after.saturating_sub(before));
    match sent {
        Ok(Ok(())) => Flow::Continue,
        Ok(Err(_)) => Flow::Stop,
        Err(_) => {
            tracing::info!("dropping a WebSocket client that stopped reading");
            Flow::Stop
        }
    }
}

fn error_message(message: &str) -> Utf8Bytes {
    encode("error", json!({ "message": message }))
}

pub async fn run(mut socket: Client, topics: Option<HashSet<&'static str>>, state: AppState) {
    let mut rx = state.hub.subscribe();
    let mut sub = Subscription::default();
    if let Some(t) = topics {
        sub.topics = t;
        sub.defaults = false;
    }
    let hello = encode(
        "hello",
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "serverTime": clock::now_rfc3339(),
            "intervalMs": state.hub.interval.as_millis() as u64,
            "overviewIntervalMs": state.hub.rates().0.as_millis() as u64,
            "liveIntervalMs": state.hub.rates().1.as_millis() as u64,
            "deflate": socket.deflate,
        }),
    );
    if let Flow::Stop = send(&mut socket, &state.hub, "control", hello).await {
        return;
    }
    if state.hub.guarded()
        && let Flow::Stop = send(&mut socket, &state.hub, "control", state.hub.guard_notice()).await
    {
        return;
    }
    if let Flow::Stop = send_full(&mut socket, &state, &mut sub).await {
        return;
    }
    let cancel = state.supervisor.token();
    let mut live_tick = tokio::time::interval(state.hub.live_interval);
    // Times in a row this client fell behind (missed broadcasts, or sends skipped for the budget);
    // while `resync` is set, the next message it gets is the newest full state.
    let mut lags = 0u32;
    let mut resync = false;
    loop {
        let flow = tokio::select! {
            frame = rx.recv() => {
                let missed = matches!(frame, Err(RecvError::Lagged(_)));
                let flow = match frame {
                    Ok(_) if resync => send_full(&mut socket, &state, &mut sub).await,
                    Ok(frame) => forward(&mut socket, &state, &sub, frame).await,
                    Err(RecvError::Lagged(missed)) => {
                        lags += 1;
                        tracing::debug!(missed, lags, "websocket client behind; resynchronising");
                        send_full(&mut socket, &state, &mut sub).await
                    }
                    Err(RecvError::Closed) => Flow::Stop,
                };
                match flow {
                    Flow::Continue => {
                        resync = false;
                        if !missed {
                            lags = 0;
                        }
                    }
                    Flow::Lagged => {
                        lags += 1;
                        resync = true;
                    }
                    Flow::Stop => {}
                }
                flow
            }
            incoming = socket.socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => handle(&mut socket, &state, &mut sub, &text).await,
                Some(Ok(Message::Binary(_))) => send(&mut socket, &state.hub, "control", error_message("binary messages are not supported")).await,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Flow::Stop,
                Some(Ok(_)) => Flow::Continue,
            },
            _ = live_tick.tick(), if sub.live.is_some() => {
                // The egress guard slows `live` to its own interval; the tick stays the base rate.
                if clock::now_millis() - sub.live_sent_ms >= state.hub.rates().1.as_millis() as i64 - 100 {
                    sub.live_sent_ms = clock::now_millis();
                    send_live(&mut socket, &state, &mut sub).await
                } else {
                    Flow::Continue
                }
            }
            _ = cancel.cancelled() => {
                let frame = CloseFrame { code: CloseCode::Away, reason: Utf8Bytes::from_static("server shutting down") };
                let _ = tokio::time::timeout(Duration::from_secs(1), socket.socket.send(Message::Close(Some(frame)))).await;
                Flow::Stop
            }
        };
        if let Flow::Stop = flow {
            return;
        }
        if lags > MAX_LAGS {
            tracing::info!(lags, "dropping a WebSocket client that stays behind");
            return;
        }
    }
}

async fn send_full(socket: &mut Client, state: &AppState, sub: &mut Subscription) -> Flow {
    let snap = state.hub.full();
    if sub.wants(Topic::Overview) {
        sub.overview_seq = snap.overview_seq;
        if let Flow::Stop = send(socket, &state.hub, "fleet", snap.overview).await {
            return Flow::Stop;
        }
    }
    if sub.wants(Topic::Servers) {
        let msg = match &sub.server_ids {
            None => snap.servers,
            Some(ids) => {
                let views = state.hub.views();
                let mine: Vec<_> = views.iter().filter(|v| ids.contains(&v.id)).cloned().collect();
                encode("server_update", ServerUpdate { full: true, servers: &mine, removed: Vec::new() }).into()
            }
        };
        if let Flow::Stop = send(socket, &state.hub, "servers", msg).await {
            return Flow::Stop;
        }
    }
    if sub.wants(Topic::System) {
        return send(socket, &state.hub, "system", snap.system).await;
    }
    Flow::Continue
}

async fn forward(socket: &mut Client, state: &AppState, sub: &Subscription, frame: Frame) -> Flow {
    if !sub.wants(frame.topic) || (frame.topic == Topic::Overview && frame.seq <= sub.overview_seq) {
        return Flow::Continue;
    }
    match (&sub.server_ids, frame.topic) {
        (Some(ids), Topic::Servers) => {
            // Filtered clients get their servers' current views each tick (rare; costs a serialisation).
            let views = state.hub.views();
            let mine: Vec<_> = views.iter().filter(|v| ids.contains(&v.id)).cloned().collect();
            send(
                socket,
                &state.hub,
                "servers",
                encode("server_update", ServerUpdate { full: false, servers: &mine, removed: Vec::new() }),
            )
            .await
        }
        _ => send(socket, &state.hub, frame.topic.name(), frame.msg).await,
    }
}

async fn handle(socket: &mut Client, state: &AppState, sub: &mut Subscription, text: &str) -> Flow {
    let msg = match serde_json::from_str::<ClientMessage>(text) {
        Ok(m) => m,
        Err(e) => {
            return send(
                socket,
                &state.hub,
                "control",
                error_message(&format!("not a message this server understands: {e}")),
            )
            .await;
        }
    };
    match msg {
        ClientMessage::Ping => {
            send(socket, &state.hub, "control", encode("pong", json!({ "serverTime": clock::now_rfc3339() }))).await
        }
        ClientMessage::Subscribe { topics, server_ids, live } => {
            let mut named = HashSet::new();
            for t in &topics {
                match topic_name(t) {
                    Some(name) => {
                        named.insert(name);
                    }
                    None if t == "live" => {}
                    None => {
                        return send(socket, &state.hub, "control", error_message(&format!("unknown topic `{t}`")))
                            .await;
                    }
                }
            }
            // Topics the client holds no snapshot of yet (a default topic it keeps is current).
            let added: HashSet<&'static str> = named.difference(&sub.topics).copied().collect();
            if !named.is_empty() && std::mem::take(&mut sub.defaults) {
                sub.topics.clear();
            }
            sub.topics.extend(&named);
            if let Some(ids) = server_ids {
                sub.server_ids = Some(ids.into_iter().take(1000).collect());
            }
            // A topic just subscribed starts with its snapshot (only those: the others are current).
            if !added.is_empty() {
                let all = std::mem::replace(&mut sub.topics, added);
                let flow = send_full(socket, state, sub).await;
                sub.topics = all;
                if let Flow::Stop = flow {
                    return Flow::Stop;
                }
            }
            if let Some(id) = live {
                if state.fleet.registry().source_of(&id).is_none() {
                    return send(socket, &state.hub, "control", error_message(&format!("server `{id}` not found")))
                        .await;
                }
                sub.live = Some(id);
                sub.live_after = clock::now_millis() - 60_000;
                return send_live(socket, state, sub).await;
            }
            Flow::Continue
        }
        ClientMessage::Unsubscribe { topics, live } => {
            sub.defaults = false;
            for t in &topics {
                if let Some(name) = topic_name(t) {
                    sub.topics.remove(name);
                }
                if t == "live" {
                    sub.live = None;
                }
            }
            if live.is_some() {
                sub.live = None;
            }
            Flow::Continue
        }
    }
}

/// Sends the samples of the subscribed server newer than the last sent.
async fn send_live(socket: &mut Client, state: &AppState, sub: &mut Subscription) -> Flow {
    let Some(id) = sub.live.clone() else { return Flow::Continue };
    let now = clock::now_millis();
    let samples: Vec<Live> = match state.fleet.registry().source_of(&id) {
        Some(Source::Simulated) => state
            .fleet
            .simulation_seed()
            .and_then(|seed| simulated::live(&id, now - now.rem_euclid(1000), seed))
            .into_iter()
            .collect(),
        Some(_) => {
            let ring = state.fleet.live().since(&id, sub.live_after);
            if ring.is_empty() { state.fleet.get(&id, now).and_then(|s| s.live).into_iter().collect() } else { ring }
        }
        None => Vec::new(),
    };
    let fresh: Vec<Live> = samples.into_iter().filter(|l| l.at_ms > sub.live_after).collect();
    let Some(last) = fresh.last() else { return Flow::Continue };
    sub.live_after = last.at_ms;
    let points: Vec<_> = fresh
        .iter()
        .map(|l| {
            json!({
                "timestamp": clock::millis_rfc3339(l.at_ms),
                "cpu": l.cpu, "memory": l.memory, "disk": l.disk,
                "networkIn": l.net_in, "networkOut": l.net_out, "load1": l.load[0],
            })
        })
        .collect();
    send(socket, &state.hub, "live", encode("live", json!({ "serverId": id, "samples": points }))).await
}
