//! `acme` mode's task: issue when there is no fitting certificate, renew when a third of the lifetime is
//! left (or earlier when the CA's renewal information says so), retry failures with back-off, and swap
//! each new certificate in. One process renews at a time per data directory (a file lock), so a SIGUSR2
//! predecessor and its successor never order twice; the other picks the result up from disk.

use std::time::Duration;

use instant_acme::Account;
use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::acme::{self, IssueRequest};
use crate::certinfo::load_pair;
use crate::http_client::acme_reqwest;
use crate::manager::{Tls, TlsError};
use crate::status::next_renewal;
use crate::store::{self, AriWindow, Store};

/// ARI is asked again at most this often, and at least this rarely.
const ARI_MIN_RECHECK: Duration = Duration::from_secs(3600);
const ARI_MAX_RECHECK: Duration = Duration::from_secs(24 * 3600);

impl Tls {
    pub(crate) async fn run_acme(
        &self,
        cancel: &CancellationToken,
        heartbeat: &(impl Fn() + Send + Sync),
    ) -> Result<(), TlsError> {
        let http = match acme_reqwest(&self.inner.settings.ca_roots) {
            Ok(h) => h,
            Err(e) => {
                self.record_failure(&e.to_string());
                return Err(e.into());
            }
        };
        let mut account: Option<Account> = None;
        loop {
            heartbeat();
            self.reload_acme_from_disk();
            self.refresh_ari(&http, &mut account).await;
            let now = Timestamp::now();
            let due = self.due(now);
            let forced = self.live().forced;
            if forced || now >= due {
                self.live().forced = false;
                self.attempt(&http, &mut account, cancel).await;
                if cancel.is_cancelled() {
                    return Ok(());
                }
                continue;
            }
            let wait = Duration::try_from(due.duration_since(now)).unwrap_or_default();
            if self.pause(cancel, wait.min(self.inner.options.reload_interval)).await {
                return Ok(());
            }
        }
    }

    /// When the next attempt is due (also saved in the record for status).
    fn due(&self, now: Timestamp) -> Timestamp {
        let directory = self.inner.settings.resolved_directory_url().to_owned();
        let static_ids = self.static_identifiers();
        let mut live = self.live();
        let wanted = live.resolved.clone().unwrap_or(static_ids);
        let fits = live.info.as_ref().is_some_and(|c| c.covers(&wanted))
            && live.record.issued_by.as_deref().is_none_or(|by| by == directory);
        let due = next_renewal(
            live.info.as_ref(),
            fits,
            live.record.ari.as_ref(),
            &live.record,
            &self.inner.options.backoff,
            now,
        );
        live.record.next_renewal = Some(due);
        due
    }

    /// The identifiers known without network IO (`auto-ip` left out until it is discovered).
    fn static_identifiers(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for id in self.inner.settings.parsed_identifiers().unwrap_or_default() {
            if id != crate::settings::Identifier::AutoIp {
                ids.push(id.to_string());
            }
        }
        ids
    }

