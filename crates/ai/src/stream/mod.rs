//! Streams: neutral streams of deltas (SSE parsing shared by the remote providers, replay of
//! finished answers: `deltas`) and the router's streamed answers (fail-over until the first delta,
//! then pass-through; cached answers replayed: `answer`).

mod answer;
mod deltas;

pub use answer::{AiStream, StreamEvent};
pub(crate) use deltas::{ChunkParser, sse_stream};
pub use deltas::{DeltaStream, replay};
