//! End-to-end test of Compression Dictionary Transport (RFC 9842) on the polled reads: a client
//! that takes `dcb` polls twice, naming the first answer as its dictionary, and the second answer
//! decodes (with the dictionary attached raw, as browsers do) to the same JSON as a plain request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;

use common::Server;
use sha2::{Digest, Sha256};

/// What Chromium lists once it holds a dictionary for the URL, and before (it must not list the
/// dictionary codings without one, RFC 9842 section 6.1).
const CHROMIUM: &str = "gzip, deflate, br, zstd, dcb, dcz";
const CHROMIUM_FIRST: &str = "gzip, deflate, br, zstd";
/// The client hint Chromium sends in a secure context (the only place it keeps dictionaries).
const CH_UA: &str = "\"Chromium\";v=\"130\", \"Not?A_Brand\";v=\"99\"";

fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            s.push(if i <= c.len() { T[((n >> (18 - 6 * i)) & 63) as usize] as char } else { '=' });
        }
    }
    s
}

fn available(dictionary: &[u8]) -> String {
    format!(":{}:", b64(&Sha256::digest(dictionary)))
}

fn unbrotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(body, 4096).read_to_end(&mut out).unwrap();
    out
}

/// The dcb stream's header names the dictionary; the rest is brotli against it as a raw prefix.
fn undcb(dictionary: &[u8], body: &[u8]) -> Vec<u8> {
    assert_eq!(body[..4], [0xff, 0x44, 0x43, 0x42]);
    assert_eq!(body[4..36], Sha256::digest(dictionary)[..]);
    let mut d = brotli::reader::Decompressor::new(&body[36..], 4096);
    assert!(d.attach_dictionary(dictionary.to_vec().into()));
    let mut out = Vec::new();
    d.read_to_end(&mut out).unwrap();
    out
}

/// The JSON without its time of answering (as the ETag sees it).
fn data(body: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v.as_object_mut().unwrap().remove("timestamp");
    if let Some(d) = v["data"].as_object_mut() {
        d.remove("timestamp");
    }
    v
}

#[tokio::test]
async fn a_second_poll_comes_as_dcb_against_the_first_and_decodes_to_the_plain_answer() {
    // Servers registered by hand: the simulated ones stamp every answer with its own time, so no two
    // answers would carry the same data to compare.
    let s =
        Server::builder().config("[simulation]\nenabled = false\n[fleet]\nmonitor_self = false\n").start_async().await;
    for (i, kind) in ["web", "database", "cache", "api"].iter().enumerate() {
        let body = serde_json::json!({"name": format!("{kind}-{i}"), "ip": format!("10.0.0.{}", i + 1), "type": kind});
        let res = s.client().post(s.url("/api/servers")).bearer_auth(common::ADMIN_TOKEN).json(&body).send().await;
        assert!(res.unwrap().status().is_success());
    }
    // A client that is not a browser and lists no dcb is left as it was.
    let curl = s.get_auth("/api/servers").header("accept-encoding", "br").send().await.unwrap();
    assert!(curl.headers().get("use-as-dictionary").is_none());
    assert_eq!(curl.headers()["cache-control"], "private, no-cache");
    assert_eq!(curl.headers()["vary"], "accept-encoding");

    // Firefox and Safari: a fetch with the same codings, but no client hints and no dictionaries.
    // Not offered one, so they keep the tag, and an unchanged answer is a 304.
    let firefox = || {
        s.get_auth("/api/servers")
            .header("accept-encoding", CHROMIUM_FIRST)
            .header("sec-fetch-mode", "cors")
            .header("sec-fetch-site", "cross-site")
    };
    let ff = firefox().send().await.unwrap();
    assert!(ff.headers().get("use-as-dictionary").is_none());
    assert_eq!(ff.headers()["cache-control"], "private, no-cache");
    assert_eq!(ff.headers()["vary"], "accept-encoding");
    let tag = ff.headers()["etag"].clone();
    let again = firefox().header("if-none-match", tag).send().await.unwrap();
    assert_eq!(again.status(), 304, "the registered servers' data does not move");

    // Chromium's first poll: no dictionary yet, so no dcb listed; it is offered one.
    let first = s
        .get_auth("/api/servers")
        .header("accept-encoding", CHROMIUM_FIRST)
        .header("sec-fetch-mode", "cors")
        .header("sec-ch-ua", CH_UA)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let h = first.headers().clone();
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(h["use-as-dictionary"], "match=\"/api/servers\"");
    // `*` alone (compression's own `accept-encoding` is dropped: `*` covers it): no cache reuses
    // it without asking the hub.
    let vary: Vec<_> = h.get_all("vary").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(vary, ["*"]);
    // Chromium keeps no `no-cache` answer as a dictionary; the window is its life as one.
    assert_eq!(h["cache-control"], "max-age=0, stale-while-revalidate=120");
    // No browser sends a `Vary: *` answer's tag back, so it has none.
    assert!(h.get("etag").is_none(), "an answer offered as a dictionary carries no ETag");
    let br_len = first.content_length().unwrap();
    let mut dictionary = unbrotli(&first.bytes().await.unwrap());

    // Poll until a dcb answer and a plain one carry the same data (bounded; the registered servers'
    // data does not move), compared whole. Each round keeps the newest answer, as a browser does.
    let (decoded, plain, dcb_len) =
        common::poll("a dcb answer and a plain one of the same data", common::WAIT, async || {
            let res = s
                .get_auth("/api/servers")
                .header("accept-encoding", CHROMIUM)
                .header("sec-fetch-mode", "cors")
                .header("sec-ch-ua", CH_UA)
                .header("available-dictionary", available(&dictionary))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-encoding"], "dcb");
            assert_eq!(res.headers()["use-as-dictionary"], "match=\"/api/servers\"");
            assert_eq!(res.headers()["vary"], "*");
            assert!(res.headers().get("etag").is_none());
            let body = res.bytes().await.unwrap();
            let decoded = undcb(&dictionary, &body);
            dictionary = decoded.clone();
            let plain = s.get_auth("/api/servers").header("accept-encoding", "identity").send().await.unwrap();
            assert!(plain.headers().get("use-as-dictionary").is_none(), "only to clients that take dcb");
            assert_eq!(plain.headers()["cache-control"], "private, no-cache");
            let plain = plain.bytes().await.unwrap();
            (data(&decoded) == data(&plain)).then(|| (decoded, plain, body.len() as u64))
        })
        .await;
    assert_eq!(data(&decoded), data(&plain));
    assert!(dcb_len < br_len, "dcb {dcb_len} bytes, br {br_len}");

    // A dictionary the hub does not hold: the usual br, offered as the next dictionary.
    let unknown = s
        .get_auth("/api/servers")
        .header("accept-encoding", CHROMIUM)
        .header("available-dictionary", available(b"never sent"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.headers()["content-encoding"], "br");
    assert!(unknown.headers().contains_key("use-as-dictionary"));
    serde_json::from_slice::<serde_json::Value>(&unbrotli(&unknown.bytes().await.unwrap())).unwrap();
}
