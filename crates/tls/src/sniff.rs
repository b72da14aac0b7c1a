//! Telling a TLS ClientHello from a plain-HTTP request by its first bytes, and the answers for plain
//! HTTP: a redirect to `https://` (on the TLS port or the HTTP port) or an ACME http-01 answer.

use std::net::IpAddr;

use crate::resolver::Challenges;
use crate::settings::is_dns_name;

/// What the first bytes of a connection look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A TLS handshake record (a ClientHello, possibly not all there yet).
    Tls,
    /// An HTTP/1.x request line (or the HTTP/2 prior-knowledge preface).
    PlainHttp,
    /// Neither: refuse the connection.
    Unknown,
    /// Too few bytes to tell (a prefix of a method name): read more.
    Incomplete,
}

/// Request methods recognised as plain HTTP (`PRI` is the HTTP/2 prior-knowledge preface).
const METHODS: [&[u8]; 10] =
    [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE", b"PRI"];

/// Classifies the first bytes received on the TLS port.
pub fn sniff(first: &[u8]) -> Sniffed {
    let Some(&b0) = first.first() else {
        return Sniffed::Incomplete;
    };
    if b0 == 0x16 {
        // TLS record: type 22 (handshake), version 3.x (x <= 4), then a ClientHello (type 1) at byte 5.
        let version_ok = first.get(1).is_none_or(|&b| b == 0x03) && first.get(2).is_none_or(|&b| b <= 0x04);
        let hello = first.get(5).is_none_or(|&b| b == 0x01);
        return if version_ok && hello { Sniffed::Tls } else { Sniffed::Unknown };
    }
    let token_len = first.iter().take_while(|b| b.is_ascii_uppercase()).count();
    match first.get(token_len) {
        Some(b' ') if METHODS.contains(&&first[..token_len]) => Sniffed::PlainHttp,
        None if token_len > 0 && METHODS.iter().any(|m| m.starts_with(first)) => Sniffed::Incomplete,
        _ => Sniffed::Unknown,
    }
}

/// Where a request head ends (`\r\n\r\n`), if it does.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The answer to a plain-HTTP request `head` (request line and headers): `301` to
/// `https://host[:https_port]/path`, or `400` when the request has no usable host.
pub fn redirect_response(head: &[u8], https_port: u16) -> Vec<u8> {
    match redirect_target(head, https_port) {
        Some(location) => {
            let body = format!("Moved to {location}\n");
            format!(
                "HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        None => simple_response("400 Bad Request", "This port speaks HTTPS; the request had no usable Host.\n"),
    }
}

/// The answer on the plain-HTTP port: a pending ACME http-01 challenge for `GET` of its path, else a
/// redirect to HTTPS (never anything else: this port serves no API).
pub fn http_port_response(head: &[u8], https_port: u16, challenges: &Challenges) -> Vec<u8> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    if req.parse(head).is_ok()
        && matches!(req.method, Some("GET") | Some("HEAD"))
        && let Some(body) = req.path.and_then(|p| challenges.http01_response(p))
    {
        return simple_response("200 OK", &body);
    }
    redirect_response(head, https_port)
}

fn simple_response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn redirect_target(head: &[u8], https_port: u16) -> Option<String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    // A head cut short still has its request line and some headers; use what is there.
    let _ = req.parse(head).ok()?;
    let target = req.path?;
    let (from_target, path) = match target.strip_prefix("http://") {
        // absolute-form: http://host[:port]/path
        Some(rest) => {
            let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
            (Some(authority), path)
        }
        None if target.starts_with('/') => (None, target),
        None => (None, "/"),
    };
    let host_header = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok());
    let host = clean_host(from_target.or(host_header)?)?;
    let port = if https_port == 443 { String::new() } else { format!(":{https_port}") };
    // Only visible ASCII goes into the Location header (httparse already refuses CR/LF in paths).
    if !path.bytes().all(|b| b.is_ascii_graphic()) || path.len() > 4096 {
        return None;
    }
    Some(format!("https://{host}{port}{path}"))
}

