//! `openmanager backup create | list | verify FILE | restore FILE`, and the scheduled backup job.
//!
//! Backups are `VACUUM INTO` snapshots (consistent while a server keeps writing, see
//! `store::backup_file`) named `<data_dir>/backups/openmanager-<UTC stamp>.db`, each with a
//! `sha256sum`-compatible sidecar `<file>.sha256`, so a copy taken off the machine can be checked
//! with standard tools too. The stamp sorts chronologically, which pruning relies on.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use sha2::{Digest, Sha256};

use crate::cli::{BackupArgs, BackupCommand, Cli, ServeArgs};
use crate::config;
use crate::ops::lock::lock_data_dir;

/// Backups live here, inside the data directory.
pub const BACKUP_DIR: &str = "backups";
const PREFIX: &str = "openmanager-";
const SUFFIX: &str = ".db";
const SIDECAR: &str = ".sha256";
/// Being written: never listed, verified or pruned as a backup.
const PARTIAL: &str = ".partial";
/// A `.partial` file older than this was left by a crash (a backup takes seconds) and is removed.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

/// One backup on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub modified: jiff::Timestamp,
    pub size: u64,
}

/// Runs a `backup` subcommand; output goes to stdout, the error (if any) to the caller.
pub fn run(cli: &Cli, args: &BackupArgs) -> anyhow::Result<()> {
    let serve = ServeArgs { data_dir: args.data_dir.clone(), ..ServeArgs::default() };
    let loaded = config::load(&cli.flags(&serve)).map_err(|e| anyhow!("{e}"))?;
    let data_dir = std::path::absolute(&loaded.config.server.data_dir)?;
    let db = data_dir.join(&loaded.config.store.path);
    let dir = data_dir.join(BACKUP_DIR);
    match &args.command {
        BackupCommand::Create => {
            let path = create(&db, &dir)?;
            println!("{}", path.display());
        }
        BackupCommand::List => {
            for b in list(&dir)? {
                println!("{}\t{}\t{} bytes", b.path.display(), format_time(b.modified), b.size);
            }
        }
        BackupCommand::Verify { file } => {
            let file = std::path::absolute(file)?;
            let version = verify(&file)?;
            println!("{}: ok (checksum, integrity, schema version {version})", file.display());
        }
        BackupCommand::Restore { file } => {
            let file = std::path::absolute(file)?;
            let aside = restore(&data_dir, &db, &file)?;
            println!("restored {} from {}", db.display(), file.display());
            if let Some(aside) = aside {
                println!("the replaced database is kept as {}", aside.display());
            }
        }
    }
    Ok(())
}

/// Copies the database at `db` into a new backup in `dir` without a `Store` (a server may be
/// serving the same file meanwhile); returns the backup's path.
pub fn create(db: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let (partial, path) = new_names(dir)?;
    store::backup_file(db, &partial).with_context(|| format!("cannot back up {}", db.display()))?;
    seal(&partial, &path)?;
    Ok(path)
}

/// A backup from the running server's own store, then pruning to the newest `keep` (at least the
/// one just made). For the supervised job behind `backup.interval_hours` / `backup.keep`.
pub async fn scheduled_backup(store: &store::Store, dir: &Path, keep: usize) -> anyhow::Result<PathBuf> {
    let owned = dir.to_path_buf();
    let (partial, path) = tokio::task::spawn_blocking(move || new_names(&owned)).await??;
    store.backup_to(&partial).await.with_context(|| format!("backup into {} failed", partial.display()))?;
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        seal(&partial, &path)?;
        let removed = prune(&dir, keep)?;
        if !removed.is_empty() {
            tracing::info!(removed = removed.len(), keep, "old backups pruned");
        }
        Ok(path)
    })
    .await?
}

/// Removes all but the newest `keep` backups (and their sidecars) in `dir`, and partial files a
/// crash left behind. `keep` 0 is treated as 1: pruning never removes the newest backup.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let backups = list(dir)?;
    let excess = backups.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for b in backups.into_iter().take(excess) {
        std::fs::remove_file(&b.path).with_context(|| format!("cannot remove {}", b.path.display()))?;
        let _ = std::fs::remove_file(sidecar(&b.path));
        removed.push(b.path);
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let stale = entry.metadata()?.modified()?.elapsed().is_ok_and(|age| age > STALE_PARTIAL);
        if name.to_string_lossy().ends_with(PARTIAL) && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(removed)
}

