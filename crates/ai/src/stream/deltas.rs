//! Neutral streams of deltas: SSE parsing shared by the remote providers, and replay of finished answers.

use std::collections::VecDeque;
use std::pin::Pin;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};

use crate::error::ProviderError;
use crate::request::{Delta, ToolCall, Usage};

/// What a provider streams.
pub type DeltaStream = Pin<Box<dyn Stream<Item = Result<Delta, ProviderError>> + Send>>;

/// Turns one wire format's SSE payloads into deltas.
pub(crate) trait ChunkParser: Send + 'static {
    /// Parses one `data:` payload; returns `true` when the stream is complete (e.g. `[DONE]`).
    fn feed(&mut self, data: &str, out: &mut Vec<Delta>) -> Result<bool, ProviderError>;
    /// Called when the connection ends: emits the final delta, or says the stream was cut.
    fn finish(&mut self, out: &mut Vec<Delta>) -> Result<(), ProviderError>;
}

struct SseState<P> {
    events: Pin<Box<dyn Stream<Item = Result<String, String>> + Send>>,
    parser: P,
    queue: VecDeque<Delta>,
    done: bool,
}

/// Parses an SSE response (with `eventsource-stream` over reqwest's byte stream) into deltas.
/// Any fault after the first byte ends the stream with one error item: never retried.
pub(crate) fn sse_stream<P: ChunkParser>(resp: reqwest::Response, parser: P) -> DeltaStream {
    let events = resp.bytes_stream().eventsource().map(|r| r.map(|ev| ev.data).map_err(|e| e.to_string())).boxed();
    let state = SseState { events, parser, queue: VecDeque::new(), done: false };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(d) = st.queue.pop_front() {
                return Some((Ok(d), st));
            }
            if st.done {
                return None;
            }
            let mut out = Vec::new();
            let step = match st.events.next().await {
                Some(Ok(data)) if data.trim().is_empty() => continue,
                Some(Ok(data)) => st.parser.feed(&data, &mut out).map(|complete| st.done = complete),
                Some(Err(e)) => Err(ProviderError::StreamCut(e)),
                None => {
                    st.done = true;
                    st.parser.finish(&mut out)
                }
            };
            st.queue.extend(out);
            if let Err(e) = step {
                st.done = true;
                st.queue.clear();
                return Some((Err(e), st));
            }
        }
    })
    .boxed()
}

/// Replays a finished answer as a stream (cache hits and the local engine), in word-sized pieces
/// so clients render it the same way as a live stream.
pub fn replay(text: &str, tool_calls: &[ToolCall], reason: Option<String>, usage: Usage) -> DeltaStream {
    let mut items: Vec<Result<Delta, ProviderError>> =
        split_words(text).into_iter().map(|w| Ok(Delta::Text(w))).collect();
    items.extend(tool_calls.iter().cloned().map(|c| Ok(Delta::ToolCall(c))));
    items.push(Ok(Delta::Finish { reason, usage }));
    futures_util::stream::iter(items).boxed()
}

/// Splits text into chunks of about 8 words, keeping every character (whitespace included).
fn split_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut words = 0;
    for ch in text.chars() {
        cur.push(ch);
        if ch.is_whitespace() {
            words += 1;
            if words >= 8 {
                out.push(std::mem::take(&mut cur));
                words = 0;
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replay_keeps_text_whole() {
        let text = "one two three four five six seven eight nine ten eleven";
        let items: Vec<_> = replay(text, &[], Some("stop".into()), Usage::default()).collect().await;
        let mut joined = String::new();
        for it in &items {
            if let Ok(Delta::Text(t)) = it {
                joined.push_str(t);
            }
        }
        assert_eq!(joined, text);
        assert!(items.len() >= 3);
        assert!(matches!(items.last(), Some(Ok(Delta::Finish { .. }))));
    }
}
