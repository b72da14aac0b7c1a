//! The embedded web dashboard: `GET /` (the page) and `GET /assets/{version}/{*path}` (its scripts,
//! styles and vendored uPlot), public like health. The files live in `crates/openmanager/dashboard/`;
//! rust-embed reads them from disk in debug builds and embeds them in release builds.
//!
//! Caching: the page is `no-cache` and names its assets under a version derived from every file's
//! hash, so an asset URL never changes meaning and can be cached for a year; a stale page asking for
//! an older version still gets today's file, but only revalidated. Every answer carries a weak ETag
//! (weak because the compression layer may re-encode the body) and `If-None-Match` gives 304.
//!
//! Assets are served precompressed (brotli at quality 11, else gzip at level 9), each file
//! compressed once and kept, so no request pays for compression and every byte saved is saved for
//! every visitor; the compression layer leaves answers that already have a `Content-Encoding` alone.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use super::coding::Encoding;
use super::docs::Docs;
use super::state::AppState;

#[derive(RustEmbed)]
#[folder = "dashboard/"]
struct Assets;

/// Endpoints the page only uses when the server has them, by the feature name the page reads. The
/// page learns which exist from a `<meta>` tag instead of probing: a probe's 404 would be logged to
/// the browser console as an error.
const OPTIONAL: [(&str, &str); 6] = [
    ("analyze", "POST /api/ai/analyze"),
    ("alerts", "GET /api/alerts"),
    ("rules", "GET /api/alerts/rules"),
    ("silences", "GET /api/alerts/silences"),
    ("channels", "GET /api/notifications/channels"),
    ("budget", "GET /api/budget"),
];

const INDEX: &str = "index.html";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/index.html", get(index)).route("/assets/{version}/{*path}", get(asset))
}

/// The first 12 hex digits of a hash over every file's path and hash: changes whenever any file does.
fn compute_version() -> String {
    let mut names: Vec<String> = Assets::iter().map(|n| n.into_owned()).collect();
    names.sort();
    let mut h = Sha256::new();
    for name in names {
        if let Some(file) = Assets::get(&name) {
            h.update(name.as_bytes());
            h.update(file.metadata.sha256_hash());
        }
    }
    hex::encode(&h.finalize()[..6])
}

/// Embedded files never change in a release build; in a debug build they are read from disk, so the
/// version follows edits.
fn version() -> String {
    static CACHED: OnceLock<String> = OnceLock::new();
    if cfg!(debug_assertions) {
        return compute_version();
    }
    CACHED.get_or_init(compute_version).clone()
}

/// The page: `{{v}}` becomes the asset version and `{{features}}` the optional endpoints present.
async fn index(Extension(docs): Extension<Arc<Docs>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let Some(file) = Assets::get(INDEX) else {
        return super::docs::not_found(Extension(docs), method, uri).await.into_response();
    };
    let endpoints = &docs.endpoints;
    let features: Vec<&str> =
        OPTIONAL.iter().filter(|(_, ep)| endpoints.iter().any(|e| e == ep)).map(|(name, _)| *name).collect();
    let body =
        String::from_utf8_lossy(&file.data).replace("{{v}}", &version()).replace("{{features}}", &features.join(" "));
    let etag = format!("W/\"{}\"", hex::encode(&Sha256::digest(body.as_bytes())[..8]));
    respond(&headers, "text/html; charset=utf-8", "no-cache", &etag, Body::from(body))
}

