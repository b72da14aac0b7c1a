//! Coalescing of identical concurrent streams: the first request for a cache key streams from the
//! engine (the leader); requests for the same key that arrive meanwhile (followers) replay the
//! leader's events from the start and then follow it live, so one upstream call serves them all,
//! as the cache's `get_or_compute` does for whole answers. Entries leave the table when the stream
//! ends, fails or its leader goes away, so nothing waits on a stream that no one produces.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::Notify;

use crate::error::AiError;
use crate::request::{Attempt, CacheStatus};
use crate::stream::{AiStream, StreamEvent};

/// Events a flight keeps for followers; a longer answer stops being shared (followers get an error
/// rather than memory growing without bound).
const MAX_EVENTS: usize = 20_000;

/// How the leader's stream started, for followers' headers.
#[derive(Clone)]
struct Opened {
    engine: String,
    model: String,
    fallback: bool,
    attempts: Vec<Attempt>,
}

#[derive(Default)]
struct State {
    opened: Option<Opened>,
    /// The leader could not open a stream at all.
    failed: Option<AiError>,
    events: Vec<StreamEvent>,
    /// No more events will come.
    done: bool,
}

#[derive(Default)]
pub(crate) struct Flight {
    state: Mutex<State>,
    changed: Notify,
}

impl Flight {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The table of streams in flight, by cache key.
#[derive(Default)]
pub(crate) struct Flights(Mutex<HashMap<String, Arc<Flight>>>);

/// What a request for a key is.
pub(crate) enum Role {
    Leader(LeaderGuard),
    Follower(Arc<Flight>),
}

impl Flights {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Flight>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn join(self: &Arc<Self>, key: &str) -> Role {
        let mut map = self.map();
        if let Some(f) = map.get(key) {
            return Role::Follower(f.clone());
        }
        let flight = Arc::new(Flight::default());
        map.insert(key.to_owned(), flight.clone());
        Role::Leader(LeaderGuard { flights: self.clone(), key: key.to_owned(), flight, finished: false })
    }
}

/// Held by the leader; ends the flight however the leader ends (answer, error, or dropped).
pub(crate) struct LeaderGuard {
    flights: Arc<Flights>,
    key: String,
    flight: Arc<Flight>,
    finished: bool,
}

impl LeaderGuard {
    fn finish(&mut self, failed: Option<AiError>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.flights.map().remove(&self.key);
        {
            let mut st = self.flight.state();
            if st.opened.is_none() && st.failed.is_none() {
                st.failed = Some(failed.unwrap_or(AiError::DeadlineExceeded));
            }
            st.done = true;
        }
        self.flight.changed.notify_waiters();
    }

    /// The leader could not start a stream: followers get the same error.
    pub fn fail(mut self, error: &AiError) {
        self.finish(Some(error.clone()));
    }

    /// Wraps the leader's stream so every event is also kept for followers.
    pub fn share(self, s: AiStream) -> AiStream {
        {
            let mut st = self.flight.state();
            st.opened = Some(Opened {
                engine: s.engine.clone(),
                model: s.model.clone(),
                fallback: s.fallback,
                attempts: s.attempts.clone(),
            });
        }
        self.flight.changed.notify_waiters();
        let guard = self;
        let events = stream::unfold((s.events, guard), |(mut events, mut guard)| async move {
            let ev = events.next().await;
            match &ev {
                Some(e) => {
                    let end = matches!(e, StreamEvent::Done(_) | StreamEvent::Error(_));
                    {
                        let mut st = guard.flight.state();
                        if st.events.len() < MAX_EVENTS {
                            st.events.push(e.clone());
                        } else if !st.done {
                            st.events.push(StreamEvent::Error(AiError::DeadlineExceeded));
                            st.done = true;
                        }
                    }
                    guard.flight.changed.notify_waiters();
                    if end {
                        guard.finish(None);
                    }
                }
                None => guard.finish(None),
            }
            ev.map(|e| (e, (events, guard)))
        })
        .boxed();
        AiStream { events, ..s }
    }
}

impl Drop for LeaderGuard {
    fn drop(&mut self) {
        // A leader whose client went away ends the flight; followers see the stream end early.
        self.finish(None);
    }
}

/// A follower's stream: waits for the leader to open, then replays and follows its events.
pub(crate) async fn follow(flight: Arc<Flight>) -> Result<AiStream, AiError> {
    let opened = loop {
        let notified = flight.changed.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        {
            let st = flight.state();
            if let Some(o) = &st.opened {
                break o.clone();
            }
            if let Some(e) = &st.failed {
                return Err(e.clone());
            }
        }
        notified.await;
    };
    let engine = opened.engine.clone();
    let events = stream::unfold((flight, 0usize), move |(flight, i)| {
        let engine = engine.clone();
        async move {
            loop {
                let notified = flight.changed.notified();
                let mut notified: Pin<&mut _> = std::pin::pin!(notified);
                notified.as_mut().enable();
                {
                    let st = flight.state();
                    if let Some(ev) = st.events.get(i) {
                        return Some((ev.clone(), (flight.clone(), i + 1)));
                    }
                    if st.done {
                        // The leader went away before the end: say so once, as a cut stream.
                        let ended =
                            st.events.last().is_some_and(|e| matches!(e, StreamEvent::Done(_) | StreamEvent::Error(_)));
                        if ended || i > st.events.len() {
                            return None;
                        }
                        let cut = StreamEvent::Error(AiError::Upstream { engine, outcome: "stream_cut".into() });
                        return Some((cut, (flight.clone(), i + 1)));
                    }
                }
                notified.await;
            }
        }
    })
    .boxed();
    Ok(AiStream {
        engine: opened.engine,
        model: opened.model,
        fallback: opened.fallback,
        cache_status: CacheStatus::Miss,
        attempts: opened.attempts,
        events: events as BoxStream<'static, StreamEvent>,
    })
}
