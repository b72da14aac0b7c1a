//! TLS for the probes: the roots (the system's, plus any the caller adds), the two client
//! configurations (verifying, and accepting any certificate for `verifyTls: false` and for `tls`
//! checks, which verify after the handshake so they can still read an expired certificate), the
//! `tls` probe, and the leaf certificate's expiry.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsConnector;
use x509_cert::Certificate;
use x509_cert::der::Decode;

use crate::check::TlsPlan;
use crate::result::Outcome;
use crate::target::{Host, connect};

const DAY: i64 = 86_400;
/// The close_notify after a `tls` probe is a courtesy to the server; it never holds the probe long.
const CLOSE_WAIT: Duration = Duration::from_millis(200);

/// The roots and configurations, built once per [`Prober`](crate::Prober).
#[derive(Debug)]
pub(crate) struct TlsContext {
    verifier: Arc<dyn ServerCertVerifier>,
    /// For `tls` checks and unverified HTTPS: signatures checked, the chain not.
    pub accept_any: Arc<ClientConfig>,
    /// For verified HTTPS.
    pub verifying: Arc<ClientConfig>,
}

/// How the TLS setup failed (a bad extra root, or the provider refusing the protocol versions).
#[derive(Debug, thiserror::Error)]
#[error("TLS setup: {0}")]
pub struct TlsSetupError(String);

impl TlsContext {
    /// `system_roots`: whether to load the system's CA store (/etc/ssl/certs, via
    /// rustls-native-certs); `extra_roots` are trusted as well.
    pub fn new(
        system_roots: bool,
        extra_roots: &[CertificateDer<'static>],
        alpn: Vec<Vec<u8>>,
    ) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for root in extra_roots {
            roots.add(root.clone()).map_err(|e| TlsSetupError(format!("an extra root certificate: {e}")))?;
        }
        if system_roots {
            let loaded = rustls_native_certs::load_native_certs();
            let (_, ignored) = roots.add_parsable_certificates(loaded.certs);
            if ignored > 0 {
                tracing::debug!(ignored, "system CA certificates that could not be parsed were ignored");
            }
        }
        let verifier: Arc<dyn ServerCertVerifier> = if roots.is_empty() {
            Arc::new(NoRoots(provider.signature_verification_algorithms))
        } else {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsSetupError(e.to_string()))?
        };
        let config = |verifier: Arc<dyn ServerCertVerifier>| -> Result<ClientConfig, TlsSetupError> {
            let mut c = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsSetupError(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth();
            c.alpn_protocols = alpn.clone();
            Ok(c)
        };
        let accept_any = Arc::new(AcceptAny(provider.signature_verification_algorithms));
        Ok(Self { verifying: Arc::new(config(verifier.clone())?), accept_any: Arc::new(config(accept_any)?), verifier })
    }
}

/// Accepts any chain (the handshake's signatures are still checked), for `verifyTls: false` and for
/// the `tls` probe, which verifies the chain itself afterwards.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

/// Used when no root could be loaded: every chain fails with a reason that says what is missing.
#[derive(Debug)]
struct NoRoots(WebPkiSupportedAlgorithms);

macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.0)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.0)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_schemes()
        }
    };
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    signature_checks!();
}

impl ServerCertVerifier for NoRoots {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General("no CA certificates were found on this system (install ca-certificates)".into()))
    }

    signature_checks!();
}

/// The name to send (SNI) and verify: the host name, or the IP address.
pub(crate) fn server_name(host: &Host) -> Result<ServerName<'static>, String> {
    match host {
        Host::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
        Host::Name(name) => ServerName::try_from(name.trim_end_matches('.').to_string())
            .map_err(|e| format!("`{name}` cannot be a TLS server name: {e}")),
    }
}

/// The leaf certificate's notAfter, in Unix seconds.
pub(crate) fn not_after(der: &[u8]) -> Result<i64, String> {
    let cert = Certificate::from_der(der).map_err(|e| format!("cannot parse the certificate: {e}"))?;
    let secs = cert.tbs_certificate().validity().not_after.to_unix_duration().as_secs();
    i64::try_from(secs).map_err(|_| "the certificate's notAfter is out of range".to_string())
}

/// Whole days from `now` to `not_after` (both Unix seconds), rounded down (an hour past expiry is -1).
pub(crate) fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(DAY)
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The `tls` probe: connect, handshake, then verify the chain against the roots and read the leaf's
/// expiry. Down when the handshake fails, the chain does not verify, or fewer than `warnDays` remain.
pub(crate) async fn probe(ctx: &TlsContext, plan: &TlsPlan, started: Instant) -> Outcome {
    let name = match server_name(&plan.target.host) {
        Ok(name) => name,
        Err(e) => return Outcome::down(started.elapsed(), e),
    };
    let stream = match connect(&plan.target).await {
        Ok(s) => s,
        Err(e) => return Outcome::down(started.elapsed(), e),
    };
    let mut tls = match TlsConnector::from(ctx.accept_any.clone()).connect(name.clone(), stream).await {
        Ok(tls) => tls,
        Err(e) => return Outcome::down(started.elapsed(), format!("TLS handshake with {}: {e}", plan.target)),
    };
    let elapsed = started.elapsed();
    let verdict = {
        let (_, conn) = tls.get_ref();
        match conn.peer_certificates().and_then(|c| c.split_first()) {
            None => Err("the server sent no certificate".to_string()),
            Some((leaf, rest)) => {
                let verified = ctx.verifier.verify_server_cert(leaf, rest, &name, &[], UnixTime::now());
                not_after(leaf).map(|na| (na, verified))
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, tls.shutdown()).await;
    let (not_after, verified) = match verdict {
        Ok(v) => v,
        Err(e) => return Outcome::down(elapsed, e),
    };
    let days = days_left(not_after, unix_now());
    let mut outcome = Outcome {
        cert_days_left: Some(days),
        cert_not_after: Some(not_after),
        cert_verified: Some(verified.is_ok()),
        ..Outcome::up(elapsed)
    };
    if let Err(e) = verified {
        outcome = outcome.fail(format!("the certificate does not verify: {e}"));
    } else if days < i64::from(plan.warn_days) {
        outcome = outcome.fail(format!("the certificate expires in {days} days (warnDays {})", plan.warn_days));
    }
    outcome
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn days_round_down() {
        assert_eq!(days_left(10 * DAY + 5, 0), 10);
        assert_eq!(days_left(10 * DAY - 5, 0), 9);
        assert_eq!(days_left(-5, 0), -1);
        assert_eq!(days_left(-DAY, 0), -1);
        assert_eq!(days_left(-DAY - 1, 0), -2);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(not_after(b"not a certificate").unwrap_err().contains("cannot parse"));
    }
}