/// The backups in `dir`, oldest first (by the stamp in their names). A missing dir is empty.
pub fn list(dir: &Path) -> anyhow::Result<Vec<BackupInfo>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        let meta = entry.metadata()?;
        let modified = jiff::Timestamp::try_from(meta.modified()?).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        out.push(BackupInfo { path: std::path::absolute(entry.path())?, modified, size: meta.len() });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Checks `file` against its sidecar checksum, SQLite's integrity check and the schema version
/// this build understands; returns the schema version. Every problem found is in the error.
pub fn verify(file: &Path) -> anyhow::Result<i64> {
    if !file.is_file() {
        bail!("{} does not exist", file.display());
    }
    let mut problems = Vec::new();
    match std::fs::read_to_string(sidecar(file)) {
        Ok(text) => {
            let expected = text.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
            let actual = sha256_file(file)?;
            if expected != actual {
                problems.push(format!("checksum mismatch: {} says {expected}, file is {actual}", sidecar_name(file)));
            }
        }
        Err(e) => problems.push(format!("cannot read the checksum file {}: {e}", sidecar(file).display())),
    }
    let mut version = 0;
    match store::verify_file(file) {
        Ok(report) => {
            version = report.schema_version;
            if !report.integrity.ok {
                problems.push(format!("integrity check failed: {}", report.integrity.messages.join("; ")));
            }
            if version == 0 {
                problems.push("not an OpenManager database (schema version 0)".into());
            } else if version > store::SCHEMA_VERSION {
                problems.push(format!(
                    "schema version {version} is newer than this build supports ({})",
                    store::SCHEMA_VERSION
                ));
            }
        }
        Err(e) => problems.push(format!("not a readable database: {e}")),
    }
    if problems.is_empty() {
        Ok(version)
    } else {
        bail!("{} is damaged or unusable:\n  {}", file.display(), problems.join("\n  "))
    }
}

/// Replaces `db` with a verified copy of `file`, holding the data-directory lock so no server can
/// be using it. The replaced database (with any `-wal` a crash left) is moved aside as
/// `<db>.replaced-<stamp>` and its path returned (`None` if there was no database).
pub fn restore(data_dir: &Path, db: &Path, file: &Path) -> anyhow::Result<Option<PathBuf>> {
    verify(file)?;
    let _lock = lock_data_dir(data_dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => anyhow!("refusing to restore: {e}; stop the server first"),
        _ => anyhow!("cannot lock {}: {e}", data_dir.display()),
    })?;
    // Copy next to the database first, so the final step is one rename on the same filesystem:
    // at any moment the database path holds either the old file or the complete new one.
    let incoming = with_suffix(db, ".restoring");
    let _ = std::fs::remove_file(&incoming);
    std::fs::copy(file, &incoming).with_context(|| format!("cannot copy {} next to the database", file.display()))?;
    // Run as root, the copy would belong to root and the service user could not write it: give it
    // the data directory's owner. Failing that, stop before anything is replaced.
    if let Err(e) = match_owner(&incoming, data_dir) {
        let _ = std::fs::remove_file(&incoming);
        bail!("cannot give the restored database the data directory's owner ({e}); run as that user or root");
    }
    File::open(&incoming)?.sync_all()?;
    let mut aside = None;
    if db.exists() {
        let target = with_suffix(db, &format!(".replaced-{}", stamp(jiff::Timestamp::now())));
        std::fs::rename(db, &target).with_context(|| format!("cannot move {} aside", db.display()))?;
        // SQLite pairs `X-wal` with `X`: keep an unmerged WAL with the database it belongs to, and
        // never let it be replayed into the restored one. The -shm is only an index; drop it.
        for (ext, keep) in [("-wal", true), ("-shm", false)] {
            let side = with_suffix(db, ext);
            if side.exists() {
                if keep {
                    std::fs::rename(&side, with_suffix(&target, ext))?;
                } else {
                    std::fs::remove_file(&side)?;
                }
            }
        }
        aside = Some(target);
    }
    std::fs::rename(&incoming, db).with_context(|| format!("cannot put the backup in place at {}", db.display()))?;
    sync_dir(db.parent().unwrap_or(data_dir))?;
    Ok(aside)
}

