//! From a `postgres://` URL to a bounded connection pool: libpq's `sslmode`/`sslrootcert` over
//! rustls (ring), connect/statement timeouts, TCP keepalives; and the mapping of driver errors to
//! the store's kinds (an outage is [`Error::Unavailable`], a full disk [`Error::DiskFull`]).

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;

use crate::error::{Error, Result};
use crate::types::Config;
use crate::url::mask_url;

/// libpq's `sslmode` values, with libpq's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Disable,
    /// Try TLS, fall back to plain; no certificate check (libpq's default).
    Prefer,
    /// Encrypt; check the chain only if a root certificate was given (libpq does the same).
    Require,
    /// Encrypt and check the chain, not the host name.
    VerifyCa,
    /// Encrypt, check the chain and that the certificate names the host (managed services).
    VerifyFull,
}

/// Build the pool. No connection is opened yet; the first `get` does (with `connect_timeout`).
pub(crate) fn pool(url: &str, cfg: &Config) -> Result<Pool> {
    let (mut pg, tls, root) = parse(url)?;
    pg.connect_timeout(cfg.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        // A peer that vanished (VM gone, network cut) fails in-flight writes within this bound
        // instead of the kernel's ~15 minutes of retransmissions.
        .tcp_user_timeout(cfg.statement_timeout.max(Duration::from_secs(10)))
        .application_name("openmanager");
    pg.ssl_mode(match tls {
        Tls::Disable => SslMode::Disable,
        Tls::Prefer => SslMode::Prefer,
        Tls::Require | Tls::VerifyCa | Tls::VerifyFull => SslMode::Require,
    });
    let mgr_cfg = ManagerConfig { recycling_method: RecyclingMethod::Fast };
    let mgr = match tls {
        Tls::Disable => Manager::from_config(pg, tokio_postgres::NoTls, mgr_cfg),
        _ => Manager::from_config(pg, tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(tls, root)?), mgr_cfg),
    };
    let statement_ms = cfg.statement_timeout.as_millis().max(1);
    Pool::builder(mgr)
        .max_size(cfg.pool_size.max(1))
        .runtime(Runtime::Tokio1)
        // Waiting for a free connection is bounded like a statement; past it the caller gets Busy.
        .wait_timeout(Some(cfg.statement_timeout))
        .create_timeout(Some(cfg.connect_timeout + Duration::from_secs(1)))
        .recycle_timeout(Some(cfg.connect_timeout))
        .post_create(Hook::async_fn(move |client, _| {
            Box::pin(async move {
                // A SET, not a startup option, so it also works behind poolers that refuse options.
                let sql = format!("SET statement_timeout = {statement_ms}; SET lock_timeout = {statement_ms}");
                client.batch_execute(&sql).await.map_err(HookError::Backend)
            })
        }))
        .build()
        .map_err(|e| Error::InvalidInput(format!("postgres pool: {e}")))
}

/// Split off the TLS parameters tokio-postgres does not know (`verify-ca`, `verify-full`,
/// `sslrootcert`), and parse the rest with it.
fn parse(url: &str) -> Result<(tokio_postgres::Config, Tls, Option<String>)> {
    let bad = |why: String| Error::InvalidInput(format!("{why} in {}", mask_url(url)));
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut tls = Tls::Prefer;
    let mut root = None;
    let mut rest = Vec::new();
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "sslmode" => {
                tls = match v {
                    "disable" => Tls::Disable,
                    "allow" | "prefer" => Tls::Prefer,
                    "require" => Tls::Require,
                    "verify-ca" => Tls::VerifyCa,
                    "verify-full" => Tls::VerifyFull,
                    other => return Err(bad(format!("unknown sslmode {other:?}"))),
                }
            }
            "sslrootcert" => root = Some(percent_decode(v)),
            "sslcert" | "sslkey" => return Err(bad(format!("client certificates ({k}) are not supported"))),
            _ => rest.push(kv),
        }
    }
    let cleaned = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
    let pg: tokio_postgres::Config = cleaned.parse().map_err(|e| bad(format!("bad postgres URL ({e})")))?;
    if root.is_some() && tls == Tls::Require {
        // libpq: `require` with a root certificate verifies the chain, as verify-ca.
        tls = Tls::VerifyCa;
    }
    Ok((pg, tls, root))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn tls_config(tls: Tls, root: Option<String>) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidInput(format!("tls: {e}")))?;
    let config = match tls {
        Tls::Disable | Tls::Prefer | Tls::Require => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(EncryptOnly(provider))).with_no_client_auth()
        }
        Tls::VerifyCa | Tls::VerifyFull => {
            let roots = Arc::new(roots(root.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| Error::InvalidInput(format!("tls roots: {e}")))?;
            if tls == Tls::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyHostName(webpki)))
                    .with_no_client_auth()
            }
        }
    };
    Ok(config)
}

