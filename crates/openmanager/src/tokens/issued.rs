//! Issued tokens: made with `openmanager token create`, kept in the store's key-value table as their
//! SHA-256 digest only (`tokens/<name>`), listed and revoked by name. The server reloads the list
//! every few seconds (`jobs::housekeeping`), so a new token works and a revoked one stops working
//! without a restart; the clear token is shown once, when it is made.

use serde::{Deserialize, Serialize};

use super::{Scope, digest, generate_token};
use crate::validation::{FieldError, check_id};

const PREFIX: &str = "tokens/";

/// What the store keeps of an issued token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub name: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    pub scopes: Vec<Scope>,
    pub created_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("invalid name: {0}")]
    Name(String),
    #[error("at least one scope is needed (read, write, ingest, admin)")]
    NoScope,
    #[error("a token named `{0}` exists; revoke it first or choose another name")]
    Exists(String),
    #[error("no token named `{0}`")]
    Unknown(String),
    #[error("store: {0}")]
    Store(#[from] store::Error),
    #[error("{0}")]
    Other(#[from] anyhow::Error),
}

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// Makes a token named `name` with `scopes`; returns the clear token (shown once) and its record.
pub async fn create(store: &store::Store, name: &str, scopes: &[Scope]) -> Result<(String, IssuedToken), IssueError> {
    let mut errors: Vec<FieldError> = Vec::new();
    check_id("name", name, &mut errors);
    if let Some(e) = errors.first() {
        return Err(IssueError::Name(e.reason.clone()));
    }
    if scopes.is_empty() {
        return Err(IssueError::NoScope);
    }
    if store.get_kv(&key(name)).await?.is_some() {
        return Err(IssueError::Exists(name.to_owned()));
    }
    let token = generate_token()?;
    let mut scopes = scopes.to_vec();
    scopes.sort_by_key(|s| *s as u8);
    scopes.dedup();
    let record = IssuedToken {
        name: name.to_owned(),
        sha256: hex::encode(digest(&token)),
        scopes,
        created_at: crate::clock::now_rfc3339(),
    };
    let value = serde_json::to_value(&record).map_err(|e| IssueError::Other(e.into()))?;
    store.put_kv(&key(name), &value).await?;
    Ok((token, record))
}

/// Every issued token, by name (unreadable records are skipped with a warning).
pub async fn list(store: &store::Store) -> Result<Vec<IssuedToken>, IssueError> {
    let mut out = Vec::new();
    for k in store.kv_keys(PREFIX).await? {
        let Some(value) = store.get_kv(&k).await? else { continue };
        match serde_json::from_value::<IssuedToken>(value) {
            Ok(t) => out.push(t),
            Err(e) => tracing::warn!(key = k, error = %e, "skipping an unreadable issued token"),
        }
    }
    Ok(out)
}

/// Revokes the token named `name`.
pub async fn revoke(store: &store::Store, name: &str) -> Result<(), IssueError> {
    if store.delete_kv(&key(name)).await? { Ok(()) } else { Err(IssueError::Unknown(name.to_owned())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_list_revoke_and_only_the_digest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open(store::Config::new(dir.path().join("t.db"))).unwrap();
        let (token, record) = create(&store, "edge-1", &[Scope::Ingest, Scope::Ingest]).await.unwrap();
        assert_eq!(record.scopes, vec![Scope::Ingest]);
        assert!(matches!(create(&store, "edge-1", &[Scope::Read]).await, Err(IssueError::Exists(_))));
        assert!(matches!(create(&store, "bad name", &[Scope::Read]).await, Err(IssueError::Name(_))));
        assert!(matches!(create(&store, "x", &[]).await, Err(IssueError::NoScope)));
        let stored = store.get_kv("tokens/edge-1").await.unwrap().unwrap().to_string();
        assert!(!stored.contains(&token), "the clear token is never stored");
        assert_eq!(list(&store).await.unwrap(), vec![record]);
        revoke(&store, "edge-1").await.unwrap();
        assert!(list(&store).await.unwrap().is_empty());
        assert!(matches!(revoke(&store, "edge-1").await, Err(IssueError::Unknown(_))));
    }
}