/// Reserves a new backup name in `dir`: (partial path to write, final path).
fn new_names(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = std::path::absolute(dir)?;
    // Best effort: when root creates the backups directory, the server's own scheduled backups
    // (as the service user) must still be able to write and prune in it.
    if let Some(data_dir) = dir.parent() {
        let _ = match_owner(&dir, data_dir);
    }
    // Millisecond stamps: two backups within one millisecond only happen in tests; wait it out.
    for _ in 0..1000 {
        let path = dir.join(format!("{PREFIX}{}{SUFFIX}", stamp(jiff::Timestamp::now())));
        let partial = with_suffix(&path, PARTIAL);
        if !path.exists() && !partial.exists() {
            return Ok((partial, path));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("cannot find a free backup name in {}", dir.display())
}

/// Makes a finished copy a backup: flushed, checksummed, then renamed into view. The sidecar is
/// written before the rename, so a listed backup always has its checksum.
fn seal(partial: &Path, path: &Path) -> anyhow::Result<()> {
    File::open(partial)?.sync_all()?;
    let sum = sha256_file(partial)?;
    let side = sidecar(path);
    let tmp = with_suffix(&side, PARTIAL);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    {
        let mut f = File::create(&tmp)?;
        writeln!(f, "{sum}  {name}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &side)?;
    // Best effort, as for the directory: the service user can then read what root backed up.
    if let Some(dir) = path.parent() {
        let _ = match_owner(&side, dir);
        let _ = match_owner(partial, dir);
    }
    std::fs::rename(partial, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(())
}

/// Gives `path` the owner and group of `like` if they differ (only root may, in general).
fn match_owner(path: &Path, like: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (want, have) = (std::fs::metadata(like)?, std::fs::metadata(path)?);
    if (want.uid(), want.gid()) == (have.uid(), have.gid()) {
        return Ok(());
    }
    std::os::unix::fs::chown(path, Some(want.uid()), Some(want.gid()))
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut reader = BufReader::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Makes renames in `dir` durable (a rename is only on disk once the directory is synced).
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn sidecar(file: &Path) -> PathBuf {
    with_suffix(file, SIDECAR)
}

fn sidecar_name(file: &Path) -> String {
    sidecar(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `20261127T111310.123Z`: UTC, sortable, no characters a shell or `scp` would trip over.
fn stamp(ts: jiff::Timestamp) -> String {
    format!("{}.{:03}Z", ts.strftime("%Y%m%dT%H%M%S"), ts.subsec_millisecond())
}

fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_backup(dir: &Path, stamp: &str) -> PathBuf {
        let p = dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
        std::fs::write(&p, b"x").unwrap();
        std::fs::write(sidecar(&p), b"00  x\n").unwrap();
        p
    }

    #[test]
    fn stamps_sort_chronologically() {
        let a: jiff::Timestamp = "2026-01-02T03:04:05.006Z".parse().unwrap();
        let b: jiff::Timestamp = "2026-01-02T03:04:05.010Z".parse().unwrap();
        assert_eq!(stamp(a), "20260102T030405.006Z");
        assert!(stamp(a) < stamp(b));
    }

    #[test]
    fn prune_keeps_the_newest_and_their_sidecars() {
        let dir = tempfile::tempdir().unwrap();
        let old = fake_backup(dir.path(), "20260101T000000.000Z");
        let mid = fake_backup(dir.path(), "20260102T000000.000Z");
        let new = fake_backup(dir.path(), "20260103T000000.000Z");
        let removed = prune(dir.path(), 2).unwrap();
        assert_eq!(removed, vec![std::path::absolute(&old).unwrap()]);
        assert!(!sidecar(&old).exists());
        assert!(mid.exists() && new.exists() && sidecar(&new).exists());
        prune(dir.path(), 0).unwrap();
        assert!(!mid.exists() && new.exists());
    }

    #[tokio::test]
    async fn scheduled_backup_writes_a_verifiable_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open(store::Config::new(dir.path().join("openmanager.db"))).unwrap();
        store.put_kv("fleet/x", &serde_json::json!({"id": "x"})).await.unwrap();
        let backups = dir.path().join(BACKUP_DIR);
        let first = scheduled_backup(&store, &backups, 1).await.unwrap();
        let second = scheduled_backup(&store, &backups, 1).await.unwrap();
        assert!(!first.exists(), "pruned to one");
        assert_eq!(verify(&second).unwrap(), store::SCHEMA_VERSION);
        store.close().await.unwrap();
    }
}
