//! Reading certificates: a PEM chain and key into the `CertifiedKey` rustls serves (the key checked
//! against the certificate), and what status shows of it (names, issuer, validity, serial, SHA-256).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The largest PEM file read (a chain of a few certificates is a few KB).
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;
/// The longest chain accepted.
const MAX_CHAIN: usize = 10;

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("{path} is larger than {MAX_PEM_BYTES} bytes")]
    TooLarge { path: String },
    #[error("no PEM certificate found")]
    NoCertificate,
    #[error("more than {MAX_CHAIN} certificates in the chain")]
    ChainTooLong,
    #[error("no usable PEM private key found: {0}")]
    NoKey(String),
    #[error("the certificate cannot be parsed: {0}")]
    BadCertificate(String),
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    #[error("the private key is not supported: {0}")]
    UnsupportedKey(String),
}

/// What status shows of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    /// DNS names and IP addresses from the subjectAltName extension.
    pub identifiers: Vec<String>,
    pub subject: String,
    pub issuer: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// Serial number, lower-case hex without leading zeros or colons.
    pub serial: String,
    /// SHA-256 of the DER certificate, lower-case hex without colons (what agents pin).
    pub sha256: String,
    /// ACME Renewal Information identifier (`base64url(AKI).base64url(serial)`), when the
    /// certificate has an authority key identifier.
    #[serde(skip)]
    pub ari_id: Option<String>,
}

impl CertInfo {
    /// The certificate's lifetime in seconds (at least 1).
    pub fn lifetime_seconds(&self) -> i64 {
        (self.not_after.as_second() - self.not_before.as_second()).max(1)
    }

    /// Whether every identifier in `wanted` is covered (exactly, case-insensitively).
    pub fn covers(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|w| self.identifiers.iter().any(|have| have.eq_ignore_ascii_case(w)))
    }
}

/// A certificate ready to serve.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    pub info: CertInfo,
}

/// SHA-256 of a DER certificate, lower-case hex without colons.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Reads a file of at most [`MAX_PEM_BYTES`].
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, CertError> {
    use std::io::Read;
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| CertError::Io { path: shown.clone(), cause: source })?;
    let mut buf = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|source| CertError::Io { path: shown.clone(), cause: source })?;
    if buf.len() as u64 > MAX_PEM_BYTES {
        return Err(CertError::TooLarge { path: shown });
    }
    Ok(buf)
}

/// The certificates of a PEM chain, leaf first.
pub fn parse_chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let mut chain = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        let der = item.map_err(|e| CertError::BadCertificate(e.to_string()))?;
        if chain.len() == MAX_CHAIN {
            return Err(CertError::ChainTooLong);
        }
        chain.push(der);
    }
    if chain.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(chain)
}

/// A PEM chain and key checked against each other, with the leaf's details.
pub fn load_pair(cert_pem: &[u8], key_pem: &[u8], provider: &CryptoProvider) -> Result<Loaded, CertError> {
    let chain = parse_chain(cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| CertError::NoKey(e.to_string()))?;
    let info = describe(&chain[0])?;
    let signing = provider.key_provider.load_private_key(key).map_err(|e| CertError::UnsupportedKey(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            // The provider cannot tell this key type's public half: a mismatch would then only show
            // as failed handshakes, so refuse rather than guess.
            return Err(CertError::UnsupportedKey("cannot check that it matches the certificate".into()));
        }
        Err(_) => return Err(CertError::KeyMismatch),
    }
    Ok(Loaded { key: Arc::new(certified), info })
}

/// The leaf's details, for status (no key needed).
pub fn describe(der: &CertificateDer<'_>) -> Result<CertInfo, CertError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| CertError::BadCertificate(e.to_string()))?;
    let mut identifiers = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(n) => identifiers.push(n.to_ascii_lowercase()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        identifiers.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let ts = |t: x509_parser::time::ASN1Time| {
        Timestamp::from_second(t.timestamp()).map_err(|e| CertError::BadCertificate(format!("validity: {e}")))
    };
    let validity = cert.validity();
    Ok(CertInfo {
        identifiers,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: ts(validity.not_before)?,
        not_after: ts(validity.not_after)?,
        serial: cert.tbs_certificate.serial.to_str_radix(16),
        sha256: fingerprint(der.as_ref()),
        ari_id: instant_acme::CertificateIdentifier::try_from(der).ok().map(|id| id.to_string()),
    })
}

/// Details of the first certificate of a PEM file, for `openmanager tls status`.
pub fn describe_pem_file(path: &Path) -> Result<CertInfo, CertError> {
    let chain = parse_chain(&read_bounded(path)?)?;
    describe(&chain[0])
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    fn generated(names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_pair_loads_with_its_details() {
        let (cert, key) = generated(&["hub.example", "127.0.0.1", "::1"]);
        let loaded = load_pair(cert.as_bytes(), key.as_bytes(), &provider()).unwrap();
        assert_eq!(loaded.info.identifiers, ["hub.example", "127.0.0.1", "::1"]);
        assert_eq!(loaded.info.sha256.len(), 64);
        assert!(loaded.info.lifetime_seconds() > 0);
        assert!(loaded.info.covers(&["HUB.example".into(), "127.0.0.1".into()]));
        assert!(!loaded.info.covers(&["other.example".into()]));
    }

    #[test]
    fn a_mismatched_key_is_refused() {
        let (cert, _) = generated(&["a.example"]);
        let (_, other_key) = generated(&["a.example"]);
        let err = load_pair(cert.as_bytes(), other_key.as_bytes(), &provider()).unwrap_err();
        assert!(matches!(err, CertError::KeyMismatch), "{err}");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let (_, key) = generated(&["a.example"]);
        assert!(matches!(load_pair(b"junk", key.as_bytes(), &provider()), Err(CertError::NoCertificate)));
        let bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(load_pair(bad.as_bytes(), key.as_bytes(), &provider()), Err(CertError::BadCertificate(_))));
        let (cert, _) = generated(&["a.example"]);
        assert!(matches!(load_pair(cert.as_bytes(), b"", &provider()), Err(CertError::NoKey(_))));
    }
}
