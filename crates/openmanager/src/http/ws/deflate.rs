//! `permessage-deflate` (RFC 7692) for `/ws`. tungstenite (under axum's WebSocket) has no extension
//! support and refuses frames with RSV1 set, and the maintained crates that do (yawc) would replace the
//! whole WebSocket stack, its limits and its tests. So the extension is done here, in two small parts
//! around tungstenite:
//!
//! - outgoing: a message is deflated once (the hub compresses each broadcast once for every client)
//!   and sent as a raw frame with RSV1 set. We always agree `server_no_context_takeover`, so one
//!   compressed message is valid on every connection and no connection keeps a compressor (a
//!   per-connection 32 KiB window and hash tables would cost hundreds of MB for a thousand browsers).
//! - incoming: [`DeflateIo`] sits between the socket and tungstenite and inflates the client's
//!   compressed frames (we agree `client_no_context_takeover`, so each message inflates alone) into
//!   plain frames before tungstenite sees them. Client messages are small; a compressed one larger
//!   than the message limit, inflated or not, fails the connection.
//!
//! [`DeflateIo`] also counts the bytes that cross the socket, after compression, for the egress view.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The `Sec-WebSocket-Extensions` answer when a client offered the extension in a form we accept.
pub const AGREED: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// Messages shorter than this go uncompressed (RSV1 is per message): deflate's own framing would
/// eat most of the gain.
pub const MIN_DEFLATE: usize = 96;

/// The empty stored block a sync flush ends with; RFC 7692 removes it from every message.
const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// Whether any `permessage-deflate` offer among the client's extensions can be accepted.
pub fn offered(headers: &HeaderMap) -> bool {
    headers
        .get_all("sec-websocket-extensions")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(acceptable)
}

fn acceptable(offer: &str) -> bool {
    let mut parts = offer.split(';').map(str::trim);
    if parts.next() != Some("permessage-deflate") {
        return false;
    }
    parts.all(|p| {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (p, None),
        };
        match name {
            "server_no_context_takeover" | "client_no_context_takeover" => value.is_none(),
            // The client may use a smaller window; we inflate with the largest, which reads any.
            "client_max_window_bits" => value.is_none_or(|v| matches!(v.parse::<u8>(), Ok(8..=15))),
            // Our compressor always uses a 32 KiB window: a smaller limit cannot be honoured.
            "server_max_window_bits" => value == Some("15"),
            _ => false,
        }
    })
}

thread_local! {
    /// One compressor per worker thread, reset for every message: no per-connection state.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), false));
}

/// The message body as RFC 7692 sends it (raw DEFLATE, sync-flushed, tail removed), or `None` when
/// compressing does not make it smaller.
pub fn deflate(data: &[u8]) -> Option<Bytes> {
    if data.len() < MIN_DEFLATE {
        return None;
    }
    COMPRESSOR.with_borrow_mut(|c| {
        c.reset();
        let mut out = Vec::with_capacity(data.len() / 3 + 64);
        loop {
            let done = c.total_in() as usize;
            c.compress_vec(&data[done..], &mut out, FlushCompress::Sync).ok()?;
            if c.total_in() as usize == data.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(1024));
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        (out.len() < data.len()).then(|| Bytes::from(out))
    })
}

/// Inflates one client message, refusing output beyond `limit` bytes.
pub fn inflate(data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, format!("permessage-deflate: {m}"));
    let mut input = Vec::with_capacity(data.len() + TAIL.len());
    input.extend_from_slice(data);
    input.extend_from_slice(&TAIL);
    let mut d = Decompress::new(false);
    let mut out = Vec::with_capacity((data.len() * 4 + 64).min(limit + 1));
    loop {
        let (before_in, before_out) = (d.total_in(), d.total_out());
        let done = d.total_in() as usize;
        d.decompress_vec(&input[done..], &mut out, FlushDecompress::Sync).map_err(|e| bad(&e.to_string()))?;
        if out.len() > limit {
            return Err(bad("message larger than the limit"));
        }
        if d.total_in() as usize == input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
        if out.len() == out.capacity() {
            out.reserve((out.capacity().max(1024)).min(limit + 1 - out.len()).max(1));
        } else if d.total_in() == before_in && d.total_out() == before_out {
            return Err(bad("truncated data"));
        }
    }
}

/// Bytes that crossed one connection's socket (what the kernel was handed and gave back).
#[derive(Debug, Default)]
pub struct Wire {
    pub sent: AtomicU64,
    pub received: AtomicU64,
}

