//! The certificate rustls serves: the current one behind an atomic swap (read without a lock on every
//! handshake), and the pending ACME challenges: tls-alpn-01 certificates chosen for a ClientHello that
//! offers only `acme-tls/1`, and http-01 key authorizations for the plain-HTTP port.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The ALPN protocol of tls-alpn-01 (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// The path prefix of http-01 answers (RFC 8555 section 8.3).
pub const HTTP01_PREFIX: &str = "/.well-known/acme-challenge/";
/// At most this many challenges are pending at once (one per identifier of an order; the CA allows 100).
const MAX_PENDING: usize = 200;

/// Pending challenge answers, shared by the ACME client (which adds and removes them) and the
/// serving side (which reads them).
#[derive(Default, Debug)]
pub struct Challenges {
    /// SNI (a DNS name, or the reverse-DNS name of an IP address) to the challenge certificate.
    alpn: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    /// http-01 token to key authorization.
    http: Mutex<HashMap<String, String>>,
}

impl Challenges {
    /// Adds a tls-alpn-01 certificate for `identifier` (a DNS name or an IP address).
    pub fn add_alpn(&self, identifier: &str, cert: Arc<CertifiedKey>) {
        if let Ok(mut map) = self.alpn.lock()
            && map.len() < MAX_PENDING
        {
            map.insert(sni_for(identifier), cert);
        }
    }

    pub fn remove_alpn(&self, identifier: &str) {
        if let Ok(mut map) = self.alpn.lock() {
            map.remove(&sni_for(identifier));
        }
    }

    /// Adds an http-01 answer.
    pub fn add_http(&self, token: &str, key_authorization: &str) {
        if let Ok(mut map) = self.http.lock()
            && map.len() < MAX_PENDING
        {
            map.insert(token.to_owned(), key_authorization.to_owned());
        }
    }

    pub fn remove_http(&self, token: &str) {
        if let Ok(mut map) = self.http.lock() {
            map.remove(token);
        }
    }

    /// Forgets every pending challenge.
    pub fn clear(&self) {
        if let Ok(mut map) = self.alpn.lock() {
            map.clear();
        }
        if let Ok(mut map) = self.http.lock() {
            map.clear();
        }
    }

    /// The body to answer `GET <path>` with on the plain-HTTP port, when `path` is a pending
    /// http-01 challenge (`/.well-known/acme-challenge/<token>`, a query string ignored).
    pub fn http01_response(&self, path: &str) -> Option<String> {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let token = path.strip_prefix(HTTP01_PREFIX)?;
        if token.is_empty() || token.contains('/') {
            return None;
        }
        self.http.lock().ok()?.get(token).cloned()
    }

    fn alpn_for(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let map = self.alpn.lock().ok()?;
        match sni {
            Some(name) => map.get(&name.trim_end_matches('.').to_ascii_lowercase()).cloned(),
            // A validator that sends no SNI (RFC 8738 asks for the reverse name; some omit it) gets
            // the one pending certificate when there is exactly one.
            None if map.len() == 1 => map.values().next().cloned(),
            None => None,
        }
    }

    /// Whether any tls-alpn-01 challenge is pending.
    pub fn has_alpn(&self) -> bool {
        self.alpn.lock().map(|m| !m.is_empty()).unwrap_or(false)
    }
}

/// The SNI a validator sends for `identifier`: the name itself, or for an IP address its reverse-DNS
/// name (`1.0.0.127.in-addr.arpa`, RFC 8738 section 6).
pub fn sni_for(identifier: &str) -> String {
    match identifier.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        Ok(IpAddr::V6(v6)) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
        Err(_) => identifier.trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// The hub's `ResolvesServerCert`: the current certificate for every SNI (including none and unknown
/// names: the default certificate), and challenge certificates for `acme-tls/1` handshakes.
#[derive(Debug, Default)]
pub struct Resolver {
    current: ArcSwapOption<CertifiedKey>,
    challenges: Arc<Challenges>,
}

impl Resolver {
    pub fn new(challenges: Arc<Challenges>) -> Self {
        Self { current: ArcSwapOption::empty(), challenges }
    }

    /// Swaps in a new certificate: handshakes from now on get it; connections already established
    /// are untouched.
    pub fn set(&self, key: Arc<CertifiedKey>) {
        self.current.store(Some(key));
    }

    /// The certificate being served, if any.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }

    pub fn challenges(&self) -> &Arc<Challenges> {
        &self.challenges
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello.alpn().is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            // RFC 8737: a challenge handshake offers only acme-tls/1 and must get the challenge
            // certificate or nothing (None ends the handshake with an alert: a clean refusal).
            let found = self.challenges.alpn_for(hello.server_name());
            if found.is_none() {
                tracing::debug!(sni = ?hello.server_name(), "acme-tls/1 handshake without a pending challenge; refused");
            }
            return found;
        }
        let current = self.current.load_full();
        if current.is_none() {
            tracing::debug!(sni = ?hello.server_name(), "TLS handshake refused: no certificate yet");
        }
        current
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reverse_names_for_ip_identifiers() {
        assert_eq!(sni_for("127.0.0.1"), "1.0.0.127.in-addr.arpa");
        assert_eq!(sni_for("Hub.Example."), "hub.example");
        let v6 = sni_for("2001:db8::567:89ab");
        assert_eq!(v6, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    }

    #[test]
    fn http01_answers_only_pending_tokens() {
        let c = Challenges::default();
        c.add_http("tok-1", "tok-1.thumb");
        assert_eq!(c.http01_response("/.well-known/acme-challenge/tok-1").as_deref(), Some("tok-1.thumb"));
        assert_eq!(c.http01_response("/.well-known/acme-challenge/tok-1?x=1").as_deref(), Some("tok-1.thumb"));
        assert_eq!(c.http01_response("/.well-known/acme-challenge/tok-2"), None);
        assert_eq!(c.http01_response("/.well-known/acme-challenge/"), None);
        assert_eq!(c.http01_response("/.well-known/acme-challenge/tok-1/x"), None);
        assert_eq!(c.http01_response("/tok-1"), None);
        c.remove_http("tok-1");
        assert_eq!(c.http01_response("/.well-known/acme-challenge/tok-1"), None);
    }
}
