//! One ACME (RFC 8555) issuance with instant-acme: the account (created once, saved), the order
//! (resumed after a restart), the challenges (tls-alpn-01 certificates or http-01 answers handed to
//! the serving side), the CSR from a fresh key, and the certificate. Also the CA's renewal
//! information (ARI, RFC 9773) and the profile choice.

use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeType, Identifier as AcmeId, NewAccount, NewOrder,
    Order, OrderStatus, RetryPolicy,
};
use jiff::Timestamp;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use crate::http_client::{AcmeHttp, error_chain};
use crate::resolver::Challenges;
use crate::settings::{Challenge, SHORTLIVED_PROFILE};
use crate::store::{self, AccountFile, OrderFile, Store};

/// A failed step of an issuance, for logs and `status().last_error`.
#[derive(Debug, thiserror::Error)]
#[error("{stage}: {detail}")]
pub struct AcmeError {
    pub stage: &'static str,
    pub detail: String,
}

fn fail(stage: &'static str) -> impl Fn(instant_acme::Error) -> AcmeError {
    move |e| AcmeError { stage, detail: error_chain(&e) }
}

fn fail_msg(stage: &'static str, detail: impl Into<String>) -> AcmeError {
    AcmeError { stage, detail: detail.into() }
}

/// Orders older than this are not resumed (the CA expires pending authorizations after days, but a
/// stale order is cheaper to replace than to diagnose).
const ORDER_RESUME_WINDOW: i64 = 24 * 3600;

/// The saved account for `directory_url`, or a new one (saved before it is used).
pub async fn account(
    store: &Store,
    http: &reqwest::Client,
    directory_url: &str,
    contact: Option<&str>,
) -> Result<Account, AcmeError> {
    if let Some(saved) = store.read_json::<AccountFile>(store::ACCOUNT)
        && saved.directory_url == directory_url
    {
        return Account::builder_with_http(Box::new(AcmeHttp(http.clone())))
            .from_credentials(saved.credentials)
            .await
            .map_err(fail("ACME directory"));
    }
    let contacts: Vec<&str> = contact.into_iter().collect();
    let new = NewAccount { contact: &contacts, terms_of_service_agreed: true, only_return_existing: false };
    let (account, credentials) = Account::builder_with_http(Box::new(AcmeHttp(http.clone())))
        .create(&new, directory_url.to_owned(), None)
        .await
        .map_err(fail("new account"))?;
    let file = AccountFile { directory_url: directory_url.to_owned(), credentials };
    store.write_json(store::ACCOUNT, &file).map_err(|e| fail_msg("saving the account", e.to_string()))?;
    tracing::info!(account = account.id(), directory = directory_url, "ACME account created");
    Ok(account)
}

/// The profile to order: the configured one if the CA offers it; by default `shortlived` for IP
/// identifiers when offered; nothing when the CA lists no profiles (said in the log).
pub fn choose_profile(account: &Account, configured: Option<&str>, has_ip: bool) -> Result<Option<String>, AcmeError> {
    let offered: Vec<String> = account.profiles().map(|p| p.name.to_owned()).collect();
    let wanted = configured.map(str::to_owned).or_else(|| has_ip.then(|| SHORTLIVED_PROFILE.to_owned()));
    let Some(wanted) = wanted else {
        return Ok(None);
    };
    if offered.is_empty() {
        tracing::info!(profile = %wanted, "the ACME CA lists no profiles; ordering with its default");
        return Ok(None);
    }
    if offered.contains(&wanted) {
        return Ok(Some(wanted));
    }
    if configured.is_some() {
        return Err(fail_msg("tls.profile", format!("the CA offers {offered:?}, not `{wanted}`")));
    }
    tracing::warn!(offered = ?offered, "the ACME CA does not offer `shortlived`; ordering with its default profile");
    Ok(None)
}

/// What to order.
pub struct IssueRequest<'a> {
    pub directory_url: &'a str,
    pub identifiers: &'a [String],
    pub profile: Option<&'a str>,
    pub challenge: Challenge,
    /// The certificate this one replaces (ARI `replaces`), when the CA supports ARI.
    pub replaces: Option<&'a CertificateDer<'static>>,
    /// Bound on waiting for validation and for the certificate.
    pub poll_timeout: Duration,
}

/// A new certificate chain (PEM, leaf first) and its key (PEM).
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
}