/// A compressed message being collected across its fragments.
struct Collecting {
    opcode: u8,
    data: Vec<u8>,
}

/// The socket under tungstenite: counts bytes both ways and, when the extension was agreed, turns the
/// client's compressed frames into plain ones. Everything it holds is bounded by the message limit.
pub struct DeflateIo<S> {
    inner: S,
    deflate: bool,
    max_message: usize,
    /// Bytes read from the socket and not yet looked at.
    raw: BytesMut,
    /// Bytes ready for tungstenite.
    ready: BytesMut,
    /// Payload bytes of a plain frame still to pass through unchanged.
    pass: u64,
    collecting: Option<Collecting>,
    wire: Arc<Wire>,
}

enum Step {
    Progress,
    NeedMore,
}

impl<S> DeflateIo<S> {
    pub fn new(inner: S, deflate: bool, max_message: usize, wire: Arc<Wire>) -> Self {
        Self {
            inner,
            deflate,
            max_message,
            raw: BytesMut::new(),
            ready: BytesMut::new(),
            pass: 0,
            collecting: None,
            wire,
        }
    }

    /// Moves what can be moved from `raw` to `ready`.
    fn step(&mut self) -> io::Result<Step> {
        let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, format!("permessage-deflate: {m}"));
        if self.pass > 0 {
            let n = (self.pass.min(self.raw.len() as u64)) as usize;
            if n == 0 {
                return Ok(Step::NeedMore);
            }
            self.ready.extend_from_slice(&self.raw.split_to(n));
            self.pass -= n as u64;
            return Ok(Step::Progress);
        }
        let Some((header_len, len, mask)) = parse_header(&self.raw) else { return Ok(Step::NeedMore) };
        let (b0, _) = (self.raw[0], self.raw[1]);
        let (fin, rsv1, opcode) = (b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x0f);
        let control = opcode & 0x08 != 0;
        let compressed = !control && (rsv1 || (opcode == 0 && self.collecting.is_some()));
        if !compressed {
            // Plain frames (and anything malformed, which tungstenite then refuses) pass through.
            self.ready.extend_from_slice(&self.raw.split_to(header_len));
            self.pass = len;
            return Ok(Step::Progress);
        }
        let collected = self.collecting.as_ref().map_or(0, |c| c.data.len());
        if len > self.max_message as u64 || collected as u64 + len > self.max_message as u64 {
            return Err(bad("compressed message larger than the limit"));
        }
        let total = header_len + len as usize;
        if self.raw.len() < total {
            self.raw.reserve(total - self.raw.len());
            return Ok(Step::NeedMore);
        }
        let frame = self.raw.split_to(total);
        let mut payload = frame[header_len..].to_vec();
        if let Some(key) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        match (&mut self.collecting, opcode) {
            (None, 0) => return Err(bad("continuation without a message")),
            (None, op) => self.collecting = Some(Collecting { opcode: op, data: payload }),
            (Some(c), 0) => c.data.extend_from_slice(&payload),
            (Some(_), _) => return Err(bad("new message inside a fragmented one")),
        }
        if fin && let Some(c) = self.collecting.take() {
            let plain = inflate(&c.data, self.max_message)?;
            // Re-framed unfragmented, masked with a zero key (payload unchanged) as clients must mask.
            self.ready.extend_from_slice(&[0x80 | c.opcode]);
            let n = plain.len();
            if n < 126 {
                self.ready.extend_from_slice(&[0x80 | n as u8]);
            } else if n <= u16::MAX as usize {
                self.ready.extend_from_slice(&[0x80 | 126]);
                self.ready.extend_from_slice(&(n as u16).to_be_bytes());
            } else {
                self.ready.extend_from_slice(&[0x80 | 127]);
                self.ready.extend_from_slice(&(n as u64).to_be_bytes());
            }
            self.ready.extend_from_slice(&[0, 0, 0, 0]);
            self.ready.extend_from_slice(&plain);
        }
        Ok(Step::Progress)
    }
}

