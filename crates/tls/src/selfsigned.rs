//! `self-signed` mode: a certificate generated once into `<data_dir>/tls/` and kept across restarts
//! (agents pin its fingerprint, so it must not change by itself).

use jiff::{ToSpan, tz::TimeZone};
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};

use crate::certinfo::{CertError, Loaded, load_pair};
use crate::store::{self, Store};

/// Names used when `tls.identifiers` is empty.
pub const DEFAULT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];
/// Validity of a generated certificate: long, since a pinned certificate is replaced by hand.
const VALID_YEARS: i16 = 10;

/// The kept certificate, or a new one when there is none (or it is unusable or expired). Returns it
/// and whether it was generated now.
pub fn load_or_generate(store: &Store, names: &[String]) -> Result<(Loaded, bool), CertError> {
    let provider = rustls::crypto::ring::default_provider();
    let cert = store.read(store::SELF_SIGNED_CERT);
    let key = store.read(store::SELF_SIGNED_KEY);
    if let (Ok(Some(cert)), Ok(Some(key))) = (&cert, &key) {
        match load_pair(cert, key, &provider) {
            Ok(loaded) if loaded.info.not_after > jiff::Timestamp::now() => {
                if !names.is_empty() && !loaded.info.covers(names) {
                    tracing::warn!(
                        kept = ?loaded.info.identifiers, configured = ?names,
                        "the kept self-signed certificate does not cover tls.identifiers; delete {} to generate a new one (agents pinning the old one must be updated)",
                        store.path(store::SELF_SIGNED_CERT).display()
                    );
                }
                return Ok((loaded, false));
            }
            Ok(_) => tracing::warn!("the kept self-signed certificate has expired; generating a new one"),
            Err(e) => tracing::warn!(error = %e, "the kept self-signed certificate is unusable; generating a new one"),
        }
    }
    let (cert_pem, key_pem) = generate(names)?;
    let io = |e: std::io::Error| CertError::Io { path: store.dir().display().to_string(), cause: e };
    // Key first: a reader that sees the new certificate then finds its key.
    store.write(store::SELF_SIGNED_KEY, key_pem.as_bytes()).map_err(io)?;
    store.write(store::SELF_SIGNED_CERT, cert_pem.as_bytes()).map_err(io)?;
    Ok((load_pair(cert_pem.as_bytes(), key_pem.as_bytes(), &provider)?, true))
}

/// A new self-signed certificate and key (PEM) for `names` (DNS names and IP addresses).
pub fn generate(names: &[String]) -> Result<(String, String), CertError> {
    let bad = |e: rcgen::Error| CertError::BadCertificate(e.to_string());
    let names: Vec<String> =
        if names.is_empty() { DEFAULT_NAMES.iter().map(|s| s.to_string()).collect() } else { names.to_vec() };
    let mut params = CertificateParams::new(names).map_err(bad)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "OpenManager hub (self-signed)");
    params.distinguished_name = dn;
    let today = jiff::Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let from = today.checked_sub(1.day()).unwrap_or(today);
    let until = today.checked_add(VALID_YEARS.years()).unwrap_or(today);
    let ymd = |d: jiff::civil::Date| rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8);
    params.not_before = ymd(from);
    params.not_after = ymd(until);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(bad)?;
    let cert = params.self_signed(&key).map_err(bad)?;
    Ok((cert.pem(), key.serialize_pem()))
}
