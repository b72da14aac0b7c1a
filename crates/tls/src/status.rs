//! What the hub shows of its certificate (`/api/health` `checks.tls`, Prometheus, `openmanager tls
//! status`), the state rule (ok, expiring, expired, renewal-failing), and the renewal timing rule
//! (a third of the lifetime left, earlier if the CA's renewal information says so, back-off on failure).
//! Pure: the caller passes the time.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::certinfo::{CertInfo, describe_pem_file};
use crate::settings::{Mode, Settings};
use crate::store::{self, AriWindow, Record, Store};

/// The certificate's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// TLS is off.
    Off,
    /// No certificate yet (first issuance pending, or no usable files).
    Missing,
    /// More than a third of the lifetime left.
    Ok,
    /// Less than a third left (renewal due; in `files` and `self-signed` modes, replace it).
    Expiring,
    /// Past its notAfter.
    Expired,
    /// Less than a third left and the last renewal attempt failed.
    RenewalFailing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Off => "off",
            State::Missing => "missing",
            State::Ok => "ok",
            State::Expiring => "expiring",
            State::Expired => "expired",
            State::RenewalFailing => "renewal-failing",
        }
    }
}

/// The state at `now` of `cert`, given whether the last renewal attempt failed.
pub fn state_at(now: Timestamp, cert: Option<&CertInfo>, last_attempt_failed: bool) -> State {
    let Some(cert) = cert else {
        return State::Missing;
    };
    if now >= cert.not_after {
        return State::Expired;
    }
    if now >= third_left(cert) {
        return if last_attempt_failed { State::RenewalFailing } else { State::Expiring };
    }
    State::Ok
}

/// When a third of `cert`'s lifetime is left.
pub fn third_left(cert: &CertInfo) -> Timestamp {
    let third = cert.lifetime_seconds() / 3;
    Timestamp::from_second(cert.not_after.as_second() - third).unwrap_or(cert.not_after)
}

/// Retry delays after failures: `base` doubling per consecutive failure, at most `cap`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        // A Let's Encrypt shortlived certificate leaves 53 hours once a third is left: hourly retries
        // at most keep trying through a long outage without hammering the CA.
        Self { base: Duration::from_secs(60), cap: Duration::from_secs(3600) }
    }
}

