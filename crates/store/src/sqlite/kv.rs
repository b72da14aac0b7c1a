//! Key-value table for other components' small persisted state (alert rules, budget counters).

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

pub(crate) fn put(conn: &Connection, key: &str, json: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO kv(key, value, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
    )?
    .execute(params![key, json, now_ms])?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, key: &str) -> Result<bool> {
    Ok(conn.prepare_cached("DELETE FROM kv WHERE key = ?1")?.execute([key])? > 0)
}

pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<serde_json::Value>> {
    let text: Option<String> =
        conn.prepare_cached("SELECT value FROM kv WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?;
    Ok(match text {
        Some(t) => Some(serde_json::from_str(&t)?),
        None => None,
    })
}

pub(crate) fn keys_with_prefix(conn: &Connection, prefix: &str) -> Result<Vec<String>> {
    // Range scan on the primary key instead of LIKE, so '%' and '_' in keys are not special.
    let mut end = prefix.to_owned();
    end.push(char::MAX);
    let mut stmt = conn.prepare_cached("SELECT key FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key")?;
    let rows = stmt.query_map(params![prefix, end], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