/// `sslrootcert=PATH` (PEM, one or more certificates), or the system's roots when absent or
/// `sslrootcert=system` (Neon and Cloud SQL's public CAs; Supabase needs its own root file).
fn roots(root: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match root {
        Some(path) if path != "system" => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::InvalidInput(format!("sslrootcert {path}: {e}")))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::InvalidInput(format!("sslrootcert {path}: {e}")))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::InvalidInput(format!("sslrootcert {path}: no usable certificate")));
            }
        }
        _ => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(Error::InvalidInput(
                    "no system root certificates (install ca-certificates, or set sslrootcert=PATH)".into(),
                ));
            }
        }
    }
    Ok(store)
}

/// libpq's `require`/`prefer`: the link is encrypted and the handshake signature checked, but the
/// certificate itself is not authenticated. Use verify-full to authenticate the server.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// libpq's `verify-ca`: the full chain check, except that the name may differ (an address or an
/// internal name behind a proxy).
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Driver error -> store error. Outages (connection-class SQLSTATEs, shutdown, too many
/// connections, timeouts, a closed or failed socket) are `Unavailable`; a full disk is `DiskFull`.
pub(crate) fn classify(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let text = format!("{} ({code})", db.message());
        return match code {
            "53100" => Error::DiskFull(text),
            // 08: connection exception; 57P0x: shutdown/crash/starting; 53300: too many
            // connections; 57014: statement timeout; 55P03: lock timeout; 25006: read-only (a
            // standby after a failover); 40001/40P01: serialization failure/deadlock (retryable).
            c if c.starts_with("08") => Error::Unavailable(text),
            "57P01" | "57P02" | "57P03" | "53300" | "57014" | "55P03" | "25006" | "40001" | "40P01" => {
                Error::Unavailable(text)
            }
            _ => Error::Postgres(text),
        };
    }
    // The driver's own text is generic ("error performing TLS handshake"): add the causes, e.g.
    // the certificate problem, so the log and the health report say what to fix.
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    let io = cause.is_some_and(|s| s.is::<std::io::Error>());
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        cause = c.source();
    }
    // Unreachable, closed, timed out, or a TLS failure (a certificate that does not verify keeps
    // the database out of reach just as surely; the message names the cause).
    if e.is_closed() || io || text.contains("timed out") || text.contains("TLS") {
        return Error::Unavailable(text);
    }
    Error::Postgres(text)
}

pub(crate) fn pool_error(e: PoolError) -> Error {
    match e {
        PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => Error::Busy,
        PoolError::Timeout(t) => Error::Unavailable(format!("postgres connection timed out ({t:?})")),
        PoolError::Backend(e) | PoolError::PostCreateHook(HookError::Backend(e)) => classify(e),
        PoolError::Closed => Error::Closed,
        other => Error::Unavailable(other.to_string()),
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        classify(e)
    }
}

impl From<PoolError> for Error {
    fn from(e: PoolError) -> Self {
        pool_error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_tls_parameters_are_understood() {
        let (pg, tls, root) = parse("postgres://u:pw@db.example.com:6543/postgres?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x").unwrap();
        assert_eq!((tls, root.as_deref()), (Tls::VerifyFull, Some("/etc/ca.pem")));
        assert_eq!(pg.get_dbname(), Some("postgres"));
        assert_eq!(parse("postgres://h/db?sslmode=require").unwrap().1, Tls::Require);
        assert_eq!(parse("postgres://h/db?sslmode=require&sslrootcert=/x.pem").unwrap().1, Tls::VerifyCa);
        assert_eq!(parse("postgres://h/db").unwrap().1, Tls::Prefer);
        let err = parse("postgres://u:s3cret@h/db?sslmode=bogus").unwrap_err().to_string();
        assert!(err.contains("bogus") && !err.contains("s3cret"), "{err}");
    }

    #[test]
    fn tls_configs_build_with_ring() {
        for tls in [Tls::Prefer, Tls::Require] {
            tls_config(tls, None).unwrap();
        }
        assert!(tls_config(Tls::VerifyFull, Some("/nonexistent/root.pem".into())).is_err());
    }
}