impl Backoff {
    pub fn delay(&self, failures_in_a_row: u32) -> Duration {
        let factor = 1u32.checked_shl(failures_in_a_row.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// When the next renewal attempt is due. `cert_fits` says whether the certificate on hand covers the
/// configured identifiers from the configured CA (if not, renew now). An ARI window for this very
/// certificate brings the date forward, never later than a third of the lifetime left. After a failure
/// the attempt waits for the back-off.
pub fn next_renewal(
    cert: Option<&CertInfo>,
    cert_fits: bool,
    ari: Option<&AriWindow>,
    record: &Record,
    backoff: &Backoff,
    now: Timestamp,
) -> Timestamp {
    let mut due = match cert {
        Some(c) if cert_fits => {
            let third = third_left(c);
            match ari {
                Some(w) if w.offered && Some(&w.cert_id) == c.ari_id.as_ref() => third.min(w.chosen),
                _ => third,
            }
        }
        _ => now,
    };
    if record.last_attempt_failed && record.failures_in_a_row > 0 {
        let since = record.last_error_at.unwrap_or(now);
        let delay = backoff.delay(record.failures_in_a_row);
        let retry = since.checked_add(jiff::SignedDuration::try_from(delay).unwrap_or_default()).unwrap_or(since);
        due = due.max(retry);
    }
    due
}

/// Everything status shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub mode: Mode,
    pub state: State,
    /// The certificate's names and IPs (the configured ones while there is none).
    pub identifiers: Vec<String>,
    pub issuer: Option<String>,
    pub not_before: Option<Timestamp>,
    pub not_after: Option<Timestamp>,
    pub serial: Option<String>,
    /// SHA-256 of the certificate (hex, no colons): what `--pin-sha256` takes.
    pub sha256: Option<String>,
    pub next_renewal: Option<Timestamp>,
    /// `acme`: the most recent failed attempt's reason (kept after a later success, with its time;
    /// `state` says whether renewal is failing now). `files`: why the files on disk are not in use
    /// (cleared once a pair loads).
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    pub renewals_succeeded: u64,
    pub renewals_failed: u64,
    /// `files` mode: times the pair was reloaded after a change.
    pub reloads: u64,
}

impl Status {
    pub(crate) fn build(
        mode: Mode,
        cert: Option<&CertInfo>,
        configured: &[String],
        record: &Record,
        reloads: u64,
        now: Timestamp,
    ) -> Self {
        let state = if mode == Mode::Off { State::Off } else { state_at(now, cert, record.last_attempt_failed) };
        Self {
            mode,
            state,
            identifiers: cert.map_or_else(|| configured.to_vec(), |c| c.identifiers.clone()),
            issuer: cert.map(|c| c.issuer.clone()),
            not_before: cert.map(|c| c.not_before),
            not_after: cert.map(|c| c.not_after),
            serial: cert.map(|c| c.serial.clone()),
            sha256: cert.map(|c| c.sha256.clone()),
            next_renewal: if mode == Mode::Acme { record.next_renewal } else { None },
            last_error: record.last_error.clone(),
            last_error_at: record.last_error_at,
            renewals_succeeded: record.renewals_succeeded,
            renewals_failed: record.renewals_failed,
            reloads,
        }
    }

    /// notAfter in seconds since the epoch, for `openmanager_tls_certificate_expiry_timestamp_seconds`.
    pub fn expiry_timestamp_seconds(&self) -> Option<i64> {
        self.not_after.map(|t| t.as_second())
    }
}

/// Status from the files alone, without a running server (`openmanager tls status`): the certificate
/// the configured mode would serve and the saved renewal record.
pub fn offline_status(settings: &Settings, data_dir: &Path) -> Status {
    let store = Store::new(data_dir);
    let mut record: Record = store.read_json(store::STATE).unwrap_or_default();
    let cert_path = match settings.mode {
        Mode::Off => None,
        Mode::Files => settings.cert_path.clone(),
        Mode::Acme => Some(store.path(store::ACME_CERT)),
        Mode::SelfSigned => Some(store.path(store::SELF_SIGNED_CERT)),
    };
    if settings.mode != Mode::Acme {
        record = Record::default();
    }
    let cert = match cert_path.as_deref().map(describe_pem_file) {
        Some(Ok(info)) => Some(info),
        Some(Err(e)) if settings.mode == Mode::Files => {
            record.last_error = Some(e.to_string());
            None
        }
        _ => None,
    };
    Status::build(settings.mode, cert.as_ref(), &settings.identifiers, &record, 0, Timestamp::now())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn cert(nb: i64, na: i64) -> CertInfo {
        CertInfo {
            identifiers: vec!["127.0.0.1".into()],
            subject: String::new(),
            issuer: "CN=Test CA".into(),
            not_before: Timestamp::from_second(nb).unwrap(),
            not_after: Timestamp::from_second(na).unwrap(),
            serial: "1".into(),
            sha256: "00".into(),
            ari_id: Some("aki.serial".into()),
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn states_follow_the_third_rule() {
        let c = cert(0, 900); // a third left from 600
        assert_eq!(state_at(at(100), None, false), State::Missing);
        assert_eq!(state_at(at(599), Some(&c), false), State::Ok);
        assert_eq!(state_at(at(599), Some(&c), true), State::Ok);
        assert_eq!(state_at(at(600), Some(&c), false), State::Expiring);
        assert_eq!(state_at(at(600), Some(&c), true), State::RenewalFailing);
        assert_eq!(state_at(at(900), Some(&c), true), State::Expired);
    }

    #[test]
    fn renewal_is_due_at_a_third_or_earlier_by_ari() {
        let c = cert(0, 900);
        let rec = Record::default();
        let b = Backoff::default();
        assert_eq!(next_renewal(Some(&c), true, None, &rec, &b, at(10)), at(600));
        assert_eq!(next_renewal(Some(&c), false, None, &rec, &b, at(10)), at(10));
        assert_eq!(next_renewal(None, true, None, &rec, &b, at(10)), at(10));
        let w = AriWindow {
            cert_id: "aki.serial".into(),
            start: at(300),
            end: at(400),
            chosen: at(350),
            next_check: at(0),
            offered: true,
        };
        assert_eq!(next_renewal(Some(&c), true, Some(&w), &rec, &b, at(10)), at(350));
        let late = AriWindow { chosen: at(800), ..w.clone() };
        assert_eq!(next_renewal(Some(&c), true, Some(&late), &rec, &b, at(10)), at(600));
        let not_offered = AriWindow { offered: false, ..w.clone() };
        assert_eq!(next_renewal(Some(&c), true, Some(&not_offered), &rec, &b, at(10)), at(600));
        let other = AriWindow { cert_id: "another".into(), ..w };
        assert_eq!(next_renewal(Some(&c), true, Some(&other), &rec, &b, at(10)), at(600));
    }

    #[test]
    fn failures_back_off_and_cap() {
        let b = Backoff { base: Duration::from_secs(60), cap: Duration::from_secs(3600) };
        assert_eq!(b.delay(1), Duration::from_secs(60));
        assert_eq!(b.delay(2), Duration::from_secs(120));
        assert_eq!(b.delay(7), Duration::from_secs(3600));
        assert_eq!(b.delay(500), Duration::from_secs(3600));
        let c = cert(0, 900);
        let rec = Record {
            last_attempt_failed: true,
            failures_in_a_row: 2,
            last_error_at: Some(at(610)),
            ..Record::default()
        };
        assert_eq!(next_renewal(Some(&c), true, None, &rec, &b, at(611)), at(730));
    }
}