async fn asset(
    Extension(docs): Extension<Arc<Docs>>,
    Path((ver, path)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // The page is only served rendered, at `/`. rust-embed already refuses to leave its folder when it
    // reads from disk (debug builds); refusing `..` here too costs nothing.
    let safe = path != INDEX && !path.split('/').any(|s| s == ".." || s.is_empty());
    let file = if safe { Assets::get(&path) } else { None };
    let Some(file) = file else {
        return super::docs::not_found(Extension(docs), method, uri).await.into_response();
    };
    let cache = if ver == version() { IMMUTABLE } else { "no-cache" };
    let hash = file.metadata.sha256_hash();
    let etag = format!("W/\"{}\"", hex::encode(&hash[..8]));
    let Some(encoding) = super::coding::preferred(&headers) else {
        // Borrowed from the binary in release builds: served without a copy.
        return respond(&headers, content_type(&path), cache, &etag, Body::from(file.data));
    };
    let packed = precompressed(&path, hash, &file.data);
    let (name, data) = match encoding {
        Encoding::Br => ("br", packed.br.clone()),
        Encoding::Gzip => ("gzip", packed.gzip.clone()),
    };
    let mut res = respond(&headers, content_type(&path), cache, &etag, Body::from(data));
    if res.status() == StatusCode::OK {
        res.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    res.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

struct Packed {
    br: bytes::Bytes,
    gzip: bytes::Bytes,
}

/// Compressed forms by path, with the content hash they were made from.
type PackedFiles = Mutex<HashMap<String, ([u8; 32], Arc<Packed>)>>;

/// A file's brotli and gzip forms, made on first use and kept (one entry per file and content, so
/// the set is bounded by the embedded files; in debug builds an edited file replaces its entry).
fn precompressed(path: &str, hash: [u8; 32], data: &[u8]) -> Arc<Packed> {
    static PACKED: OnceLock<PackedFiles> = OnceLock::new();
    let map = PACKED.get_or_init(Mutex::default);
    if let Some((h, p)) = map.lock().get(path)
        && *h == hash
    {
        return p.clone();
    }
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        let _ = w.write_all(data);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(data);
    let gzip = gz.finish().unwrap_or_default();
    let packed = Arc::new(Packed { br: br.into(), gzip: gzip.into() });
    map.lock().insert(path.to_owned(), (hash, packed.clone()));
    packed
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("txt" | "md") | None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

/// True when `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let mine = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || opaque(t) == mine)
}

/// The Content-Security-Policy: only this origin, no inline script or style, WebSockets to this host.
/// The host comes from the request, so it is used only when it looks like a host name.
fn csp(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)));
    let ws = host.map(|h| format!(" ws://{h} wss://{h}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'{ws}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn respond(headers: &HeaderMap, content_type: &'static str, cache: &'static str, etag: &str, body: Body) -> Response {
    let status = if not_modified(headers, etag) { StatusCode::NOT_MODIFIED } else { StatusCode::OK };
    let mut res = if status == StatusCode::OK { body.into_response() } else { status.into_response() };
    let h = res.headers_mut();
    if status == StatusCode::OK {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&csp(headers)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_lists() {
        let etag = "W/\"abc\"";
        assert!(not_modified(&with(header::IF_NONE_MATCH, "W/\"abc\""), etag));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "\"abc\""), etag));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "\"x\", W/\"abc\""), etag));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "*"), etag));
        assert!(!not_modified(&with(header::IF_NONE_MATCH, "\"abcd\""), etag));
        assert!(!not_modified(&HeaderMap::new(), etag));
    }

    #[test]
    fn assets_go_precompressed_in_the_best_accepted_coding() {
        let data = b"function f() { return 1; }\n".repeat(50);
        let p = precompressed("x.js", [1; 32], &data);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &p.br[..], &mut out).unwrap();
        assert_eq!(out, data);
        let mut gz = flate2::read::GzDecoder::new(&p.gzip[..]);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut gz, &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn csp_names_the_host_only_when_it_looks_like_one() {
        let good = csp(&with(header::HOST, "127.0.0.1:8080"));
        assert!(good.contains("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;"), "{good}");
        let bad = csp(&with(header::HOST, "evil.com; script-src *"));
        assert!(bad.contains("connect-src 'self';"), "{bad}");
        assert!(!bad.contains("evil"), "{bad}");
    }

    #[test]
    fn the_page_and_its_assets_are_embedded() {
        assert!(Assets::get(INDEX).is_some());
        let page =
            String::from_utf8_lossy(&Assets::get(INDEX).map(|f| f.data.into_owned()).unwrap_or_default()).into_owned();
        // Every asset the page names exists.
        for part in page.split("assets/{{v}}/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(Assets::get(name).is_some(), "index.html names a missing asset {name}");
        }
        assert!(!page.contains("<script>") && !page.contains(" style="), "no inline script or style (CSP)");
        assert_eq!(version().len(), 12);
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("js/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("vendor/LICENSE"), "text/plain; charset=utf-8");
    }
}
