//! The wire side of Compression Dictionary Transport (RFC 9842): reading `Accept-Encoding` and
//! `Available-Dictionary`, writing `Use-As-Dictionary`, and the `dcb` content encoding (brotli with
//! the dictionary as a raw LZ77 prefix, RFC 9841, behind a 36-byte header naming the dictionary).
//!
//! Only `dcb`: the `brotli` crate, already in the tree for the dashboard's assets and tower-http's
//! `br`, encodes against a raw prefix in pure Rust. `dcz` would need the zstd C library (several
//! hundred KB more in a binary already over its size target) for the same saving: every client
//! that offers `dcz` (Chromium) offers `dcb` too.

use axum::http::{HeaderMap, HeaderValue, header};
use brotli::enc::StandardAlloc;
use brotli::enc::encode::{BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct};

use super::store::Hash;

/// The `dcb` stream's magic: 0xff 'D' 'C' 'B', then the dictionary's SHA-256.
pub const DCB_MAGIC: [u8; 4] = [0xff, 0x44, 0x43, 0x42];

/// `lgwin` 22 (4 MiB), brotli's default: the dictionary and the answer must both fit the window,
/// so `encode_dcb` refuses more than that (the store keeps much smaller answers anyway).
const LGWIN: u32 = 22;
const WINDOW: usize = (1 << LGWIN) - 16;

/// Whether `Accept-Encoding` lists `coding` with a non-zero weight.
pub fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case(coding) && !zero
        },
    )
}

/// Whether a request without `dcb` comes from a browser that may keep a dictionary: a fetch
/// (`Sec-Fetch-Mode`) from Chromium (`Sec-CH-UA`). Chromium keeps dictionaries only in a secure
/// context (HTTPS, or localhost), the only place it sends `Sec-CH-UA` too. Firefox and Safari send
/// `Sec-Fetch-Mode` but keep no dictionaries and send no `Sec-CH-UA`: an offer would cost them
/// their 304s (an offered answer carries `Vary: *` and no `ETag`) for nothing.
pub fn keeps_dictionaries(headers: &HeaderMap) -> bool {
    headers.contains_key("sec-fetch-mode") && headers.contains_key("sec-ch-ua")
}

/// The hash `Available-Dictionary` names: a structured-field byte sequence, `:<base64>:`, of a
/// SHA-256 (RFC 9842 section 2.2). Anything else (another length, bad base64) is no dictionary.
pub fn available_dictionary(headers: &HeaderMap) -> Option<Hash> {
    let v = headers.get("available-dictionary")?.to_str().ok()?.trim();
    let b64 = v.strip_prefix(':')?.strip_suffix(':')?;
    // 32 bytes are 44 base64 characters with one '=' of padding.
    if b64.len() != 44 {
        return None;
    }
    let mut out = [0u8; 33];
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut n = 0;
    for (i, c) in b64.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' if i == 43 => break,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            *out.get_mut(n)? = (bits >> nbits) as u8;
            n += 1;
        }
    }
    if n != 32 || bits & ((1 << nbits) - 1) != 0 {
        return None;
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&out[..32]);
    Some(hash)
}

/// `Use-As-Dictionary: match="<path>"` for an answer at `path`: later requests to the same path
/// may name it. Only plain paths (letters, digits, `/`, `-`, `_`, `.`): those need no escaping as
/// a structured-field string nor as a URL pattern, where `*`, `:` and `{` have meanings.
pub fn use_as_dictionary(path: &str) -> Option<HeaderValue> {
    let plain = path.starts_with('/')
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if !plain {
        return None;
    }
    HeaderValue::from_str(&format!("match=\"{path}\"")).ok()
}