/// Runs one issuance. Challenge answers are published in `challenges` while it runs and removed after.
pub async fn issue(
    account: &Account,
    store: &Store,
    challenges: &Challenges,
    req: &IssueRequest<'_>,
) -> Result<Issued, AcmeError> {
    let result = issue_inner(account, store, challenges, req).await;
    challenges.clear();
    result
}

async fn issue_inner(
    account: &Account,
    store: &Store,
    challenges: &Challenges,
    req: &IssueRequest<'_>,
) -> Result<Issued, AcmeError> {
    let (mut order, saved) = match resume(account, store, req).await {
        Some(found) => found,
        None => new_order(account, store, req).await?,
    };
    let retry = RetryPolicy::new().initial_delay(Duration::from_millis(250)).backoff(1.5).timeout(req.poll_timeout);
    if matches!(order.state().status, OrderStatus::Pending) {
        answer_challenges(&mut order, challenges, req.challenge).await?;
        let status = order.poll_ready(&retry).await.map_err(fail("validation"))?;
        if status != OrderStatus::Ready {
            return Err(fail_msg("validation", invalid_reason(&mut order).await));
        }
    }
    if matches!(order.state().status, OrderStatus::Ready) {
        let csr = csr(&saved)?;
        order.finalize_csr(&csr).await.map_err(fail("finalize"))?;
    }
    let chain_pem = order.poll_certificate(&retry).await.map_err(fail("certificate download"))?;
    let _ = store.remove(store::ORDER);
    Ok(Issued { chain_pem, key_pem: saved.key_pem })
}

async fn resume(account: &Account, store: &Store, req: &IssueRequest<'_>) -> Option<(Order, OrderFile)> {
    let saved: OrderFile = store.read_json(store::ORDER)?;
    let fresh = Timestamp::now().as_second() - saved.created.as_second() < ORDER_RESUME_WINDOW;
    if !fresh || saved.directory_url != req.directory_url || saved.identifiers != req.identifiers {
        let _ = store.remove(store::ORDER);
        return None;
    }
    if let Ok(mut order) = account.order(saved.url.clone()).await {
        let status = order.state().status;
        if status != OrderStatus::Invalid {
            tracing::info!(order = %saved.url, status = ?status, "resuming the saved ACME order");
            return Some((order, saved));
        }
    }
    let _ = store.remove(store::ORDER);
    None
}

async fn new_order(account: &Account, store: &Store, req: &IssueRequest<'_>) -> Result<(Order, OrderFile), AcmeError> {
    let ids: Vec<AcmeId> =
        req.identifiers.iter().map(|s| s.parse().map_or_else(|_| AcmeId::Dns(s.clone()), AcmeId::Ip)).collect();
    let replaces = req.replaces.and_then(|der| CertificateIdentifier::try_from(der).ok());
    let order = {
        let mut new = NewOrder::new(&ids);
        if let Some(p) = req.profile {
            new = new.profile(p);
        }
        match replaces {
            Some(r) => match account.new_order(&new.replaces(r)).await {
                Ok(o) => Ok(o),
                Err(e) => {
                    // `replaces` is advisory; a CA that refuses it (already replaced, unknown) still
                    // issues without it.
                    tracing::info!(error = %error_chain(&e), "order with ARI `replaces` refused; ordering without");
                    let mut plain = NewOrder::new(&ids);
                    if let Some(p) = req.profile {
                        plain = plain.profile(p);
                    }
                    account.new_order(&plain).await
                }
            },
            None => account.new_order(&new).await,
        }
    }
    .map_err(fail("new order"))?;
    let key = KeyPair::generate().map_err(|e| fail_msg("key generation", e.to_string()))?;
    let saved = OrderFile {
        url: order.url().to_owned(),
        directory_url: req.directory_url.to_owned(),
        identifiers: req.identifiers.to_vec(),
        key_pem: key.serialize_pem(),
        created: Timestamp::now(),
    };
    store.write_json(store::ORDER, &saved).map_err(|e| fail_msg("saving the order", e.to_string()))?;
    Ok((order, saved))
}

