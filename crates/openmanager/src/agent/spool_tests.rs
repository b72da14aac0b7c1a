//! Tests for [`Spool`]: bounds, drop-oldest, persistence across reopen, compaction, bad lines.

use std::collections::BTreeMap;

use super::*;

fn sample(ts: i64) -> Sample {
    Sample { timestamp_ms: ts, values: BTreeMap::from([("cpu".to_string(), 1.5), ("memory".to_string(), 40.0)]) }
}

fn big() -> SpoolConfig {
    SpoolConfig { max_samples: 10_000, max_bytes: 10 << 20 }
}

fn file_timestamps(spool: &Spool) -> Vec<i64> {
    std::fs::read_to_string(spool.path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Sample>(l).unwrap().timestamp_ms)
        .collect()
}

fn batch_timestamps(spool: &Spool, max: usize) -> Vec<i64> {
    spool
        .batch(max)
        .map(|b| b.lines.iter().map(|l| serde_json::from_str::<Sample>(l).unwrap().timestamp_ms).collect())
        .unwrap_or_default()
}

#[test]
fn batches_oldest_first_and_ack_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), big()).unwrap();
    assert!(spool.batch(10).is_none());
    for ts in 1..=5 {
        spool.push(&sample(ts)).unwrap();
    }
    assert_eq!(batch_timestamps(&spool, 3), vec![1, 2, 3]);
    let through = spool.batch(3).unwrap().through_seq;
    // A sample arriving while the batch is in flight is not acknowledged with it.
    spool.push(&sample(6)).unwrap();
    assert_eq!(spool.ack(through).unwrap(), 3);
    assert_eq!(batch_timestamps(&spool, 10), vec![4, 5, 6]);
    assert_eq!(spool.len(), 3);
}

#[test]
fn survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut spool = Spool::open(dir.path(), big()).unwrap();
        for ts in 1..=4 {
            spool.push(&sample(ts)).unwrap();
        }
        spool.ack(spool.batch(1).unwrap().through_seq).unwrap();
        // No flush: a killed agent leaves the file as appended, where an acknowledged sample may
        // still sit at the head (sending it again is harmless: the hub drops duplicates).
    }
    let mut spool = Spool::open(dir.path(), big()).unwrap();
    let resumed = batch_timestamps(&spool, 10);
    assert!(resumed == [1, 2, 3, 4] || resumed == [2, 3, 4], "{resumed:?}");
    assert_eq!(file_timestamps(&spool), resumed, "reopen rewrites the file clean");
    spool.ack(spool.batch(1).unwrap().through_seq).unwrap();
    spool.push(&sample(5)).unwrap();
    // A graceful stop flushes: exactly the unsent samples survive.
    spool.flush().unwrap();
    assert_eq!(file_timestamps(&spool), batch_timestamps(&spool, 10));
    let expected = batch_timestamps(&spool, 10);
    drop(spool);
    let spool = Spool::open(dir.path(), big()).unwrap();
    assert_eq!(batch_timestamps(&spool, 10), expected);
    assert_eq!(expected.last(), Some(&5));
    assert!(!expected.contains(&1));
}

#[test]
fn drops_the_oldest_beyond_the_sample_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), SpoolConfig { max_samples: 3, max_bytes: 1 << 20 }).unwrap();
    for ts in 1..=5 {
        spool.push(&sample(ts)).unwrap();
    }
    assert_eq!(batch_timestamps(&spool, 10), vec![3, 4, 5]);
    drop(spool);
    // The dropped samples are not resurrected by a restart.
    let spool = Spool::open(dir.path(), SpoolConfig { max_samples: 3, max_bytes: 1 << 20 }).unwrap();
    assert_eq!(batch_timestamps(&spool, 10), vec![3, 4, 5]);
}

#[test]
fn drops_the_oldest_beyond_the_byte_bound_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let line = serde_json::to_string(&sample(1000)).unwrap().len() + 1;
    let mut spool = Spool::open(dir.path(), SpoolConfig { max_samples: 100, max_bytes: line * 2 }).unwrap();
    for ts in 1000..1010 {
        spool.push(&sample(ts)).unwrap();
        assert!(spool.bytes() <= line * 2);
    }
    assert_eq!(batch_timestamps(&spool, 10), vec![1008, 1009]);
    // A bound smaller than one sample still keeps the newest one.
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), SpoolConfig { max_samples: 100, max_bytes: 1 }).unwrap();
    spool.push(&sample(1)).unwrap();
    spool.push(&sample(2)).unwrap();
    assert_eq!(batch_timestamps(&spool, 10), vec![2]);
}

#[test]
fn a_shrunk_bound_applies_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), big()).unwrap();
    for ts in 1..=10 {
        spool.push(&sample(ts)).unwrap();
    }
    drop(spool);
    let spool = Spool::open(dir.path(), SpoolConfig { max_samples: 4, max_bytes: 1 << 20 }).unwrap();
    assert_eq!(batch_timestamps(&spool, 100), vec![7, 8, 9, 10]);
    assert_eq!(file_timestamps(&spool), vec![7, 8, 9, 10]);
}

#[test]
fn the_file_is_compacted_after_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), big()).unwrap();
    // Emptying the spool truncates the file.
    spool.push(&sample(1)).unwrap();
    spool.ack(spool.batch(10).unwrap().through_seq).unwrap();
    assert_eq!(std::fs::metadata(spool.path()).unwrap().len(), 0);
    spool.push(&sample(2)).unwrap();
    assert_eq!(file_timestamps(&spool), vec![2]);

    // A backlog drained in batches: dead lines are rewritten away once they outnumber live ones.
    let n = (MIN_DEAD_FOR_REWRITE * 3) as i64;
    for ts in 3..3 + n {
        spool.push(&sample(ts)).unwrap();
    }
    let mut max_file_lines = 0;
    while spool.len() > 10 {
        spool.ack(spool.batch(100).unwrap().through_seq).unwrap();
        let lines = file_timestamps(&spool);
        // Live lines are always the file's tail, and dead ones never pile up past the bound.
        assert!(lines.ends_with(&batch_timestamps(&spool, usize::MAX)));
        assert!(lines.len() <= spool.len() + spool.len().max(MIN_DEAD_FOR_REWRITE));
        max_file_lines = max_file_lines.max(lines.len());
    }
    assert!(file_timestamps(&spool).len() < max_file_lines, "a rewrite happened");
    spool.flush().unwrap();
    assert_eq!(file_timestamps(&spool), batch_timestamps(&spool, usize::MAX));
}

#[test]
fn drops_keep_the_file_bounded_while_the_hub_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), SpoolConfig { max_samples: 50, max_bytes: 1 << 20 }).unwrap();
    for ts in 0..5_000 {
        spool.push(&sample(ts)).unwrap();
    }
    assert_eq!(spool.len(), 50);
    assert!(file_timestamps(&spool).len() <= 50 + MIN_DEAD_FOR_REWRITE + 1);
    assert_eq!(batch_timestamps(&spool, 1), vec![4_950]);
}

#[test]
fn a_torn_last_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::to_string(&sample(1)).unwrap();
    std::fs::write(dir.path().join(SPOOL_FILE), format!("{good}\n\nnot json\n{{\"timestampMs\":2,\"val")).unwrap();
    let mut spool = Spool::open(dir.path(), big()).unwrap();
    assert_eq!(batch_timestamps(&spool, 10), vec![1]);
    spool.push(&sample(3)).unwrap();
    assert_eq!(file_timestamps(&spool), vec![1, 3], "appends start on a clean line");
}
