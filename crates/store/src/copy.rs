//! Copy every server's raw samples, rollup chunks and watermarks, and the kv table, from one store
//! to another (`openmanager migrate --from sqlite://... --to postgres://...`). Resumable: each
//! server's progress is kept in the target's kv under [`PROGRESS_PREFIX`], and every write is
//! idempotent, so a second run skips what is done and redoes at most one batch. Counts are
//! compared at the end.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Store;
use crate::encoding::{decode_raw, encode_raw};
use crate::error::Result;
use crate::types::Tier;

/// Target kv keys holding the copy's progress (never copied themselves).
pub const PROGRESS_PREFIX: &str = "_migrate/";
/// Raw rows or chunk rows moved per transaction.
const BATCH: usize = 2_000;

/// What [`copy_store`] did and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    pub servers: usize,
    /// Servers a previous run had finished (skipped this time).
    pub servers_already_done: usize,
    pub raw_rows: u64,
    pub chunk_rows: u64,
    pub kv_entries: u64,
    /// Per-server and kv count differences between source and target after the copy; empty when
    /// everything matched.
    pub mismatches: Vec<String>,
}

impl CopyReport {
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// What the CLI prints: one summary line, then one line per count difference.
impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} servers ({} already copied by an earlier run): {} raw rows, {} rollup chunks, {} kv entries copied; ",
            self.servers, self.servers_already_done, self.raw_rows, self.chunk_rows, self.kv_entries
        )?;
        if self.ok() {
            return f.write_str("counts match");
        }
        write!(f, "{} count differences:", self.mismatches.len())?;
        for m in &self.mismatches {
            write!(f, "\n  {m}")?;
        }
        Ok(())
    }
}

/// One progress event, for the CLI to print.
#[derive(Debug, Clone)]
pub struct CopyProgress<'a> {
    pub server: &'a str,
    pub phase: &'static str,
    /// Rows of this phase copied so far for this server.
    pub rows: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ServerProgress {
    /// Raw rows with `ts <= raw_after` are copied.
    raw_after: Option<i64>,
    /// Rollup tiers (codes) fully copied.
    tiers_done: Vec<i64>,
    done: bool,
}

