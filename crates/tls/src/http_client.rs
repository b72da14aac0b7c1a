//! Outbound HTTP for the certificate manager: instant-acme's `HttpClient` over the workspace's reqwest
//! (ring provider, system roots plus `tls.ca_roots`), with timeouts and a bounded response size; and
//! the public-IP discovery from the cloud metadata server for `identifiers = ["auto-ip"]`.

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::RootCertStore;

use crate::client::{roots_from_file, system_roots, trust_nothing_config, webpki_config};

/// The largest ACME response read (certificates and JSON documents are a few KB).
const MAX_RESPONSE: usize = 1024 * 1024;
/// The GCE metadata server (its base URL is replaced in tests).
pub const GCE_METADATA_BASE: &str = "http://169.254.169.254";
const GCE_EXTERNAL_IP: &str = "/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip";

/// Why an outbound call could not be set up or failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("tls.ca_roots: {0}")]
    Roots(String),
    #[error("HTTP client: {0}")]
    Client(String),
    #[error(
        "tls.identifiers = \"auto-ip\": the public IP could not be read from the GCE metadata server ({0}); \
         set tls.identifiers to the VM's public IP address or DNS name instead"
    )]
    AutoIp(String),
}

/// A reqwest client trusting the system roots plus the PEM files in `ca_roots`.
pub fn acme_reqwest(ca_roots: &[PathBuf]) -> Result<reqwest::Client, HttpError> {
    let mut roots = system_roots().unwrap_or_else(|e| {
        // A minimal container may have no CA bundle; explicit ca_roots can still be enough.
        tracing::debug!(error = %e, "no system roots for the ACME client");
        RootCertStore::empty()
    });
    for path in ca_roots {
        let extra = roots_from_file(path).map_err(|e| HttpError::Roots(e.to_string()))?;
        roots.roots.extend(extra.roots);
    }
    if roots.is_empty() {
        return Err(HttpError::Roots("no trusted roots: the system has none and tls.ca_roots is empty".into()));
    }
    let tls = webpki_config(roots).map_err(|e| HttpError::Roots(e.to_string()))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| HttpError::Client(e.to_string()))
}

/// instant-acme's transport over reqwest.
pub struct AcmeHttp(pub reqwest::Client);

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let client = self.0.clone();
        Box::pin(async move {
            let other = |e: String| instant_acme::Error::Other(e.into());
            let (parts, body) = req.into_parts();
            let is_get = parts.method == http::Method::GET;
            let body = body.collect().await.map_err(|never| other(format!("{never:?}")))?.to_bytes();
            let mut rsp = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| other(format!("{}: {}", parts.uri, error_chain(&e))))?;
            let mut builder = http::Response::builder().status(rsp.status());
            for (name, value) in rsp.headers() {
                builder = builder.header(name, value);
            }
            let mut buf = Vec::new();
            while let Some(chunk) = rsp.chunk().await.map_err(|e| other(e.to_string()))? {
                if buf.len() + chunk.len() > MAX_RESPONSE {
                    return Err(other(format!("response from {} larger than {MAX_RESPONSE} bytes", parts.uri)));
                }
                buf.extend_from_slice(&chunk);
            }
            // instant-acme reads problem documents from POST answers, but takes any GET answer (the
            // directory, ARI) as JSON: say what the server really answered instead of a parse error.
            if is_get && !rsp.status().is_success() {
                let snippet: String = String::from_utf8_lossy(&buf).chars().take(200).collect();
                return Err(other(format!("{} answered {}: {}", parts.uri, rsp.status(), snippet.trim())));
            }
            let (head, ()) = builder.body(()).map_err(|e| other(e.to_string()))?.into_parts();
            Ok(BytesResponse { parts: head, body: Box::new(Bytes::from(buf)) })
        })
    }
}

/// An error with its causes (reqwest's top-level message alone hides the TLS or connect reason).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The VM's public IP from the GCE metadata server at `base` (normally [`GCE_METADATA_BASE`]), with
/// `Metadata-Flavor: Google` and a short timeout. The error says what to set instead.
pub async fn discover_public_ip(base: &str, timeout: Duration) -> Result<IpAddr, HttpError> {
    let client = reqwest::Client::builder()
        // Plain HTTP only; reqwest's builder still wants a TLS configuration.
        .tls_backend_preconfigured(trust_nothing_config().map_err(|e| HttpError::AutoIp(e.to_string()))?)
        .timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| HttpError::AutoIp(e.to_string()))?;
    let url = format!("{}{GCE_EXTERNAL_IP}", base.trim_end_matches('/'));
    let mut rsp = client
        .get(&url)
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .map_err(|e| HttpError::AutoIp(format!("{url}: {}", error_chain(&e))))?;
    if !rsp.status().is_success() {
        return Err(HttpError::AutoIp(format!("{url} answered {}", rsp.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = rsp.chunk().await.map_err(|e| HttpError::AutoIp(e.to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > 256 {
            return Err(HttpError::AutoIp(format!("{url}: the answer is not an IP address")));
        }
    }
    let text = String::from_utf8_lossy(&body);
    text.trim()
        .parse::<IpAddr>()
        .map_err(|_| HttpError::AutoIp(format!("{url} answered `{}`, not an IP address", text.trim())))
}
