//! SQLite on a file system that fills up (a real one: a 1 MiB tmpfs mounted for the test, then
//! grown): a full disk is its own error kind, health reports it, nothing acknowledged is lost, the
//! database stays intact, and writes succeed again by themselves once there is space.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use store::{Config, ErrorKind, Sample, Store, Tier};
use tempfile::TempDir;

/// Unmounts on drop, also when the test fails.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(test: &str, at: &Path, size: &str) -> Option<Mounted> {
    testkit::tool(test, "mount", "mount", &[])?;
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        testkit::skip(test, "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
        return None;
    }
    Some(Mounted(at.to_path_buf()))
}

fn batch(n: usize, from: i64) -> Vec<Sample> {
    // Noisy values so rows do not compress to nothing.
    (0..n)
        .map(|i| {
            let ts = from + i as i64 * 5_000;
            let mut s = Sample::new("disk-01", ts);
            for m in ["cpu", "memory", "disk", "net_rx", "net_tx", "load1"] {
                s = s.with(m, ((ts / 5_000) as f64 * 7.31).sin().abs() * 1e5 + 0.123);
            }
            s
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_its_own_error_loses_nothing_acknowledged_and_recovers_by_itself() {
    let test = "a_full_disk_is_its_own_error_loses_nothing_acknowledged_and_recovers_by_itself";
    let dir = TempDir::new().unwrap();
    let fs = dir.path().join("fs");
    std::fs::create_dir(&fs).unwrap();
    let Some(_mounted) = mount_tmpfs(test, &fs, "1m") else { return };
    let mut cfg = Config::new(fs.join("metrics.db"));
    cfg.batch_linger = Duration::ZERO;
    let store = Store::open(cfg.clone()).unwrap();

    // Fill the file system (bounded: 1 MiB holds far fewer than 400 batches of 50 samples).
    let mut acked = Vec::new();
    let mut next = T0;
    let mut failure = None;
    for _ in 0..400 {
        let samples = batch(50, next);
        match store.write(samples.clone()).await {
            Ok(out) => {
                assert_eq!(out.inserted, 50);
                acked.extend(samples.iter().map(|s| s.timestamp_ms));
                next += 50 * 5_000;
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let err = failure.expect("the file system never filled up");
    eprintln!("after {} acknowledged samples: {err}", acked.len());
    assert_eq!(err.kind(), ErrorKind::DiskFull, "{err}");
    assert!(err.is_transient());
    assert!(!acked.is_empty());
    let health = store.health().await.unwrap_err();
    assert_eq!(health.kind(), ErrorKind::DiskFull, "{health}");
    // Still full: every further write fails the same way; reads still work.
    assert_eq!(store.write(batch(50, next)).await.unwrap_err().kind(), ErrorKind::DiskFull);
    assert_eq!(store.latest("disk-01").await.unwrap().unwrap().timestamp_ms, *acked.last().unwrap());

    // Space comes back (the tmpfs grows): the same store writes again, no reopen.
    let grown = Command::new("mount").args(["-o", "remount,size=64m"]).arg(&fs).status().unwrap();
    assert!(grown.success());
    let out = store.write(batch(50, next)).await.unwrap();
    assert_eq!(out.inserted, 50);
    acked.extend(batch(50, next).iter().map(|s| s.timestamp_ms));
    store.health().await.unwrap();

    // Every acknowledged sample is there, once; the file is intact, also after a reopen.
    let stored: Vec<i64> = all_points(&store, Tier::Raw, "disk-01", &["cpu"], T0, T0 + 10 * DAY)
        .await
        .iter()
        .map(|p| p.timestamp_ms)
        .collect();
    assert_eq!(stored, acked);
    assert!(store.integrity_check().await.unwrap().ok);
    store.close().await.unwrap();
    let reopened = Store::open(cfg).unwrap();
    let again = all_points(&reopened, Tier::Raw, "disk-01", &["cpu"], T0, T0 + 10 * DAY).await;
    assert_eq!(again.len(), acked.len());
    assert!(reopened.integrity_check().await.unwrap().ok);
    reopened.close().await.unwrap();
}
