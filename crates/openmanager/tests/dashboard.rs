//! End-to-end tests of the embedded dashboard against the real binary: the page and its assets are
//! public, typed, cached with ETags (304 on `If-None-Match`), carry the Content-Security-Policy, and
//! do not shadow the API's JSON 404 or its authentication.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, assert_envelope};

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// The asset URLs the page names (`assets/<version>/...`), in order.
fn asset_paths(html: &str) -> Vec<String> {
    html.split("\"assets/").skip(1).map(|rest| format!("/assets/{}", rest.split('"').next().unwrap())).collect()
}

#[tokio::test]
async fn the_page_is_public_html_with_a_strict_csp() {
    let s = Server::builder().start_async().await;
    let res = s.get("/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&res, "cache-control"), "no-cache");
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    let csp = header(&res, "content-security-policy");
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let host = s.addr.to_string();
    assert!(csp.contains(&format!("connect-src 'self' ws://{host} wss://{host};")), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    let etag = header(&res, "etag");
    assert!(etag.starts_with("W/\""), "{etag}");
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(!html.contains("{{"), "placeholders are filled in");
    assert!(html.contains("<meta name=\"openmanager-features\""));
    assert!(!html.contains("<script>") && !html.contains(" style="), "no inline script or style");
    assert!(asset_paths(&html).iter().any(|p| p.ends_with("/js/app.js")), "{html}");

    let again = s.get("/").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn assets_are_typed_cached_and_revalidated() {
    let s = Server::builder().start_async().await;
    let html = s.get("/").send().await.unwrap().text().await.unwrap();
    let paths = asset_paths(&html);
    let script = paths.iter().find(|p| p.ends_with("/js/app.js")).unwrap();
    let style = paths.iter().find(|p| p.ends_with("/style.css")).unwrap();

    let res = s.get(script).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/javascript; charset=utf-8");
    // The URL carries the version, so it may be cached for good.
    assert_eq!(header(&res, "cache-control"), "public, max-age=31536000, immutable");
    let etag = header(&res, "etag");
    assert!(etag.starts_with("W/\"") && etag.len() > 6, "{etag}");
    assert!(res.text().await.unwrap().contains("import"));

    let not_modified = s.get(script).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(header(&not_modified, "etag"), etag);
    assert!(not_modified.bytes().await.unwrap().is_empty());
    // A different tag is a miss.
    let changed = s.get(script).header("if-none-match", "W/\"0000\"").send().await.unwrap();
    assert_eq!(changed.status(), 200);

    let css = s.get(style).send().await.unwrap();
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");
    let vendor = s.get(&script.replace("/js/app.js", "/vendor/uPlot.iife.min.js")).send().await.unwrap();
    assert_eq!(vendor.status(), 200);
    assert_eq!(header(&vendor, "content-type"), "text/javascript; charset=utf-8");

    // A page from an older build gets today's file, but must revalidate it.
    let stale = s.get("/assets/000000000000/js/app.js").send().await.unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(header(&stale, "cache-control"), "no-cache");

    // Compressed for clients that accept it.
    let gz = s.get(script).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(header(&gz, "content-encoding"), "gzip");
}

#[tokio::test]
async fn the_api_keeps_its_json_404_and_its_auth() {
    let s = Server::builder().start_async().await;
    let body = assert_envelope(s.get("/api/nope").send().await.unwrap(), 404, "NOT_FOUND").await;
    assert!(body["availableEndpoints"].as_array().is_some_and(|a| !a.is_empty()), "{body}");
    assert_envelope(s.get("/api/nope").header("accept", "text/html").send().await.unwrap(), 404, "NOT_FOUND").await;
    assert_envelope(s.get("/assets/v/no-such-file.js").send().await.unwrap(), 404, "NOT_FOUND").await;
    // Nothing outside the dashboard's folder (an encoded slash survives URL normalisation).
    assert_envelope(s.get("/assets/v/js/..%2F..%2F..%2FCargo.toml").send().await.unwrap(), 404, "NOT_FOUND").await;
    // The page is only served rendered, at `/`.
    assert_envelope(s.get("/assets/v/index.html").send().await.unwrap(), 404, "NOT_FOUND").await;
    // What the page calls still needs the token.
    assert_envelope(s.get("/api/servers").send().await.unwrap(), 401, "UNAUTHORIZED").await;
    assert_envelope(s.get("/ws").send().await.unwrap(), 401, "UNAUTHORIZED").await;
}