    async fn attempt(&self, http: &reqwest::Client, account: &mut Option<Account>, cancel: &CancellationToken) {
        let store = &self.inner.store;
        let lock = match store.try_lock() {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                tracing::debug!("another process is renewing the certificate; waiting for its result");
                let _ = self.pause(cancel, self.inner.options.reload_interval).await;
                return;
            }
            Err(e) => {
                self.record_failure(&format!("renewal lock: {e}"));
                return;
            }
        };
        // The other process may have finished while we waited for the lock.
        if self.reload_acme_from_disk() && Timestamp::now() < self.due(Timestamp::now()) {
            return;
        }
        let timeout = self.inner.options.issue_timeout;
        let outcome = tokio::select! {
            r = tokio::time::timeout(timeout, self.issue_once(http, account)) => {
                r.unwrap_or_else(|_| Err(format!("issuance did not finish within {}s", timeout.as_secs())))
            }
            // Shutting down is not a failure; a saved order is resumed by the next process.
            _ = cancel.cancelled() => Ok(()),
        };
        self.challenges().clear();
        match outcome {
            Ok(()) => {}
            Err(why) => {
                // A fresh directory fetch next time: the failure may have been the CA or the network.
                *account = None;
                self.record_failure(&why);
            }
        }
        drop(lock);
    }

    async fn issue_once(&self, http: &reqwest::Client, account: &mut Option<Account>) -> Result<(), String> {
        let settings = &self.inner.settings;
        let store = &self.inner.store;
        let directory = settings.resolved_directory_url().to_owned();
        let identifiers = self.resolve_identifiers().await.map_err(|e| e.to_string())?;
        let acct = self.account(http, account).await?;
        let has_ip = identifiers.iter().any(|i| i.parse::<std::net::IpAddr>().is_ok());
        let profile = acme::choose_profile(&acct, settings.profile.as_deref(), has_ip).map_err(|e| e.to_string())?;
        let (replaces, ari_known) = {
            let live = self.live();
            (live.leaf.clone(), live.record.ari.as_ref().is_some_and(|w| w.offered))
        };
        let req = IssueRequest {
            directory_url: &directory,
            identifiers: &identifiers,
            profile: profile.as_deref(),
            challenge: settings.challenge,
            // `replaces` only where the CA is known to speak ARI (instant-acme refuses it otherwise).
            replaces: replaces.as_ref().filter(|_| ari_known),
            poll_timeout: self.inner.options.poll_timeout,
        };
        tracing::info!(identifiers = ?identifiers, profile = ?profile, challenge = ?settings.challenge, "ordering a TLS certificate");
        let issued =
            acme::issue(&acct, store, self.inner.resolver.challenges(), &req).await.map_err(|e| e.to_string())?;
        let provider = rustls::crypto::ring::default_provider();
        let loaded = load_pair(issued.chain_pem.as_bytes(), issued.key_pem.as_bytes(), &provider)
            .map_err(|e| format!("the CA's certificate: {e}"))?;
        // Key first: a process reading the pair mid-way sees a mismatch and retries, never a wrong pair.
        let io = |e: std::io::Error| format!("saving the certificate in {}: {e}", store.dir().display());
        store.write(store::ACME_KEY, issued.key_pem.as_bytes()).map_err(io)?;
        store.write(store::ACME_CERT, issued.chain_pem.as_bytes()).map_err(io)?;
        let versions =
            (Store::signature(&store.path(store::ACME_CERT)), Store::signature(&store.path(store::ACME_KEY)));
        tracing::info!(
            serial = %loaded.info.serial, not_after = %loaded.info.not_after, issuer = %loaded.info.issuer,
            identifiers = ?loaded.info.identifiers, "TLS certificate issued and in service"
        );
        self.install(loaded, Some(versions));
        {
            let mut live = self.live();
            let rec = &mut live.record;
            rec.renewals_succeeded += 1;
            rec.failures_in_a_row = 0;
            rec.last_attempt_failed = false;
            rec.last_success_at = Some(Timestamp::now());
            rec.issued_by = Some(directory);
            rec.ari = None;
        }
        let _ = self.due(Timestamp::now());
        self.save_record();
        Ok(())
    }

    /// Asks the CA for its renewal window when it is time to (only a CA that offers ARI answers; the
    /// answer, or its absence, is kept until the next check so the CA is not asked on every loop).
    async fn refresh_ari(&self, http: &reqwest::Client, account: &mut Option<Account>) {
        let (leaf, ari_id, next_check) = {
            let live = self.live();
            let Some(info) = live.info.as_ref() else { return };
            let next =
                live.record.ari.as_ref().filter(|w| Some(&w.cert_id) == info.ari_id.as_ref()).map(|w| w.next_check);
            (live.leaf.clone(), info.ari_id.clone(), next)
        };
        let (Some(leaf), Some(ari_id)) = (leaf, ari_id) else { return };
        let now = Timestamp::now();
        if next_check.is_some_and(|t| now < t) {
            return;
        }
        let later = |d: Duration| now.checked_add(SignedDuration::try_from(d).unwrap_or_default()).unwrap_or(now);
        let not_offered = |next_check| AriWindow {
            cert_id: ari_id.clone(),
            start: now,
            end: now,
            chosen: now,
            next_check,
            offered: false,
        };
        let window = match self.account(http, account).await {
            Err(e) => {
                tracing::debug!(error = %e, "renewal information not fetched");
                not_offered(later(ARI_MIN_RECHECK))
            }
            Ok(acct) => match acme::renewal_info(&acct, &leaf).await {
                Ok(Some((start, end, retry_after))) => {
                    let chosen = pick_in_window(start, end, now);
                    tracing::info!(start = %start, end = %end, chosen = %chosen, "the CA's renewal window (ARI)");
                    let next_check = later(retry_after.clamp(ARI_MIN_RECHECK, ARI_MAX_RECHECK));
                    AriWindow { cert_id: ari_id.clone(), start, end, chosen, next_check, offered: true }
                }
                // No ARI at this CA: the third-of-lifetime rule alone.
                Ok(None) => not_offered(later(ARI_MAX_RECHECK)),
                Err(e) => {
                    tracing::info!(error = %e, "renewal information (ARI) unavailable; using the third-of-lifetime rule");
                    not_offered(later(ARI_MIN_RECHECK))
                }
            },
        };
        // A window already known for this certificate stays in force until the CA answers again.
        let mut live = self.live();
        let keep = live.record.ari.as_ref().is_some_and(|w| w.offered && w.cert_id == ari_id) && !window.offered;
        match (keep, live.record.ari.as_mut()) {
            (true, Some(w)) => w.next_check = window.next_check,
            _ => live.record.ari = Some(window),
        }
        drop(live);
        self.save_record();
    }

    /// The account, created or restored once and reused until a failure.
    async fn account(&self, http: &reqwest::Client, account: &mut Option<Account>) -> Result<Account, String> {
        if let Some(a) = account {
            return Ok(a.clone());
        }
        let settings = &self.inner.settings;
        let a = acme::account(
            &self.inner.store,
            http,
            settings.resolved_directory_url(),
            settings.contact_uri().as_deref(),
        )
        .await
        .map_err(|e| e.to_string())?;
        *account = Some(a.clone());
        Ok(a)
    }

    pub(crate) fn record_failure(&self, why: &str) {
        {
            let mut live = self.live();
            let rec = &mut live.record;
            rec.renewals_failed += 1;
            rec.failures_in_a_row = rec.failures_in_a_row.saturating_add(1);
            rec.last_attempt_failed = true;
            rec.last_error = Some(why.to_owned());
            rec.last_error_at = Some(Timestamp::now());
        }
        let due = self.due(Timestamp::now());
        tracing::warn!(error = %why, retry_at = %due, "TLS certificate renewal failed; the current certificate stays in service");
        self.save_record();
    }

    fn save_record(&self) {
        let record = self.live().record.clone();
        if let Err(e) = self.inner.store.write_json(store::STATE, &record) {
            tracing::warn!(error = %e, "cannot save the TLS renewal record");
        }
    }
}

/// A uniformly random instant in `[start, end)`, or `now` when the window has begun... and passed.
fn pick_in_window(start: Timestamp, end: Timestamp, now: Timestamp) -> Timestamp {
    if end <= now {
        return now;
    }
    let from = start.max(now);
    let span = end.as_second() - from.as_second();
    if span <= 0 {
        return from;
    }
    let mut bytes = [0u8; 8];
    let r = if getrandom::fill(&mut bytes).is_ok() { u64::from_le_bytes(bytes) } else { 0 };
    let offset = (r % span as u64) as i64;
    Timestamp::from_second(from.as_second() + offset).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_pick_falls_inside_the_window_or_now() {
        let t = |s| Timestamp::from_second(s).unwrap();
        for _ in 0..100 {
            let p = pick_in_window(t(1000), t(2000), t(10));
            assert!(p >= t(1000) && p < t(2000));
            let p = pick_in_window(t(1000), t(2000), t(1500));
            assert!(p >= t(1500) && p < t(2000));
        }
        assert_eq!(pick_in_window(t(1000), t(2000), t(3000)), t(3000));
    }
}
