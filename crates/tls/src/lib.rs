//! HTTPS for the hub: certificates from files, from an ACME CA (Let's Encrypt, IP addresses included)
//! or generated once; renewed and swapped in without a restart; and the pieces the accept loop and
//! the agents need. Nothing here knows about the hub's HTTP routes or config loading.
//!
//! The hub's calls, in order:
//! 1. `Settings` is embedded in its config as `[tls]`; `Settings::check` at load.
//! 2. `Tls::new(settings, data_dir, Options::default()).await?` once at start (loads what is on disk).
//! 3. `supervisor.spawn("tls", |ctx| tls.run(ctx.cancel, || ctx.heartbeat.beat()))`.
//! 4. `Handshaker::new(tls.server_config(), https_port, HandshakeLimits::default())` per listener, then
//!    `handshaker.accept_tcp(stream).await` per connection ([`Accepted::Tls`] is served as HTTP).
//! 5. The plain-HTTP port: `tls.answer_http_port(stream, https_port, &limits).await` per connection
//!    (or `tls.http_port_response(head, https_port)` with the hub's own head reading).
//! 6. `tls.status()` for health and metrics; `offline_status(settings, data_dir)` for the CLI.
//! 7. Agents: `client_config(&HubTrust::..)` and `plain_http_allowed(url, insecure)`.

mod acme;
mod certinfo;
mod client;
mod http_client;
mod manager;
mod renew;
mod resolver;
mod selfsigned;
mod serve;
mod settings;
mod sniff;
mod status;
mod store;

pub use acme::alpn_certificate;
pub use certinfo::{CertError, CertInfo, Loaded, describe, describe_pem_file, fingerprint, load_pair};
pub use client::{
    ClientError, HubTrust, client_config, normalize_pin, plain_http_allowed, roots_from_file, system_roots,
};
pub use http_client::{GCE_METADATA_BASE, HttpError, discover_public_ip};
pub use manager::{Options, Tls, TlsError};
pub use resolver::{ACME_TLS_ALPN, Challenges, HTTP01_PREFIX, Resolver, sni_for};
pub use selfsigned::generate as generate_self_signed;
pub use serve::{Accepted, HandshakeError, HandshakeLimits, HandshakeStats, Handshaker, read_head, server_config};
pub use settings::{
    AUTO_IP, Challenge, Identifier, LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING, Mode, SHORTLIVED_PROFILE, Settings,
    SettingsError,
};
pub use sniff::{Sniffed, http_port_response, redirect_response, sniff};
pub use status::{Backoff, State, Status, offline_status, state_at, third_left};
pub use store::Store;
