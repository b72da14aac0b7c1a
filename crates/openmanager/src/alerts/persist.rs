//! Rules and silences in the store's key-value table (`alert_rule/<id>`, `alert_silence/<id>`), so
//! edits survive restarts. Documents that no longer parse are skipped with a warning rather than
//! stopping start-up: one bad row must not disable every alert.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::defaults::{FIRST_DEFAULTS, default_rules};
use super::rule::{Rule, Silence};

pub const RULE_PREFIX: &str = "alert_rule/";
pub const SILENCE_PREFIX: &str = "alert_silence/";
/// The ids of the defaults saved once, so a user who deletes one does not see it return, while a
/// default added by a later release is saved once too. (`true` there means the first release's five.)
pub const DEFAULTS_MARKER: &str = "alert_meta/defaults_seeded";

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("store: {0}")]
    Store(#[from] store::Error),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
}

async fn load_all<T: DeserializeOwned>(store: &store::Store, prefix: &str) -> Result<Vec<T>, PersistError> {
    let mut out = Vec::new();
    for key in store.kv_keys(prefix).await? {
        let Some(value) = store.get_kv(&key).await? else { continue };
        match serde_json::from_value::<T>(value) {
            Ok(item) => out.push(item),
            Err(e) => tracing::warn!(key, error = %e, "skipping unreadable alert document"),
        }
    }
    Ok(out)
}

async fn save<T: Serialize>(store: &store::Store, key: &str, item: &T) -> Result<(), PersistError> {
    store.put_kv(key, &serde_json::to_value(item)?).await?;
    Ok(())
}

pub async fn load_rules(store: &store::Store) -> Result<Vec<Rule>, PersistError> {
    load_all(store, RULE_PREFIX).await
}

/// The saved rules, with every default not seeded before saved once first.
pub async fn load_rules_or_defaults(store: &store::Store) -> Result<Vec<Rule>, PersistError> {
    let mut seeded: Vec<String> = match store.get_kv(DEFAULTS_MARKER).await? {
        None => Vec::new(),
        Some(serde_json::Value::Bool(true)) => FIRST_DEFAULTS.iter().map(|s| (*s).to_owned()).collect(),
        Some(v) => serde_json::from_value(v).unwrap_or_default(),
    };
    let before = seeded.len();
    for rule in default_rules() {
        if seeded.contains(&rule.id) {
            continue;
        }
        if store.get_kv(&format!("{RULE_PREFIX}{}", rule.id)).await?.is_none() {
            save_rule(store, &rule).await?;
        }
        seeded.push(rule.id);
    }
    if seeded.len() != before {
        store.put_kv(DEFAULTS_MARKER, &serde_json::to_value(&seeded)?).await?;
    }
    load_rules(store).await
}

pub async fn save_rule(store: &store::Store, rule: &Rule) -> Result<(), PersistError> {
    save(store, &format!("{RULE_PREFIX}{}", rule.id), rule).await
}

/// Returns whether the rule existed.
pub async fn delete_rule(store: &store::Store, id: &str) -> Result<bool, PersistError> {
    Ok(store.delete_kv(&format!("{RULE_PREFIX}{id}")).await?)
}

pub async fn load_silences(store: &store::Store) -> Result<Vec<Silence>, PersistError> {
    load_all(store, SILENCE_PREFIX).await
}

pub async fn save_silence(store: &store::Store, silence: &Silence) -> Result<(), PersistError> {
    save(store, &format!("{SILENCE_PREFIX}{}", silence.id), silence).await
}

pub async fn delete_silence(store: &store::Store, id: &str) -> Result<bool, PersistError> {
    Ok(store.delete_kv(&format!("{SILENCE_PREFIX}{id}")).await?)
}

/// Deletes silences that ended before `now_ms`; returns how many.
pub async fn prune_silences(store: &store::Store, now_ms: i64) -> Result<usize, PersistError> {
    let mut n = 0;
    for s in load_silences(store).await? {
        if s.ends_at.as_millisecond() <= now_ms && delete_silence(store, &s.id).await? {
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::defaults;
    use crate::alerts::rule::{Matchers, Severity};

    fn open(dir: &tempfile::TempDir) -> store::Store {
        store::Store::open(store::Config::new(dir.path().join("t.db"))).unwrap()
    }

    #[tokio::test]
    async fn defaults_seeded_once_and_edits_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(&dir);
            let rules = load_rules_or_defaults(&store).await.unwrap();
            assert_eq!(rules.len(), 7);
            let mut mem = rules.into_iter().find(|r| r.id == defaults::MEMORY_HIGH).unwrap();
            mem.threshold = 90.0;
            save_rule(&store, &mem).await.unwrap();
            assert!(delete_rule(&store, defaults::DISK_HIGH).await.unwrap());
            assert!(!delete_rule(&store, "nope").await.unwrap());
        }
        let store = open(&dir);
        let rules = load_rules_or_defaults(&store).await.unwrap();
        assert_eq!(rules.len(), 6, "a deleted default does not come back");
        let mem = rules.iter().find(|r| r.id == defaults::MEMORY_HIGH).unwrap();
        assert_eq!(mem.threshold, 90.0);
    }

    #[tokio::test]
    async fn silences_round_trip_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let mk = |id: &str, end_ms: i64| Silence {
            id: id.into(),
            matchers: Matchers { severity: Some(Severity::Info), ..Matchers::default() },
            starts_at: jiff::Timestamp::from_millisecond(0).unwrap(),
            ends_at: jiff::Timestamp::from_millisecond(end_ms).unwrap(),
            comment: "maintenance".into(),
            created_by: "ops".into(),
        };
        save_silence(&store, &mk("old", 1_000)).await.unwrap();
        save_silence(&store, &mk("new", 10_000)).await.unwrap();
        let loaded = load_silences(&store).await.unwrap();
        assert_eq!(loaded.len(), 2);
        assert!(loaded.contains(&mk("new", 10_000)));
        assert_eq!(prune_silences(&store, 5_000).await.unwrap(), 1);
        assert_eq!(load_silences(&store).await.unwrap(), vec![mk("new", 10_000)]);
    }

    #[tokio::test]
    async fn unreadable_document_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        store.put_kv("alert_rule/bad", &serde_json::json!({"id": "bad"})).await.unwrap();
        save_rule(&store, &defaults::default_rules()[0]).await.unwrap();
        assert_eq!(load_rules(&store).await.unwrap().len(), 1);
    }
}
