//! Targets: hosts and `host:port` pairs parsed once at validation, then resolved and connected to by
//! the probes. Host names are checked as DNS names (ASCII; IDN names in their `xn--` form).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpStream;

/// Longest DNS name (RFC 1035, without the trailing dot).
const MAX_NAME_LEN: usize = 253;
/// Addresses of one name tried in turn before giving up, so a name with many records stays bounded.
const MAX_ADDRS_TRIED: usize = 4;

/// An IP address or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// A host and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: Host,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Checks a DNS name: labels of 1-63 letters, digits, `-` or `_` (service names), not starting or
/// ending with `-`, at most 253 characters; one trailing dot allowed.
pub fn check_dns_name(name: &str) -> Result<(), String> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err("must not be empty".into());
    }
    if bare.len() > MAX_NAME_LEN {
        return Err(format!("must be at most {MAX_NAME_LEN} characters"));
    }
    if !bare.is_ascii() {
        return Err("must be ASCII (write an internationalised name in its xn-- form)".into());
    }
    for label in bare.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each dot-separated label must be 1-63 characters".into());
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err("may contain only letters, digits, '-', '_' and dots".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label must not start or end with '-'".into());
        }
    }
    Ok(())
}

/// A host: an IPv4 address, an IPv6 address (bare or in brackets) or a DNS name.
pub fn parse_host(text: &str) -> Result<Host, String> {
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    if let Ok(ip) = inner.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    if inner.len() != text.len() {
        return Err("brackets must hold an IPv6 address".into());
    }
    check_dns_name(text)?;
    Ok(Host::Name(text.to_string()))
}

/// `host:port`, `[v6]:port`, or a host alone when `default_port` is given.
pub fn parse_host_port(text: &str, default_port: Option<u16>) -> Result<HostPort, String> {
    let (host, port) = match split_port(text) {
        Some((host, port)) => {
            let port: u16 = port.parse().map_err(|_| "the port must be a number 1-65535".to_string())?;
            if port == 0 {
                return Err("the port must be a number 1-65535".into());
            }
            (host, port)
        }
        None => match default_port {
            Some(port) => (text, port),
            None => return Err("must be host:port (an IPv6 address in brackets: [::1]:443)".into()),
        },
    };
    Ok(HostPort { host: parse_host(host)?, port })
}

/// Splits off `:port` unless the colon belongs to a bare IPv6 address.
fn split_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let end = rest.find(']')?;
        let port = rest[end + 1..].strip_prefix(':')?;
        return Some((&text[..end + 2], port));
    }
    if text.matches(':').count() == 1 { text.split_once(':') } else { None }
}

/// The addresses of `hp`: the address itself, or the system resolver's answer (getaddrinfo on a
/// blocking thread, bounded by the caller's timeout).
pub async fn resolve(hp: &HostPort) -> Result<Vec<SocketAddr>, String> {
    match &hp.host {
        Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, hp.port)]),
        Host::Name(name) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), hp.port))
                .await
                .map_err(|e| format!("cannot resolve {name}: {e}"))?
                .take(MAX_ADDRS_TRIED)
                .collect();
            if addrs.is_empty() {
                return Err(format!("cannot resolve {name}: no address"));
            }
            Ok(addrs)
        }
    }
}

/// Connects to the first address of `hp` that accepts.
pub async fn connect(hp: &HostPort) -> Result<TcpStream, String> {
    let mut last = String::new();
    for addr in resolve(hp).await? {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("connect to {addr}: {}", io_text(&e)),
        }
    }
    Err(last)
}

/// An I/O error as a short text ("connection refused", not "Connection refused (os error 111)").
pub fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::HostUnreachable => "host unreachable".into(),
        ErrorKind::NetworkUnreachable => "network unreachable".into(),
        ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_host_port_forms() {
        let hp = parse_host_port("db.internal:5432", None).unwrap();
        assert_eq!(hp.host, Host::Name("db.internal".into()));
        assert_eq!(hp.port, 5432);
        let hp = parse_host_port("[::1]:443", None).unwrap();
        assert_eq!(hp.host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(hp.to_string(), "[::1]:443");
        let hp = parse_host_port("10.0.0.1", Some(443)).unwrap();
        assert_eq!(hp.port, 443);
        assert_eq!(parse_host_port("::1", Some(443)).unwrap().host, Host::Ip("::1".parse().unwrap()));
    }

    #[test]
    fn refuses_bad_host_ports() {
        assert!(parse_host_port("db.internal", None).unwrap_err().contains("host:port"));
        assert!(parse_host_port("db:0", None).unwrap_err().contains("port"));
        assert!(parse_host_port("db:http", None).unwrap_err().contains("port"));
        assert!(parse_host_port("db:70000", None).unwrap_err().contains("port"));
        assert!(parse_host_port("[db]:80", None).is_err());
        assert!(parse_host_port("bad host:80", None).unwrap_err().contains("letters"));
    }

    #[test]
    fn checks_dns_names() {
        assert!(check_dns_name("_dmarc.example.com.").is_ok());
        assert!(check_dns_name("a..b").is_err());
        assert!(check_dns_name("-a.b").is_err());
        assert!(check_dns_name(&"a".repeat(64)).is_err());
        assert!(check_dns_name("bücher.de").unwrap_err().contains("xn--"));
        assert!(check_dns_name("a\u{7}b").is_err());
        assert!(check_dns_name(&format!("{}.com", ["abc"; 70].join("."))).unwrap_err().contains("253"));
    }
}
