//! Compression Dictionary Transport (RFC 9842) on the polled reads (`etag::polled`): the previous
//! answer of a path is the dictionary for the next. A poll's answer changes every time (live
//! values), so `ETag` rarely saves it, but it differs from the last one in a few numbers: sent as
//! `dcb` against the answer the client already holds it is a few dozen bytes, not 1.5 KB of br.
//!
//! Who is offered a dictionary: a client whose `Accept-Encoding` lists `dcb`, and a fetch from
//! Chromium (`Sec-Fetch-Mode` and `Sec-CH-UA`, `wire::keeps_dictionaries`). The second is needed
//! to start at all: a client must not list `dcb` while it holds no dictionary (RFC 9842 section
//! 6.1), so Chromium's first poll says only `gzip, deflate, br, zstd`. Other clients (curl, SDKs,
//! agents, and Firefox and Safari, which keep no dictionaries) are untouched: they keep their
//! `ETag` and 304s and pay no header bytes for it. An offered answer carries
//! `Use-As-Dictionary: match="<path>"` and is kept in a small bounded store (`store`); when a
//! request lists `dcb` and its `Available-Dictionary` names an answer still kept for that path,
//! the new answer goes out as `dcb` against it; otherwise as before (br or gzip by the compression
//! layer outside). Both carry `Vary: *` (see `VARY`).
//!
//! It sits inside compression (so it sees the JSON, and a `dcb` answer is left alone there) and
//! outside the ETag layer (so a 304 passes, and the data's tag is the same in every encoding).

pub mod store;
pub mod wire;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;

use super::state::AppState;
use store::{Dictionaries, Hash};

/// Brotli quality for `dcb`, as for `br`: on two `/api/servers` answers 5 s apart (8.5 KB, default
/// fleet) qualities 2, 4, 5, 6, 7, 9, 10, 11 gave 718, 573, 394, 404, 402, 404, 356, 343 bytes;
/// 10 and 11 took 30 and 250 times as long as 5.
const QUALITY: u32 = 5;

/// Chromium does not keep an answer marked `no-cache` (nor `no-store`, `must-revalidate`) as a
/// dictionary; RFC 9842 wants it fresh or within `stale-while-revalidate`, whose window is how long
/// the browser may use it as a dictionary: 120 s covers polls at 5 s and a hidden tab whose timers
/// the browser slowed to once a minute.
/// No `private`: these answers are to requests with credentials, which a shared cache does not
/// keep unless told to (RFC 9111 section 3.5), so the word would cost 9 bytes on every poll for
/// nothing.
const DICTIONARY_CACHE: HeaderValue = HeaderValue::from_static("max-age=0, stale-while-revalidate=120");
/// `*`, not `accept-encoding, available-dictionary`: with a `stale-while-revalidate` window Chromium
/// answered a poll's `fetch()` from its cache with the previous answer (the browser test saw the
/// same request id twice), so the web app would show data one poll old. `Vary: *` says the answer
/// depends on more than the request shows (here: the dictionary the browser adds below its cache),
/// so no cache reuses it without asking (RFC 9110 section 12.5.5); Chromium still keeps it as a
/// dictionary (the browser test checks both). It also covers `Accept-Encoding` and
/// `Available-Dictionary`, in 34 fewer bytes. The cost: a browser sends no `If-None-Match` for it,
/// so an unchanged answer is a `dcb` of a few dozen bytes instead of a 304, and an answer offered
/// as a dictionary carries no `ETag` (27 bytes no browser would send back).
const VARY: HeaderValue = HeaderValue::from_static("*");
const DCB: HeaderValue = HeaderValue::from_static("dcb");

pub async fn transport(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let takes_dcb = wire::accepts(req.headers(), "dcb");
    let browser = wire::keeps_dictionaries(req.headers());
    if !super::etag::polled(req.method(), req.uri().path()) || !(takes_dcb || browser) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let held = if takes_dcb { wire::available_dictionary(req.headers()) } else { None };
    let res = next.run(req).await;
    answer(&state.dictionaries, &path, held, res).await
}

/// `Vary: *` alone when an answer carries it: `*` already says every request header may matter
/// (RFC 9110 section 12.5.5), so a `Vary: accept-encoding` the compression layer added beside it
/// says nothing more and costs its bytes on every poll.
pub async fn vary_star<B>(mut res: Response<B>) -> Response<B> {
    let h = res.headers_mut();
    if h.get_all(header::VARY).iter().count() > 1 && h.get_all(header::VARY).iter().any(|v| v.as_bytes() == b"*") {
        h.insert(header::VARY, VARY);
    }
    res
}

/// The answer to a client that may keep dictionaries: offered as its next one, and compressed
/// against the one it holds (`held`, only when it lists `dcb`) when we still keep that.
async fn answer(dictionaries: &Dictionaries, path: &str, held: Option<Hash>, res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    let h = &mut parts.headers;
    h.insert(header::VARY, VARY);
    if h.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("no-cache")) {
        h.insert(header::CACHE_CONTROL, DICTIONARY_CACHE);
    }
    let Some(offer) = wire::use_as_dictionary(path) else { return Response::from_parts(parts, body) };
    let size = body.size_hint().exact();
    let plain = parts.status == StatusCode::OK && !parts.headers.contains_key(header::CONTENT_ENCODING);
    // Bodies the ETag layer did not buffer (too large) pass as they are: nothing is read twice.
    if !plain || size.is_none_or(|n| n > dictionaries.entry_bytes() as u64) {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, dictionaries.entry_bytes()).await else {
        return super::error::envelope(StatusCode::SERVICE_UNAVAILABLE, "the answer could not be read").into_response();
    };
    // Look up before keeping the new answer: keeping it may push the held one out.
    let dictionary = held.and_then(|h| dictionaries.get(path, &h).map(|d| (h, d)));
    if dictionaries.remember(path, &bytes).is_none() {
        return Response::from_parts(parts, Body::from(bytes));
    }
    parts.headers.insert("use-as-dictionary", offer);
    parts.headers.remove(header::ETAG);
    if let Some((hash, dictionary)) = dictionary
        && let Some(encoded) = wire::encode_dcb(&dictionary, &hash, &bytes, QUALITY)
    {
        parts.headers.insert(header::CONTENT_ENCODING, DCB);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(encoded));
    }
    Response::from_parts(parts, Body::from(bytes))
}
