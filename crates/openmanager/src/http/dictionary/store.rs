//! The recent answers of the polled reads that clients may hold as compression dictionaries,
//! keyed by path and SHA-256. Bounded three ways (answers per path, answers in all, bytes in all):
//! a client polling every few seconds needs only the answer it got last, so a few per path cover
//! several clients polling out of step; an evicted dictionary costs that client one br answer.

use std::collections::VecDeque;

use bytes::Bytes;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// The SHA-256 of a dictionary, as `Available-Dictionary` names it.
pub type Hash = [u8; 32];

/// What the store keeps at most.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Answers kept per path (the newest).
    pub per_path: usize,
    /// Answers kept in all, whatever their path.
    pub entries: usize,
    /// Bytes of answers kept in all.
    pub bytes: usize,
    /// A larger answer is not offered as a dictionary.
    pub entry_bytes: usize,
}

impl Default for Bounds {
    /// Eight answers per path: eight clients polling the same path out of step each find theirs.
    /// 4 MiB in all is about 500 answers of `/api/servers` with the default fleet (8.5 KB), so in
    /// practice `entries` (64) binds first; 512 KiB per answer is a fleet of about 500 servers.
    fn default() -> Self {
        Self { per_path: 8, entries: 64, bytes: 4 << 20, entry_bytes: 512 << 10 }
    }
}

struct Entry {
    path: Box<str>,
    hash: Hash,
    body: Bytes,
}

/// Oldest first; a linear scan over at most `Bounds::entries` answers.
pub struct Dictionaries {
    bounds: Bounds,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Entry>,
    bytes: usize,
}

pub fn hash(body: &[u8]) -> Hash {
    Sha256::digest(body).into()
}

impl Dictionaries {
    pub fn new(bounds: Bounds) -> Self {
        Self { bounds, inner: Mutex::new(Inner::default()) }
    }

    /// Keeps `body` as the newest dictionary of `path` and returns its hash, or `None` when it is
    /// too large to offer.
    pub fn remember(&self, path: &str, body: &Bytes) -> Option<Hash> {
        if body.len() > self.bounds.entry_bytes || body.is_empty() {
            return None;
        }
        let h = hash(body);
        let mut inner = self.inner.lock();
        // The same answer again (nothing changed): it moves to the newest place.
        if let Some(i) = inner.entries.iter().position(|e| e.hash == h && &*e.path == path)
            && let Some(e) = inner.entries.remove(i)
        {
            inner.entries.push_back(e);
            return Some(h);
        }
        inner.bytes += body.len();
        inner.entries.push_back(Entry { path: path.into(), hash: h, body: body.clone() });
        let of_path = inner.entries.iter().filter(|e| &*e.path == path).count();
        if of_path > self.bounds.per_path
            && let Some(i) = inner.entries.iter().position(|e| &*e.path == path)
            && let Some(old) = inner.entries.remove(i)
        {
            inner.bytes -= old.body.len();
        }
        while inner.entries.len() > self.bounds.entries || inner.bytes > self.bounds.bytes {
            let Some(old) = inner.entries.pop_front() else { break };
            inner.bytes -= old.body.len();
        }
        Some(h)
    }

    /// The dictionary of `path` with this hash, if it is still kept.
    pub fn get(&self, path: &str, hash: &Hash) -> Option<Bytes> {
        let inner = self.inner.lock();
        inner.entries.iter().rev().find(|e| &e.hash == hash && &*e.path == path).map(|e| e.body.clone())
    }

    /// The largest answer kept (a larger one is not offered).
    pub fn entry_bytes(&self) -> usize {
        self.bounds.entry_bytes
    }

    /// (answers, bytes) kept now.
    pub fn size(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn keeps_the_newest_answers_of_each_path_within_its_bounds() {
        let d = Dictionaries::new(Bounds { per_path: 2, entries: 3, bytes: 1000, entry_bytes: 10 });
        let h1 = d.remember("/a", &b("one")).unwrap();
        let h2 = d.remember("/a", &b("two")).unwrap();
        let h3 = d.remember("/a", &b("three")).unwrap();
        assert!(d.get("/a", &h1).is_none(), "a third answer of /a pushes out the first");
        assert_eq!(d.get("/a", &h2).unwrap(), b("two"));
        assert!(d.get("/b", &h3).is_none(), "a hash is looked up within its path");
        d.remember("/b", &b("x")).unwrap();
        d.remember("/c", &b("y")).unwrap();
        assert_eq!(d.size().0, 3);
        assert!(d.get("/a", &h2).is_none(), "the oldest goes first past the total");
        assert!(d.remember("/a", &b("far too long")).is_none());
        // The same answer twice is kept once.
        d.remember("/c", &b("y")).unwrap();
        assert_eq!(d.size(), (3, 7));
    }

    #[test]
    fn the_byte_bound_holds() {
        let d = Dictionaries::new(Bounds { per_path: 8, entries: 64, bytes: 10, entry_bytes: 10 });
        for s in ["aaaa", "bbbb", "cccc", "dddd"] {
            d.remember("/a", &b(s)).unwrap();
        }
        assert_eq!(d.size(), (2, 8));
    }
}