/// A frame header at the start of `b`: (header length, payload length, masking key).
fn parse_header(b: &[u8]) -> Option<(usize, u64, Option<[u8; 4]>)> {
    if b.len() < 2 {
        return None;
    }
    let masked = b[1] & 0x80 != 0;
    let (mut at, len) = match b[1] & 0x7f {
        126 => (4, u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as u64),
        127 => (10, u64::from_be_bytes(b.get(2..10)?.try_into().ok()?)),
        n => (2, n as u64),
    };
    let mask = if masked {
        let key: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    (b.len() >= at).then_some((at, len, mask))
}

impl<S: AsyncRead + Unpin> AsyncRead for DeflateIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.deflate {
            let before = buf.filled().len();
            let res = Pin::new(&mut this.inner).poll_read(cx, buf);
            this.wire.received.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
            return res;
        }
        loop {
            if !this.ready.is_empty() {
                let n = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if let Step::Progress = this.step()? {
                continue;
            }
            let mut chunk = [0u8; 4096];
            let mut rb = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    this.wire.received.fetch_add(rb.filled().len() as u64, Ordering::Relaxed);
                    this.raw.extend_from_slice(rb.filled());
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeflateIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = res {
            self.wire.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn offers_we_can_and_cannot_honour() {
        assert!(acceptable("permessage-deflate"));
        assert!(acceptable("permessage-deflate; client_max_window_bits"));
        assert!(acceptable("permessage-deflate; client_max_window_bits=10; server_no_context_takeover"));
        assert!(!acceptable("permessage-deflate; server_max_window_bits=10"));
        assert!(!acceptable("permessage-deflate; x-unknown"));
        assert!(!acceptable("x-webkit-deflate-frame"));
    }

    #[test]
    fn deflate_and_inflate_round_trip_and_inflate_is_bounded() {
        let text =
            r#"{"type":"server_update","data":{"servers":[{"id":"web-01","cpu":41.3},{"id":"web-02","cpu":41.3}]}}"#
                .repeat(20);
        let d = deflate(text.as_bytes()).unwrap();
        assert!(d.len() < text.len() / 4);
        assert_eq!(inflate(&d, 1 << 20).unwrap(), text.as_bytes());
        assert!(inflate(&d, 100).is_err(), "past the limit");
        assert!(deflate(b"short").is_none());
    }

    /// A client frame: masked, optionally compressed and split into fragments.
    fn client_frames(text: &[u8], compress: bool, fragments: usize) -> Vec<u8> {
        let body = if compress { deflate(text).unwrap().to_vec() } else { text.to_vec() };
        let size = body.len().div_ceil(fragments);
        let chunks: Vec<&[u8]> = body.chunks(size).collect();
        let mut out = Vec::new();
        let key = [1u8, 2, 3, 4];
        for (i, c) in chunks.iter().enumerate() {
            let fin = if i + 1 == chunks.len() { 0x80 } else { 0 };
            let op = if i == 0 { 1 } else { 0 };
            let rsv1 = if compress && i == 0 { 0x40 } else { 0 };
            out.push(fin | rsv1 | op);
            assert!(c.len() < 126);
            out.push(0x80 | c.len() as u8);
            out.extend_from_slice(&key);
            out.extend(c.iter().enumerate().map(|(j, b)| b ^ key[j % 4]));
        }
        out
    }

    #[tokio::test]
    async fn compressed_client_frames_reach_tungstenite_plain() {
        let text = br#"{"type":"subscribe","topics":["overview","alerts"],"live":"web-01","serverIds":["web-01","web-02","web-03"]}"#;
        for fragments in [1, 3] {
            let mut bytes = client_frames(text, true, fragments);
            bytes.extend(client_frames(b"plain", false, 1));
            let wire = Arc::new(Wire::default());
            let mut io = DeflateIo::new(std::io::Cursor::new(bytes.clone()), true, 4096, wire.clone());
            let mut out = Vec::new();
            io.read_to_end(&mut out).await.unwrap();
            let (h, len, _) = parse_header(&out).unwrap();
            assert_eq!(out[0], 0x81, "final text frame without RSV1");
            assert_eq!(&out[h..h + len as usize], text);
            assert!(out.ends_with(&client_frames(b"plain", false, 1)), "plain frames pass unchanged");
            assert_eq!(wire.received.load(Ordering::Relaxed), bytes.len() as u64);
        }
    }

    #[tokio::test]
    async fn an_oversized_compressed_message_fails() {
        let text = vec![b'a'; 10_000];
        let body = deflate(&text).unwrap();
        let mut frame = vec![0xc1, 0x80 | body.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(&body);
        let mut io = DeflateIo::new(std::io::Cursor::new(frame), true, 4096, Arc::default());
        let mut out = Vec::new();
        assert!(io.read_to_end(&mut out).await.is_err());
    }
}
