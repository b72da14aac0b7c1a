//! A TCP listener that holds at most `max` connections: at the limit it stops accepting (new
//! connections wait in the kernel's backlog) instead of taking memory for each. It also stops
//! accepting for good when asked (a hand-over: the successor accepts from the same socket), without
//! closing the connections it has.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub struct BoundedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    stop_accepting: CancellationToken,
}

impl BoundedListener {
    /// `permits` is shared by every worker's listener, so the bound is for the whole process. Once
    /// `stop_accepting` fires, `accept` never returns again; connections already open carry on.
    pub fn new(inner: TcpListener, permits: Arc<Semaphore>, stop_accepting: CancellationToken) -> Self {
        Self { inner, permits, stop_accepting }
    }
}

/// A connection and its permit; the permit returns when the connection is dropped.
pub struct BoundedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl axum::serve::Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let stop = self.stop_accepting.clone();
        tokio::select! {
            // Biased: a connection is never taken from the queue after the stop.
            biased;
            _ = stop.cancelled() => std::future::pending().await,
            accepted = self.accept_bounded() => accepted,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl BoundedListener {
    async fn accept_bounded(&mut self) -> (BoundedStream, SocketAddr) {
        loop {
            // The semaphore is never closed, so acquiring only waits.
            let Ok(permit) = self.permits.clone().acquire_owned().await else { continue };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Small JSON answers should not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    return (BoundedStream { stream, _permit: permit }, addr);
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
