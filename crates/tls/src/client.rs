//! The agents' side: a rustls `ClientConfig` that verifies the hub with the system roots, a CA file,
//! or a pinned SHA-256 fingerprint (the hub's self-signed certificate), and the rule that a token never
//! goes over plain `http://` to a non-loopback host without an explicit flag.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::certinfo::{fingerprint, parse_chain, read_bounded};

/// How an agent (or any client of the hub) decides to trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubTrust {
    /// The operating system's CA store (`/etc/ssl/certs` and friends).
    SystemRoots,
    /// Only the CAs in this PEM file (`--ca-file`).
    CaFile(PathBuf),
    /// Exactly the certificate with this SHA-256 fingerprint (`--pin-sha256`), whatever its issuer,
    /// names or dates: the hub's self-signed certificate.
    PinSha256(String),
}

/// Why a client configuration could not be built, or a URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("--ca-file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("no usable CA certificates in the system store: {0}")]
    SystemRoots(String),
    #[error("--pin-sha256 `{0}` is not a SHA-256 fingerprint (64 hex digits, colons allowed)")]
    BadPin(String),
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    #[error("`{0}` is not a valid http:// or https:// URL")]
    BadUrl(String),
    #[error(
        "refusing to send the agent token over plain http:// to {host}, which is not a loopback address: \
         use an https:// hub URL, or pass --insecure-http to accept the risk"
    )]
    PlainHttp { host: String },
}

/// A client configuration for reqwest (`ClientBuilder::tls_backend_preconfigured` /
/// `use_preconfigured_tls`) or tokio-rustls; ALPN `h2` and `http/1.1`, `ring` provider.
pub fn client_config(trust: &HubTrust) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let mut config = match trust {
        HubTrust::SystemRoots => builder.with_root_certificates(system_roots()?).with_no_client_auth(),
        HubTrust::CaFile(path) => builder.with_root_certificates(roots_from_file(path)?).with_no_client_auth(),
        HubTrust::PinSha256(pin) => {
            let verifier = PinVerifier { pin: normalize_pin(pin)?, provider };
            builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The system's roots (rustls-native-certs); an error only when none at all could be loaded.
pub fn system_roots() -> Result<RootCertStore, ClientError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map_or("none found".to_owned(), |e| e.to_string());
        return Err(ClientError::SystemRoots(why));
    }
    Ok(roots)
}

/// The certificates of a PEM file as roots.
pub fn roots_from_file(path: &Path) -> Result<RootCertStore, ClientError> {
    let shown = path.display().to_string();
    let fail = |reason: String| ClientError::CaFile { path: shown.clone(), reason };
    let chain = parse_chain(&read_bounded(path).map_err(|e| fail(e.to_string()))?).map_err(|e| fail(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in chain {
        roots.add(cert).map_err(|e| fail(e.to_string()))?;
    }
    Ok(roots)
}

/// A fingerprint as lower-case hex without colons (`AB:CD:..` and `sha256/..` forms accepted).
pub fn normalize_pin(pin: &str) -> Result<String, ClientError> {
    let trimmed = pin.trim();
    let body = trimmed.strip_prefix("sha256:").or_else(|| trimmed.strip_prefix("sha256/")).unwrap_or(trimmed);
    let hex: String = body.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ClientError::BadPin(pin.to_owned()));
    }
    Ok(hex)
}

/// Accepts exactly the pinned certificate. Signatures over the handshake are still checked against
/// its key, so a copy of the certificate without the key does not pass.
#[derive(Debug)]
struct PinVerifier {
    pin: String,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = fingerprint(end_entity.as_ref());
        if got == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the hub's certificate has SHA-256 fingerprint {got}, but --pin-sha256 is {}",
                self.pin
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Whether an agent may send its token to `url`: always over `https://`; over `http://` only to a
/// loopback host (`127.0.0.0/8`, `::1`, `localhost`) or when `insecure_http` (`--insecure-http`) is
/// given, in which case the caller logs a warning at each start.
pub fn plain_http_allowed(url: &str, insecure_http: bool) -> Result<(), ClientError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| ClientError::BadUrl(url.to_owned()))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = parsed.host_str().ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback =
                bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback || insecure_http { Ok(()) } else { Err(ClientError::PlainHttp { host: host.to_owned() }) }
        }
        _ => Err(ClientError::BadUrl(url.to_owned())),
    }
}

/// A configuration that trusts no certificate at all, for clients that must only speak plain HTTP
/// (reqwest's builder wants a TLS configuration even then). No real certificate hashes to all zeros.
pub(crate) fn trust_nothing_config() -> Result<ClientConfig, ClientError> {
    client_config(&HubTrust::PinSha256("00".repeat(32)))
}

/// A verifier against `roots` with the ring provider (shared by the ACME client's HTTPS).
pub(crate) fn webpki_config(roots: RootCertStore) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ClientError::Tls(rustls::Error::General(e.to_string())))?;
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_webpki_verifier(verifier)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_with_the_flag() {
        assert!(plain_http_allowed("https://104.154.205.25:10000", false).is_ok());
        assert!(plain_http_allowed("http://127.0.0.1:10000", false).is_ok());
        assert!(plain_http_allowed("http://127.8.9.1/", false).is_ok());
        assert!(plain_http_allowed("http://[::1]:8080/", false).is_ok());
        assert!(plain_http_allowed("http://LOCALHOST:8080/", false).is_ok());
        let err = plain_http_allowed("http://104.154.205.25:10000", false).unwrap_err().to_string();
        assert!(err.contains("104.154.205.25") && err.contains("--insecure-http"), "{err}");
        assert!(plain_http_allowed("http://hub.example.com", true).is_ok());
        assert!(matches!(plain_http_allowed("ftp://hub", true), Err(ClientError::BadUrl(_))));
        assert!(matches!(plain_http_allowed("not a url", false), Err(ClientError::BadUrl(_))));
    }

    #[test]
    fn pins_are_normalized() {
        let hex = "AB".repeat(32);
        let with_colons =
            hex.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(":");
        assert_eq!(normalize_pin(&with_colons).unwrap(), "ab".repeat(32));
        assert_eq!(normalize_pin(&format!("sha256/{hex}")).unwrap(), "ab".repeat(32));
        assert!(normalize_pin("abcd").is_err());
        assert!(normalize_pin(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn a_missing_ca_file_names_the_flag_and_path() {
        let err = client_config(&HubTrust::CaFile("/nonexistent/ca.pem".into())).unwrap_err().to_string();
        assert!(err.contains("--ca-file /nonexistent/ca.pem"), "{err}");
    }
}