async fn answer_challenges(order: &mut Order, challenges: &Challenges, kind: Challenge) -> Result<(), AcmeError> {
    let wanted = match kind {
        Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
        Challenge::Http01 => ChallengeType::Http01,
    };
    let mut authzs = order.authorizations();
    while let Some(next) = authzs.next().await {
        let mut authz = next.map_err(fail("authorization"))?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => return Err(fail_msg("authorization", format!("{:?} is {other:?}", authz.identifier()))),
        }
        let offered: Vec<ChallengeType> = authz.challenges.iter().map(|c| c.r#type.clone()).collect();
        let Some(mut challenge) = authz.challenge(wanted.clone()) else {
            return Err(fail_msg("challenge", format!("the CA does not offer {wanted:?} (offers {offered:?})")));
        };
        let identifier = challenge.identifier().identifier.to_string_plain();
        let key_auth = challenge.key_authorization();
        match kind {
            Challenge::Http01 => challenges.add_http(&challenge.token, key_auth.as_str()),
            Challenge::TlsAlpn01 => {
                challenges.add_alpn(&identifier, alpn_certificate(&identifier, key_auth.digest().as_ref())?)
            }
        }
        challenge.set_ready().await.map_err(fail("challenge"))?;
    }
    Ok(())
}

/// Why an order became invalid: the first challenge error the CA reports.
async fn invalid_reason(order: &mut Order) -> String {
    let mut authzs = order.authorizations();
    while let Some(Ok(mut authz)) = authzs.next().await {
        if let Ok(state) = authz.refresh().await {
            for c in &state.challenges {
                if let Some(e) = &c.error {
                    return format!("{}: {e}", state.identifier().identifier.to_string_plain());
                }
            }
        }
    }
    "the order became invalid without a reason".to_owned()
}

/// The tls-alpn-01 certificate for `identifier` (RFC 8737): self-signed, the identifier as its only SAN,
/// and the critical acmeIdentifier extension holding SHA-256 of the key authorization.
pub fn alpn_certificate(identifier: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>, AcmeError> {
    let err = |e: rcgen::Error| fail_msg("tls-alpn-01 certificate", e.to_string());
    if digest.len() != 32 {
        return Err(fail_msg("tls-alpn-01 certificate", "the key authorization digest is not SHA-256"));
    }
    let mut params = CertificateParams::new(vec![identifier.to_owned()]).map_err(err)?;
    params.distinguished_name = DistinguishedName::new();
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let key = KeyPair::generate().map_err(err)?;
    let cert = params.self_signed(&key).map_err(err)?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = rustls::crypto::ring::default_provider();
    let signing =
        provider.key_provider.load_private_key(der).map_err(|e| fail_msg("tls-alpn-01 certificate", e.to_string()))?;
    // Not `CertifiedKey::from_der`: its key check parses the certificate with webpki, which refuses the
    // critical acmeIdentifier extension; the key was made right here, so the pair matches.
    Ok(Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing)))
}

fn csr(saved: &OrderFile) -> Result<Vec<u8>, AcmeError> {
    let err = |e: rcgen::Error| fail_msg("CSR", e.to_string());
    let key = KeyPair::from_pem(&saved.key_pem).map_err(err)?;
    let mut params = CertificateParams::new(saved.identifiers.clone()).map_err(err)?;
    params.distinguished_name = DistinguishedName::new();
    Ok(params.serialize_request(&key).map_err(err)?.der().to_vec())
}

/// The CA's suggested renewal window for `leaf` and when to ask again; `Ok(None)` when the CA does
/// not offer ARI.
pub async fn renewal_info(
    account: &Account,
    leaf: &CertificateDer<'static>,
) -> Result<Option<(Timestamp, Timestamp, Duration)>, AcmeError> {
    let Ok(id) = CertificateIdentifier::try_from(leaf) else {
        return Ok(None); // no authority key identifier: ARI cannot name this certificate
    };
    match account.renewal_info(&id).await {
        Ok((info, retry_after)) => {
            let ts = |t: i64| Timestamp::from_second(t).map_err(|e| fail_msg("renewal info", e.to_string()));
            let w = info.suggested_window;
            Ok(Some((ts(w.start.unix_timestamp())?, ts(w.end.unix_timestamp())?, retry_after)))
        }
        Err(instant_acme::Error::Unsupported(_)) => Ok(None),
        Err(e) => Err(fail("renewal info")(e)),
    }
}

trait PlainString {
    fn to_string_plain(&self) -> String;
}

impl PlainString for AcmeId {
    /// The identifier's value alone (a DNS name or an IP address).
    fn to_string_plain(&self) -> String {
        match self {
            AcmeId::Dns(s) => s.clone(),
            AcmeId::Ip(ip) => ip.to_string(),
            AcmeId::PermanentIdentifier(s) | AcmeId::HardwareModule(s) => s.clone(),
            _ => String::new(),
        }
    }
}
