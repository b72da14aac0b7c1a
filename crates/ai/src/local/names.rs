//! The names a question can use, indexed once per question (and its history) from the snapshot, so
//! finding them costs the same with 14 servers or 1,000: servers and checks by the parts of their ids
//! and names ("db-master" is db + master), each part in one canonical form (numbers without leading
//! zeros, Korean and synonyms in English: "디비", "database" -> db; "slave" -> replica).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::Facts;
use super::words::TOKEN_ALIASES;

/// A named thing and the canonical parts of each of its names (id, display name).
#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub names: Vec<Vec<String>>,
}

#[derive(Debug, Default)]
pub struct Names {
    pub servers: Vec<Named>,
    pub checks: Vec<Named>,
    /// Location names, lower case.
    pub locations: Vec<String>,
    /// Distinct provider names, lower case.
    pub providers: Vec<String>,
    /// Words the names are made of: spelling fixes leave them alone.
    pub known_words: HashSet<String>,
    /// The hub itself (source `self`).
    pub hub_ids: Vec<String>,
    /// Lower-case id or name -> server id.
    exact: HashMap<String, String>,
    /// First canonical part -> (server, name) for names of two or more parts.
    server_starts: HashMap<String, Vec<(usize, usize)>>,
    check_starts: HashMap<String, Vec<(usize, usize)>>,
    /// Canonical non-numeric part -> servers having it.
    owners: HashMap<String, Vec<usize>>,
}

/// A name's parts as written: "db-master" -> db, master.
pub fn parts(name: &str) -> Vec<String> {
    name.to_lowercase().split(['-', '_', '.', ' ']).filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Other name -> the English part it stands for ("디비" -> db, "slave" -> replica).
fn aliases() -> &'static HashMap<&'static str, &'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for (en, alts) in TOKEN_ALIASES {
            for alt in alts.split('|') {
                m.entry(alt).or_insert(*en);
            }
        }
        m
    })
}

/// The one form a part is compared in: numbers by value, synonyms as their English part.
pub fn canonical(part: &str) -> String {
    if is_number(part) {
        let trimmed = part.trim_start_matches('0');
        return if trimmed.is_empty() { "0".into() } else { trimmed.into() };
    }
    aliases().get(part).map_or_else(|| part.to_owned(), |en| (*en).to_owned())
}

/// Whether a question token stands for a name part.
pub fn same_part(token: &str, part: &str) -> bool {
    canonical(token) == canonical(part)
}

fn named(id: &str, names: &[&str]) -> Named {
    let mut all: Vec<Vec<String>> = Vec::new();
    for n in names {
        let p: Vec<String> = parts(n).iter().map(|x| canonical(x)).collect();
        if !p.is_empty() && !all.contains(&p) {
            all.push(p);
        }
    }
    Named { id: id.to_owned(), names: all }
}

fn starts(list: &[Named]) -> HashMap<String, Vec<(usize, usize)>> {
    let mut m: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (i, n) in list.iter().enumerate() {
        for (j, name) in n.names.iter().enumerate().filter(|(_, p)| p.len() >= 2) {
            m.entry(name[0].clone()).or_default().push((i, j));
        }
    }
    m
}

impl Names {
    /// A hash of everything [`Names::new`] reads, to reuse an index while the fleet's names stay the same.
    pub fn fingerprint(facts: &Facts) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for s in &facts.servers {
            (&s.id, &s.name, &s.provider, &s.location, &s.source).hash(&mut h);
        }
        facts.directory.checks.hash(&mut h);
        facts.directory.engines.hash(&mut h);
        h.finish()
    }

    pub fn new(facts: &Facts) -> Names {
        let servers: Vec<Named> = facts.servers.iter().map(|s| named(&s.id, &[&s.id, &s.name])).collect();
        let checks: Vec<Named> = facts.directory.checks.iter().map(|c| named(c, &[c])).collect();
        let mut owners: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in servers.iter().enumerate() {
            for part in s.names.iter().flatten().filter(|p| !is_number(p)) {
                let list = owners.entry(part.clone()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        let mut exact = HashMap::new();
        let mut known_words = HashSet::new();
        for s in &facts.servers {
            exact.insert(s.id.to_lowercase(), s.id.clone());
            exact.entry(s.name.to_lowercase()).or_insert_with(|| s.id.clone());
            known_words.extend(parts(&s.id).into_iter().chain(parts(&s.name)));
        }
        for name in facts.directory.checks.iter().chain(facts.directory.engines.iter().map(|(n, _)| n)) {
            known_words.extend(parts(name));
        }
        let mut providers: Vec<String> = facts.servers.iter().map(|s| s.provider.to_lowercase()).collect();
        providers.sort();
        providers.dedup();
        let mut locations: Vec<String> = facts.servers.iter().map(|s| s.location.to_lowercase()).collect();
        locations.sort();
        locations.dedup();
        Names {
            server_starts: starts(&servers),
            check_starts: starts(&checks),
            servers,
            checks,
            locations,
            providers,
            known_words,
            hub_ids: facts.servers.iter().filter(|s| s.source == "self").map(|s| s.id.clone()).collect(),
            exact,
            owners,
        }
    }

    /// The server whose id or name is exactly `word` (lower case).
    pub fn exact(&self, word: &str) -> Option<&str> {
        self.exact.get(word).map(String::as_str)
    }

    /// Servers (or checks) with a name of two or more parts starting with `token`.
    pub fn starting(&self, token: &str, checks: bool) -> &[(usize, usize)] {
        let map = if checks { &self.check_starts } else { &self.server_starts };
        map.get(&canonical(token)).map_or(&[], Vec::as_slice)
    }

    /// Servers having `token` as a (non-numeric) part of a name.
    pub fn owners(&self, token: &str) -> &[usize] {
        self.owners.get(&canonical(token)).map_or(&[], Vec::as_slice)
    }
}
