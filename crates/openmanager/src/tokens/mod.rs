//! Tokens and scopes: who may call what. Tokens are kept only as SHA-256 digests and compared in
//! constant time against every known digest, so neither timing nor memory dumps reveal them. The
//! set is the admin token, the configured ones, and the issued ones (`issued`: made with
//! `openmanager token create`, kept in the store, reloaded while the server runs).

pub mod issued;

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use crate::config::{ADMIN_TOKEN_FILE as TOKEN_FILE, Scope};
use crate::config::{AuthConfig, MIN_TOKEN_LEN};

/// The caller a token belongs to.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    scopes: Vec<Scope>,
}

impl Principal {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }
}

struct Entry {
    digest: [u8; 32],
    principal: Principal,
}

/// Every token the server accepts: the fixed ones (admin, configuration) and the issued ones,
/// which are replaced as a whole when the store's list changes.
pub struct TokenSet {
    entries: Vec<Entry>,
    issued: parking_lot::RwLock<Vec<Entry>>,
}

pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl TokenSet {
    /// Builds the set from the admin token and the configured scoped tokens (already validated).
    pub fn new(admin_token: &str, auth: &AuthConfig) -> Self {
        let mut entries = vec![Entry {
            digest: digest(admin_token),
            principal: Principal { name: "admin".into(), scopes: vec![Scope::Admin] },
        }];
        for t in &auth.tokens {
            let d = match (&t.token, &t.sha256) {
                (Some(tok), _) => digest(tok.expose()),
                (None, Some(hexd)) => {
                    let mut d = [0u8; 32];
                    if hex::decode_to_slice(hexd, &mut d).is_err() {
                        continue; // rejected by validation already
                    }
                    d
                }
                (None, None) => continue,
            };
            entries.push(Entry { digest: d, principal: Principal { name: t.name.clone(), scopes: t.scopes.clone() } });
        }
        Self { entries, issued: parking_lot::RwLock::default() }
    }

    /// Replaces the issued tokens (those whose digest does not parse are skipped with a warning).
    /// Returns how many are in effect.
    pub fn set_issued(&self, tokens: &[issued::IssuedToken]) -> usize {
        let entries: Vec<Entry> = tokens
            .iter()
            .filter_map(|t| {
                let mut d = [0u8; 32];
                match hex::decode_to_slice(&t.sha256, &mut d) {
                    Ok(()) => Some(Entry {
                        digest: d,
                        principal: Principal { name: t.name.clone(), scopes: t.scopes.clone() },
                    }),
                    Err(_) => {
                        tracing::warn!(name = t.name, "skipping an issued token with an unreadable digest");
                        None
                    }
                }
            })
            .collect();
        let n = entries.len();
        *self.issued.write() = entries;
        n
    }

    /// The principal a presented token belongs to. Every entry is compared, matching or not, so the
    /// time taken does not depend on which one (if any) matched.
    pub fn authenticate(&self, presented: &str) -> Option<Principal> {
        let d = digest(presented);
        let mut found = None;
        let issued = self.issued.read();
        for e in self.entries.iter().chain(issued.iter()) {
            if bool::from(e.digest.ct_eq(&d)) && found.is_none() {
                found = Some(&e.principal);
            }
        }
        found.cloned()
    }
}

/// Where the admin token came from, so start-up can tell the user once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTokenOrigin {
    Configured,
    File(PathBuf),
    Generated(PathBuf),
}

/// Returns the configured admin token, or the one kept in the data directory, or a new one written
/// there with mode 0600.
pub fn admin_token(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<(String, AdminTokenOrigin)> {
    if let Some(t) = configured {
        return Ok((t.to_string(), AdminTokenOrigin::Configured));
    }
    let path = data_dir.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= MIN_TOKEN_LEN => return Ok((s.trim().to_string(), AdminTokenOrigin::File(path))),
        Ok(_) => anyhow::bail!(
            "{} holds no valid token (at least {MIN_TOKEN_LEN} characters); delete it to make a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    let token = generate_token()?;
    write_private(&path, &token)?;
    Ok((token, AdminTokenOrigin::Generated(path)))
}

/// A random token: `om_` and 64 hex digits (256 bits from the OS).
pub fn generate_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(format!("om_{}", hex::encode(bytes)))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, TokenConfig};

    #[test]
    fn scopes_and_constant_time_lookup() {
        let auth = AuthConfig {
            admin_token: None,
            tokens: vec![TokenConfig {
                name: "agent".into(),
                token: Some(Secret::new("i".repeat(40))),
                sha256: None,
                scopes: vec![Scope::Ingest],
            }],
        };
        let set = TokenSet::new(&"a".repeat(40), &auth);
        let admin = set.authenticate(&"a".repeat(40)).unwrap();
        assert!(admin.allows(Scope::Write) && admin.allows(Scope::Read));
        let agent = set.authenticate(&"i".repeat(40)).unwrap();
        assert!(agent.allows(Scope::Ingest) && !agent.allows(Scope::Read));
        assert!(set.authenticate("wrong").is_none());
    }

    #[test]
    fn sha256_tokens_match_their_clear_form() {
        let token = "t".repeat(40);
        let auth = AuthConfig {
            admin_token: None,
            tokens: vec![TokenConfig {
                name: "ro".into(),
                token: None,
                sha256: Some(hex::encode(digest(&token))),
                scopes: vec![Scope::Read],
            }],
        };
        let set = TokenSet::new(&"a".repeat(40), &auth);
        assert_eq!(set.authenticate(&token).map(|p| p.name), Some("ro".to_string()));
    }

    #[test]
    fn issued_tokens_take_effect_and_are_revoked_by_replacement() {
        let set = TokenSet::new(&"a".repeat(40), &AuthConfig::default());
        let token = "x".repeat(40);
        assert!(set.authenticate(&token).is_none());
        let issued = issued::IssuedToken {
            name: "edge".into(),
            sha256: hex::encode(digest(&token)),
            scopes: vec![Scope::Ingest],
            created_at: "2026-12-06T00:00:00Z".into(),
        };
        assert_eq!(set.set_issued(std::slice::from_ref(&issued)), 1);
        assert_eq!(set.authenticate(&token).map(|p| p.name), Some("edge".to_string()));
        set.set_issued(&[]);
        assert!(set.authenticate(&token).is_none());
    }

    #[test]
    fn generated_token_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (t1, o1) = admin_token(None, dir.path()).unwrap();
        assert!(matches!(o1, AdminTokenOrigin::Generated(_)));
        assert!(t1.len() >= MIN_TOKEN_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (t2, o2) = admin_token(None, dir.path()).unwrap();
        assert_eq!(t1, t2);
        assert!(matches!(o2, AdminTokenOrigin::File(_)));
    }
}
