//! Key names: everything under the configured prefix, one short segment per primitive (`rl:`, `q:`,
//! `c:`, `co:`, `lease:`, `dd:`, `bus:`), and callers' free-form keys (addresses, token digests,
//! prompts) replaced by a SHA-256 digest, so a key's length is bounded and nothing a caller passes
//! is stored in clear.

use sha2::{Digest, Sha256};

use crate::config::valid_id;
use crate::error::{Error, Result};

#[derive(Clone)]
pub(crate) struct Keys {
    prefix: String,
}

/// Hex digits of the digest kept in a key: 128 bits, collisions are not a concern.
const DIGEST_HEX: usize = 32;

pub(crate) fn digest(key: &[u8]) -> String {
    let mut h = hex::encode(Sha256::digest(key));
    h.truncate(DIGEST_HEX);
    h
}

/// A name chosen by the code (a provider, a lease, a bus channel): 1-64 of `[A-Za-z0-9._:-]`.
pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    if valid_id(name) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!("{what} {name:?}: 1-64 characters of [A-Za-z0-9._:-]")))
    }
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    /// `<prefix><kind>:<digest of key>`.
    pub(crate) fn hashed(&self, kind: &str, key: &[u8]) -> String {
        format!("{}{kind}:{}", self.prefix, digest(key))
    }

    /// `<prefix><kind>:<name>` for a checked name.
    pub(crate) fn named(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }

    /// The Redis channel of bus channel `name`.
    pub(crate) fn bus_channel(&self, name: &str) -> String {
        format!("{}bus:{name}", self.prefix)
    }

    /// The pattern the bus subscribes to: every channel of this prefix.
    pub(crate) fn bus_pattern(&self) -> String {
        format!("{}bus:*", self.prefix)
    }

    /// The bus channel name of a Redis channel under this prefix.
    pub(crate) fn bus_name<'a>(&self, redis_channel: &'a str) -> Option<&'a str> {
        redis_channel.strip_prefix(self.prefix.as_str())?.strip_prefix("bus:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_bounded_and_opaque() {
        let k = Keys::new("om:");
        let long = "Bearer secret-token ".repeat(100);
        let key = k.hashed("rl", long.as_bytes());
        assert!(key.starts_with("om:rl:") && key.len() == "om:rl:".len() + DIGEST_HEX, "{key}");
        assert!(!key.contains("secret"));
        assert_eq!(k.hashed("rl", b"a"), k.hashed("rl", b"a"));
        assert_ne!(k.hashed("rl", b"a"), k.hashed("rl", b"b"));
        assert_eq!(k.named("lease", "alerts"), "om:lease:alerts");
        assert_eq!(k.bus_name(&k.bus_channel("fleet")), Some("fleet"));
        assert_eq!(k.bus_name("other:bus:fleet"), None);
        assert!(check_name("lease", "alerts.eval").is_ok());
        assert!(check_name("lease", "a b").is_err() && check_name("lease", "").is_err());
        assert!(check_name("channel", "x*").is_err());
    }
}
