//! The certificate state in `<data_dir>/tls/` (directory 0700, files 0600): the ACME account,
//! certificate and key, a pending order, the renewal record, the self-signed pair. Writes go to a
//! temporary file and are renamed, so a reader (a SIGUSR2 successor, `openmanager tls status`) sees
//! the old file or the new one, never half of one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub const ACCOUNT: &str = "account.json";
pub const ACME_CERT: &str = "acme-cert.pem";
pub const ACME_KEY: &str = "acme-key.pem";
pub const ORDER: &str = "order.json";
pub const STATE: &str = "state.json";
pub const SELF_SIGNED_CERT: &str = "self-signed-cert.pem";
pub const SELF_SIGNED_KEY: &str = "self-signed-key.pem";
const LOCK: &str = "renew.lock";
/// The largest JSON state file read.
const MAX_JSON: u64 = 256 * 1024;

/// `<data_dir>/tls`.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store under `data_dir` (nothing is created until [`Store::ensure`]).
    pub fn new(data_dir: &Path) -> Self {
        Self { dir: data_dir.join("tls") }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Creates the directory (0700), tightening it if it exists.
    pub fn ensure(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
    }

    /// Writes `name` atomically with mode 0600.
    pub fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.ensure()?;
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix).map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = self.dir.join(format!(".{name}.{}.tmp", hex::encode(suffix)));
        let result = (|| {
            let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, self.path(name))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Reads `name` (at most 1 MiB); `None` when it does not exist.
    pub fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match crate::certinfo::read_bounded(&self.path(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(crate::certinfo::CertError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(crate::certinfo::CertError::Io { cause, .. }) => Err(cause),
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    }

    pub fn remove(&self, name: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// A JSON file, `None` when absent or unreadable (logged: state is advisory and rebuilt).
    pub fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Option<T> {
        let bytes = match self.read(name) {
            Ok(b) => b?,
            Err(e) => {
                tracing::warn!(file = %self.path(name).display(), error = %e, "cannot read TLS state");
                return None;
            }
        };
        if bytes.len() as u64 > MAX_JSON {
            tracing::warn!(file = %self.path(name).display(), "TLS state file too large; ignored");
            return None;
        }
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(file = %self.path(name).display(), error = %e, "unreadable TLS state; ignored");
                None
            }
        }
    }

    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        self.write(name, &bytes)
    }

    /// The renewal lock, shared by every process on this data directory (a SIGUSR2 predecessor and
    /// its successor overlap for a while): `None` when another process holds it. Released on drop.
    pub fn try_lock(&self) -> io::Result<Option<File>> {
        self.ensure()?;
        let file = OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(self.path(LOCK))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    /// A cheap signature of a file's content version (modification time and length), to notice changes.
    pub fn signature(path: &Path) -> Option<(std::time::SystemTime, u64)> {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }
}

/// The ACME account as saved: the CA it belongs to and instant-acme's credentials (with the key).
#[derive(Serialize, Deserialize)]
pub struct AccountFile {
    pub directory_url: String,
    pub credentials: instant_acme::AccountCredentials,
}

/// An order in progress, so a restart resumes it instead of opening another (CA rate limits).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderFile {
    pub url: String,
    pub directory_url: String,
    pub identifiers: Vec<String>,
    /// The key the CSR is made from (PEM), kept so a certificate fetched after a restart matches it.
    pub key_pem: String,
    pub created: Timestamp,
}

/// The renewal record, read by status (also without a running server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Record {
    pub renewals_succeeded: u64,
    pub renewals_failed: u64,
    /// Consecutive failures (back-off), reset by a success.
    pub failures_in_a_row: u32,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    pub last_attempt_failed: bool,
    pub last_success_at: Option<Timestamp>,
    pub next_renewal: Option<Timestamp>,
    /// The directory that issued the certificate on disk (a change of CA renews at once).
    pub issued_by: Option<String>,
    pub ari: Option<AriWindow>,
}

/// The CA's suggested renewal window (RFC 9773) and our pick within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AriWindow {
    /// The certificate the window is for (ARI identifier).
    pub cert_id: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub chosen: Timestamp,
    /// When to ask again (the CA's Retry-After, bounded).
    pub next_check: Timestamp,
    /// False when the CA does not offer ARI or could not be asked (then only `next_check` counts).
    #[serde(default)]
    pub offered: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn files_are_private_and_replaced_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        store.write("a.pem", b"one").unwrap();
        store.write("a.pem", b"two").unwrap();
        assert_eq!(store.read("a.pem").unwrap().unwrap(), b"two");
        assert_eq!(store.read("missing").unwrap(), None);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.path("a.pem")), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
        // no temporary file left behind
        assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 1);
    }

    #[test]
    fn the_lock_is_exclusive_between_holders() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let held = store.try_lock().unwrap();
        assert!(held.is_some());
        assert!(store.try_lock().unwrap().is_none());
        drop(held);
        assert!(store.try_lock().unwrap().is_some());
    }

    #[test]
    fn a_record_survives_a_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let rec = Record { renewals_failed: 2, last_error: Some("CA down".into()), ..Record::default() };
        store.write_json(STATE, &rec).unwrap();
        assert_eq!(store.read_json::<Record>(STATE).unwrap(), rec);
        store.write(STATE, b"{not json").unwrap();
        assert_eq!(store.read_json::<Record>(STATE), None);
    }
}