/// Copy `from` into `to`. The source should not be written meanwhile (stop the hub, or point it
/// at the target first); the target may be fresh or partly filled by an interrupted run.
pub async fn copy_store(from: &Store, to: &Store, mut progress: impl FnMut(&CopyProgress<'_>)) -> Result<CopyReport> {
    let mut report = CopyReport::default();
    // Metric ids differ between databases: map by name, keeping the source's quantum.
    let src_metrics = from.read(|db| db.metrics()).await?;
    let wanted: Vec<(String, i8)> = src_metrics.iter().map(|(_, n, e)| (n.clone(), *e)).collect();
    let dst_ids: HashMap<String, i64> =
        to.exec(move |db| wanted.iter().map(|(n, e)| Ok((n.clone(), db.ensure_metric(n, *e)?))).collect()).await?;
    let dst_metrics = to.read(|db| db.metrics()).await?;
    let dst_exp: HashMap<i64, i8> = dst_metrics.iter().map(|(id, _, e)| (*id, *e)).collect();
    let map: HashMap<i64, (i64, i8)> = src_metrics
        .iter()
        .filter_map(|(sid, name, _)| dst_ids.get(name).map(|&d| (*sid, (d, dst_exp.get(&d).copied().unwrap_or(0)))))
        .collect();
    let src_exp: HashMap<i64, i8> = src_metrics.iter().map(|(id, _, e)| (*id, *e)).collect();

    let servers = from.server_ids().await?;
    report.servers = servers.len();
    for name in &servers {
        let key = format!("{PROGRESS_PREFIX}server/{name}");
        let mut state: ServerProgress = match to.get_kv(&key).await? {
            Some(v) => serde_json::from_value(v)?,
            None => ServerProgress::default(),
        };
        if state.done {
            report.servers_already_done += 1;
            continue;
        }
        let Some(src_sid) = from
            .read({
                let n = name.clone();
                move |db| db.server_id(&n)
            })
            .await?
        else {
            continue;
        };
        let dst_sid = to
            .exec({
                let n = name.clone();
                move |db| db.ensure_server(&n)
            })
            .await?;

        // Raw rows, re-encoded with the target's metric ids (values are exact: same quantum).
        let mut copied = 0;
        loop {
            let after = state.raw_after.map_or(i64::MIN, |t| t.saturating_add(1));
            let rows: Vec<(i64, Vec<u8>)> = from
                .read(move |db| {
                    let mut rows = Vec::new();
                    db.scan_raw(src_sid, after, i64::MAX, &mut |ts, data| {
                        rows.push((ts, data.to_vec()));
                        Ok(rows.len() < BATCH)
                    })?;
                    Ok(rows)
                })
                .await?;
            let Some(&(last, _)) = rows.last() else { break };
            let mut encoded = Vec::with_capacity(rows.len());
            for (ts, data) in &rows {
                let values: Vec<(i64, i8, f64)> = decode_raw(data, |id| src_exp.get(&id).copied())?
                    .into_iter()
                    .filter_map(|(mid, v)| map.get(&mid).map(|&(d, e)| (d, e, v)))
                    .collect();
                encoded.push((*ts, encode_raw(&values)));
            }
            let n = encoded.len() as u64;
            to.exec(move |db| encoded.iter().try_for_each(|(ts, blob)| db.insert_raw(dst_sid, *ts, blob).map(drop)))
                .await?;
            copied += n;
            report.raw_rows += n;
            state.raw_after = Some(last);
            to.put_kv(&key, &serde_json::to_value(&state)?).await?;
            progress(&CopyProgress { server: name, phase: "raw", rows: copied });
        }

        // Rollup chunks: the blobs carry no metric id, so they move as they are.
        for tier in Tier::ROLLUPS {
            if state.tiers_done.contains(&tier.code()) {
                continue;
            }
            let mut copied = 0;
            for (&src_mid, &(dst_mid, _)) in &map {
                let mut after = i64::MIN;
                loop {
                    let rows: Vec<(i64, Vec<u8>)> = from
                        .read(move |db| {
                            let mut rows = Vec::new();
                            db.scan_chunks(src_sid, tier, Some(src_mid), after, i64::MAX, &mut |row| {
                                rows.push((row.start_ms, row.data.to_vec()));
                                Ok(rows.len() < BATCH)
                            })?;
                            Ok(rows)
                        })
                        .await?;
                    let Some(&(last, _)) = rows.last() else { break };
                    let n = rows.len() as u64;
                    to.exec(move |db| {
                        rows.iter().try_for_each(|(start, blob)| db.put_chunk(dst_sid, tier, dst_mid, *start, blob))
                    })
                    .await?;
                    copied += n;
                    report.chunk_rows += n;
                    after = last;
                }
            }
            // Then the tier's watermark, so samples the copy already summarised count as late.
            let wm = from.read(move |db| db.watermark(src_sid, tier)).await?;
            if let Some(wm) = wm {
                to.exec(move |db| db.set_watermark(dst_sid, tier, wm)).await?;
            }
            state.tiers_done.push(tier.code());
            to.put_kv(&key, &serde_json::to_value(&state)?).await?;
            progress(&CopyProgress { server: name, phase: tier_name(tier), rows: copied });
        }
        state.done = true;
        to.put_kv(&key, &serde_json::to_value(&state)?).await?;
    }

    // The kv table (alert rules, budgets, ...), minus the copy's own progress.
    let keys = from.kv_keys("").await?;
    for k in keys.iter().filter(|k| !k.starts_with(PROGRESS_PREFIX)) {
        if let Some(v) = from.get_kv(k).await? {
            to.put_kv(k, &v).await?;
            report.kv_entries += 1;
        }
    }
    progress(&CopyProgress { server: "", phase: "kv", rows: report.kv_entries });

    report.mismatches = check_counts(from, to, &servers).await?;
    let dst_keys = to.kv_keys("").await?.into_iter().filter(|k| !k.starts_with(PROGRESS_PREFIX)).count();
    let src_keys = keys.iter().filter(|k| !k.starts_with(PROGRESS_PREFIX)).count();
    if src_keys != dst_keys {
        report.mismatches.push(format!("kv: {src_keys} keys in the source, {dst_keys} in the target"));
    }
    Ok(report)
}

fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Raw => "raw",
        Tier::M1 => "1m",
        Tier::M10 => "10m",
        Tier::H1 => "1h",
    }
}

/// `[raw, 1m chunks, 10m chunks, 1h chunks]` of a server, or `None` if it does not exist.
async fn counts(store: &Store, name: &str) -> Result<Option<[u64; 4]>> {
    let name = name.to_owned();
    store
        .read(move |db| {
            let Some(sid) = db.server_id(&name)? else { return Ok(None) };
            let mut c = [db.count_raw(sid)?, 0, 0, 0];
            for (i, tier) in Tier::ROLLUPS.into_iter().enumerate() {
                c[i + 1] = db.count_chunks(sid, tier)?;
            }
            Ok(Some(c))
        })
        .await
}

async fn check_counts(from: &Store, to: &Store, servers: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in servers {
        let (a, b) = (counts(from, name).await?, counts(to, name).await?);
        if a != b {
            out.push(format!("server {name}: source [raw, 1m, 10m, 1h] = {a:?}, target = {b:?}"));
        }
    }
    Ok(out)
}
