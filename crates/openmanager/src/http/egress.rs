//! Counts the bytes of every HTTP answer per route group for the egress view (`/api/budget`
//! `egress.byRoute`): the body as the compression layer emits it and the status line and headers.
//! It sits outside compression, so what it counts is what goes to the socket, chunk framing aside.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::state::AppState;
use crate::budget::egress::{EgressMeter, route_group};

/// A response body that adds each chunk to its route group's count as it is sent.
struct Counted {
    inner: Body,
    group: &'static str,
    meter: Arc<EgressMeter>,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.meter.add_route(self.group, data.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The bytes of a response head: "HTTP/1.1 200 OK\r\n", each "name: value\r\n", and the blank line.
pub fn head_bytes(headers: &axum::http::HeaderMap) -> u64 {
    (17 + headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum::<usize>() + 2) as u64
}

pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let group = route_group(req.uri().path());
    let res = next.run(req).await;
    let meter = state.budget.egress.clone();
    meter.add_route(group, head_bytes(res.headers()));
    let (parts, body) = res.into_parts();
    Response::from_parts(parts, Body::new(Counted { inner: body, group, meter }))
}