/// The host part of a Host header (port removed), if it is a DNS name or an IP address.
fn clean_host(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6.parse::<std::net::Ipv6Addr>().ok().map(|ip| format!("[{ip}]"));
    }
    let host =
        raw.rsplit_once(':').map_or(raw, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { raw });
    if host.parse::<IpAddr>().is_ok() || is_dns_name(host) { Some(host.to_ascii_lowercase()) } else { None }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn classifies_first_bytes() {
        assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]), Sniffed::Tls);
        assert_eq!(sniff(&[0x16]), Sniffed::Tls); // the rest of the record is the handshake's business
        assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x02]), Sniffed::Unknown); // not a ClientHello
        assert_eq!(sniff(&[0x16, 0x09]), Sniffed::Unknown);
        assert_eq!(sniff(b"GET / HTTP/1.1\r\n"), Sniffed::PlainHttp);
        assert_eq!(sniff(b"PRI * HTTP/2.0\r\n"), Sniffed::PlainHttp);
        assert_eq!(sniff(b"OPTI"), Sniffed::Incomplete);
        assert_eq!(sniff(b""), Sniffed::Incomplete);
        assert_eq!(sniff(b"GETX / HTTP/1.1"), Sniffed::Unknown);
        assert_eq!(sniff(b"SSH-2.0-OpenSSH_9.6\r\n"), Sniffed::Unknown);
        assert_eq!(sniff(&[0x80, 0x2e, 0x01]), Sniffed::Unknown); // SSLv2-style hello
        assert_eq!(sniff(&[0xff; 64]), Sniffed::Unknown);
    }

    fn text(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn redirects_to_https_with_the_path() {
        let r = text(redirect_response(b"GET /api/health?x=1 HTTP/1.1\r\nHost: 104.154.205.25:10000\r\n\r\n", 10000));
        assert!(r.starts_with("HTTP/1.1 301 "), "{r}");
        assert!(r.contains("\r\nLocation: https://104.154.205.25:10000/api/health?x=1\r\n"), "{r}");
        let r = text(redirect_response(b"GET / HTTP/1.1\r\nhost: Hub.Example.com\r\n\r\n", 443));
        assert!(r.contains("Location: https://hub.example.com/\r\n"), "{r}");
        let r = text(redirect_response(b"GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 8443));
        assert!(r.contains("Location: https://[::1]:8443/x\r\n"), "{r}");
        let r = text(redirect_response(b"GET http://a.example:80/p HTTP/1.1\r\n\r\n", 443));
        assert!(r.contains("Location: https://a.example/p\r\n"), "{r}");
    }

    #[test]
    fn refuses_a_head_without_a_usable_host() {
        assert!(text(redirect_response(b"GET / HTTP/1.0\r\n\r\n", 443)).starts_with("HTTP/1.1 400 "));
        let evil = b"GET / HTTP/1.1\r\nHost: evil.example\r\n\tLocation: x\r\n\r\n";
        let r = text(redirect_response(evil, 443));
        assert!(!r.contains("Location: x"), "{r}");
        assert!(text(redirect_response(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 443)).starts_with("HTTP/1.1 400 "));
        assert!(text(redirect_response(b"\x00\x01garbage", 443)).starts_with("HTTP/1.1 400 "));
    }

    #[test]
    fn the_http_port_answers_challenges_then_redirects() {
        let c = Challenges::default();
        c.add_http("tok", "tok.thumb");
        let r = text(http_port_response(
            b"GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            443,
            &c,
        ));
        assert!(r.starts_with("HTTP/1.1 200 OK") && r.ends_with("\r\n\r\ntok.thumb"), "{r}");
        let r = text(http_port_response(
            b"GET /.well-known/acme-challenge/nope HTTP/1.1\r\nHost: h.example\r\n\r\n",
            443,
            &c,
        ));
        assert!(r.starts_with("HTTP/1.1 301 "), "{r}");
    }

    #[test]
    fn finds_the_end_of_a_head() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
    }
}
