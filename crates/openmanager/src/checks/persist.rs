//! Checks in the store's key-value table (`check/<id>`), so they survive restarts. A document that
//! no longer parses is skipped with a warning: one bad row must not stop every check.

use super::wire::CheckSpec;

pub const PREFIX: &str = "check/";

pub async fn load(store: &store::Store) -> Result<Vec<CheckSpec>, store::Error> {
    let mut out = Vec::new();
    for key in store.kv_keys(PREFIX).await? {
        let Some(value) = store.get_kv(&key).await? else { continue };
        match serde_json::from_value::<CheckSpec>(value) {
            Ok(spec) => out.push(spec),
            Err(e) => tracing::warn!(key, error = %e, "skipping an unreadable check"),
        }
    }
    Ok(out)
}

pub async fn save(store: &store::Store, id: &str, spec: &CheckSpec) -> Result<(), store::Error> {
    // A spec always serialises (plain strings and numbers).
    let value = serde_json::to_value(spec).unwrap_or_default();
    store.put_kv(&format!("{PREFIX}{id}"), &value).await
}

pub async fn delete(store: &store::Store, id: &str) -> Result<bool, store::Error> {
    store.delete_kv(&format!("{PREFIX}{id}")).await
}