/// `body` as a `dcb` stream against `dictionary` (whose hash is `hash`): the header, then brotli
/// with the dictionary as a raw prefix. `None` when the two exceed the window or the encoder fails
/// (the caller then sends plain br).
pub fn encode_dcb(dictionary: &[u8], hash: &Hash, body: &[u8], quality: u32) -> Option<Vec<u8>> {
    if dictionary.len() + body.len() > WINDOW {
        return None;
    }
    let mut s = BrotliEncoderStateStruct::new(StandardAlloc::default());
    s.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_QUALITY, quality);
    s.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_LGWIN, LGWIN);
    s.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_SIZE_HINT, body.len() as u32);
    s.set_custom_dictionary(dictionary.len(), dictionary);
    let mut out = Vec::with_capacity(36 + body.len() / 4 + 64);
    out.extend_from_slice(&DCB_MAGIC);
    out.extend_from_slice(hash);
    let mut buf = vec![0u8; 16 << 10];
    let (mut avail_in, mut next_in) = (body.len(), 0);
    // Each round emits at least one byte or finishes; a stream longer than the input plus a
    // margin means the encoder is stuck, so the loop is bounded either way.
    for _ in 0..(body.len() / buf.len() + 64) {
        let (mut avail_out, mut next_out) = (buf.len(), 0);
        let ok = s.compress_stream(
            BrotliEncoderOperation::BROTLI_OPERATION_FINISH,
            &mut avail_in,
            body,
            &mut next_in,
            &mut avail_out,
            &mut buf,
            &mut next_out,
            &mut None,
            &mut |_, _, _, _| (),
        );
        if !ok {
            return None;
        }
        out.extend_from_slice(buf.get(..next_out)?);
        if s.is_finished() {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::http::dictionary::store::hash;

    /// Decodes a `dcb` stream the way a browser does (RFC 9841's raw prefix dictionary, the
    /// decoder's `attach_dictionary`, not the older custom-dictionary call).
    fn decode_dcb(dictionary: &[u8], stream: &[u8]) -> Vec<u8> {
        assert_eq!(stream[..4], DCB_MAGIC);
        assert_eq!(stream[4..36], hash(dictionary));
        let mut d = brotli::reader::Decompressor::new(&stream[36..], 4096);
        assert!(d.attach_dictionary(dictionary.to_vec().into()));
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        out
    }

    fn answer(n: u32) -> Vec<u8> {
        let servers: Vec<String> = (0..11)
            .map(|i| {
                format!(
                    r#"{{"id":"web-{i:02}","name":"Web server {i}","os":"Ubuntu 22.04 LTS","location":"us-central1-a","services":[{{"name":"nginx","status":"running","port":80}}],"cpu":{}.{},"memory":{}}}"#,
                    (n * 7 + i) % 100,
                    n % 10,
                    (n + i * 3) % 100
                )
            })
            .collect();
        format!(
            r#"{{"success":true,"data":{{"servers":[{}]}},"timestamp":"2026-12-06T09:{:02}:00Z"}}"#,
            servers.join(","),
            n % 60
        )
        .into_bytes()
    }

    #[test]
    fn a_dcb_answer_decodes_with_its_dictionary_and_is_much_smaller_than_br() {
        let (old, new) = (answer(1), answer(2));
        let stream = encode_dcb(&old, &hash(&old), &new, 5).unwrap();
        assert_eq!(decode_dcb(&old, &stream), new);
        let mut br = Vec::new();
        brotli::CompressorReader::new(&new[..], 4096, 5, 22).read_to_end(&mut br).unwrap();
        assert!(stream.len() < br.len() / 2, "dcb {} bytes, br {}", stream.len(), br.len());
        // Unchanged data: little more than the header.
        let same = encode_dcb(&new, &hash(&new), &new, 5).unwrap();
        assert_eq!(decode_dcb(&new, &same), new);
        assert!(same.len() < 60, "{}", same.len());
    }

    #[test]
    fn a_larger_answer_and_an_empty_dictionary_still_round_trip() {
        let big: Vec<u8> = (0..200).flat_map(answer).collect();
        let small = answer(3);
        let stream = encode_dcb(&small, &hash(&small), &big, 5).unwrap();
        assert_eq!(decode_dcb(&small, &stream), big);
        assert!(encode_dcb(&vec![0; WINDOW], &[0; 32], b"x", 5).is_none());
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn accept_encoding_lists_dcb_unless_weighted_zero() {
        assert!(accepts(&headers(&[("accept-encoding", "gzip, deflate, br, zstd, dcb, dcz")]), "dcb"));
        assert!(accepts(&headers(&[("accept-encoding", "br"), ("accept-encoding", "DCB;q=0.5")]), "dcb"));
        assert!(!accepts(&headers(&[("accept-encoding", "gzip, br, dcz")]), "dcb"));
        assert!(!accepts(&headers(&[("accept-encoding", "dcb;q=0")]), "dcb"));
        assert!(!accepts(&headers(&[("accept-encoding", "xdcb")]), "dcb"));
        assert!(!accepts(&HeaderMap::new(), "dcb"));
    }

    #[test]
    fn only_chromium_fetches_are_taken_to_keep_dictionaries() {
        let fetch = [("sec-fetch-mode", "cors"), ("sec-fetch-site", "cross-site")];
        let chromium = [fetch[0], fetch[1], ("sec-ch-ua", "\"Chromium\";v=\"130\", \"Not?A_Brand\";v=\"99\"")];
        assert!(keeps_dictionaries(&headers(&chromium)));
        // Firefox and Safari: a fetch, no client hints.
        assert!(!keeps_dictionaries(&headers(&fetch)));
        // Client hints without fetch metadata; and curl, with neither.
        assert!(!keeps_dictionaries(&headers(&[chromium[2]])));
        assert!(!keeps_dictionaries(&HeaderMap::new()));
    }

    #[test]
    fn available_dictionary_is_a_byte_sequence_of_a_sha256() {
        let h = hash(b"dictionary");
        // base64 of the hash, as a client writes it.
        let b64 = {
            const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut s = String::new();
            for c in h.chunks(3) {
                let n = (u32::from(c[0]) << 16)
                    | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                    | u32::from(*c.get(2).unwrap_or(&0));
                for i in 0..=c.len() {
                    s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            s + "="
        };
        assert_eq!(available_dictionary(&headers(&[("available-dictionary", &format!(":{b64}:"))])), Some(h));
        assert_eq!(available_dictionary(&headers(&[("available-dictionary", &format!(" :{b64}: "))])), Some(h));
        for bad in [
            b64.clone(),
            format!(":{b64}"),
            format!(":{}:", &b64[1..]),
            format!(":{}:", b64.replace('=', "A")),
            ":!:".into(),
        ] {
            assert_eq!(available_dictionary(&headers(&[("available-dictionary", &bad)])), None, "{bad}");
        }
        assert_eq!(available_dictionary(&HeaderMap::new()), None);
    }

    #[test]
    fn use_as_dictionary_only_for_plain_paths() {
        assert_eq!(use_as_dictionary("/api/servers").unwrap(), "match=\"/api/servers\"");
        assert_eq!(use_as_dictionary("/api/servers/web-01").unwrap(), "match=\"/api/servers/web-01\"");
        assert!(use_as_dictionary("/api/x*").is_none());
        assert!(use_as_dictionary("/api/\"x").is_none());
        assert!(use_as_dictionary("api").is_none());
    }
}
