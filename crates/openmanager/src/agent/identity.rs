//! Who this agent is to the hub: a machine id that survives restarts and renames, and the
//! displayed name.
//!
//! The id comes from `/etc/machine-id` when it is readable, hashed with a fixed salt so the raw id
//! (which other software treats as confidential) never leaves the host. Without it, a random id is
//! generated once and kept in the state directory.

use std::io::ErrorKind;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::AgentError;

/// The file under the state directory that keeps a generated id.
pub const MACHINE_ID_FILE: &str = "machine-id";

/// Fixed, so the same host always hashes to the same id; specific to this use, so the hash cannot
/// be matched against another program's hash of the same machine id.
const SALT: &[u8] = b"openmanager-agent/machine-id/v1:";

/// Hex characters kept: 64 bits, plenty to tell a fleet's hosts apart.
const ID_HEX_LEN: usize = 16;

/// The machine id: hashed `etc_machine_id` if it holds one, else the id stored in `state_dir`
/// (generated and stored on first use).
pub fn machine_id(etc_machine_id: &Path, state_dir: &Path) -> Result<String, AgentError> {
    if let Some(raw) = read_trimmed(etc_machine_id) {
        return Ok(hash_id(&raw));
    }
    let stored = state_dir.join(MACHINE_ID_FILE);
    if let Some(id) = read_trimmed(&stored).filter(|id| valid_id(id)) {
        return Ok(id);
    }
    let mut bytes = [0u8; ID_HEX_LEN / 2];
    getrandom::fill(&mut bytes).map_err(|e| AgentError::Random(e.to_string()))?;
    let id = hex::encode(bytes);
    // Written to a temporary name first so a crash cannot leave a half-written id behind.
    let tmp = state_dir.join(format!("{MACHINE_ID_FILE}.tmp"));
    std::fs::write(&tmp, format!("{id}\n")).map_err(|e| AgentError::io(&tmp, e))?;
    std::fs::rename(&tmp, &stored).map_err(|e| AgentError::io(&stored, e))?;
    tracing::info!(file = %stored.display(), "no readable /etc/machine-id; generated an agent id");
    Ok(id)
}

fn read_trimmed(path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => {
            tracing::debug!(file = %path.display(), error = %e, "cannot read machine id");
            None
        }
    }
}

fn hash_id(raw: &str) -> String {
    let mut h = Sha256::new();
    h.update(SALT);
    h.update(raw.as_bytes());
    let mut id = hex::encode(h.finalize());
    id.truncate(ID_HEX_LEN);
    id
}

/// What the hub accepts as a machine id (see `protocol::Report::validate`).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= protocol::MAX_NAME_LEN
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// The displayed name: `--name`, else the hostname, else the machine id; cut to the protocol's
/// length limit on a character boundary.
pub fn display_name(flag: Option<&str>, hostname: &str, machine_id: &str) -> String {
    let name = [flag.unwrap_or(""), hostname, machine_id].into_iter().map(str::trim).find(|s| !s.is_empty());
    let mut name = name.unwrap_or("agent").to_owned();
    while name.len() > protocol::MAX_NAME_LEN {
        name.pop();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_machine_id_is_stable_and_hides_the_raw_id() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc-machine-id");
        std::fs::write(&etc, "0123456789abcdef0123456789abcdef\n").unwrap();
        let a = machine_id(&etc, dir.path()).unwrap();
        let b = machine_id(&etc, dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), ID_HEX_LEN);
        assert!(valid_id(&a));
        assert!(!"0123456789abcdef0123456789abcdef".contains(&a));
        // Nothing is stored when the system id is used.
        assert!(!dir.path().join(MACHINE_ID_FILE).exists());
        std::fs::write(&etc, "another-machine\n").unwrap();
        assert_ne!(machine_id(&etc, dir.path()).unwrap(), a);
    }

    #[test]
    fn generated_id_is_stored_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-machine-id");
        let a = machine_id(&missing, dir.path()).unwrap();
        assert!(valid_id(&a));
        assert_eq!(std::fs::read_to_string(dir.path().join(MACHINE_ID_FILE)).unwrap().trim(), a);
        assert_eq!(machine_id(&missing, dir.path()).unwrap(), a, "a restart keeps the id");
        // An empty /etc/machine-id (as in some container images) counts as missing.
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert_eq!(machine_id(&empty, dir.path()).unwrap(), a);
        // A corrupt stored id is replaced rather than sent.
        std::fs::write(dir.path().join(MACHINE_ID_FILE), "../bad id").unwrap();
        let b = machine_id(&missing, dir.path()).unwrap();
        assert!(valid_id(&b));
        assert_ne!(b, a);
    }

    #[test]
    fn display_name_falls_back_and_is_bounded() {
        assert_eq!(display_name(Some("web-1"), "host", "id"), "web-1");
        assert_eq!(display_name(Some("  "), "host", "id"), "host");
        assert_eq!(display_name(None, "", "id"), "id");
        let long = "é".repeat(100);
        let name = display_name(Some(&long), "host", "id");
        assert!(name.len() <= protocol::MAX_NAME_LEN && name.chars().all(|c| c == 'é'));
    }
}
