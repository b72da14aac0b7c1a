//! The bounded spool of samples the hub has not acknowledged yet, kept in memory and in a file so
//! neither a hub outage nor an agent restart loses them.
//!
//! # Format
//!
//! `<state dir>/spool.jsonl`: one `protocol::Sample` as JSON per line, oldest first. New samples are
//! appended (one `write` per line, no fsync: a crashed process loses nothing, only a power cut can
//! lose the last seconds). Acknowledged and dropped samples leave "dead" lines at the head of the
//! file; the file is rewritten without them (temporary file, fsync, rename) once they outnumber the
//! live ones, and truncated whenever the spool empties, so it stays under about twice the byte
//! bound. On open, unreadable lines (a line cut short by a crash) are skipped with a warning and the
//! file is rewritten clean.
//!
//! In memory each sample is kept as its JSON line (a few hundred bytes) rather than as a
//! `Sample`, whose map of owned strings costs several times more; the report body is written from
//! these lines directly.
//!
//! # Bounds
//!
//! At most `max_samples` samples and `max_bytes` bytes of lines; beyond either, the OLDEST samples
//! are dropped, with a warning at most once a minute.
//!
//! The same spool keeps check results (`Spool<probe::CheckResult>` in `checks.jsonl`), so they
//! survive an outage and a restart in the same way. Samples are identified by a sequence number
//! so an acknowledgement for a batch that was sent before some of its samples were dropped still
//! removes exactly what was delivered.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::marker::PhantomData;

use protocol::Sample;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AgentError;

/// The spool file's name under the state directory.
pub const SPOOL_FILE: &str = "spool.jsonl";

/// Dead lines tolerated at the head of the file before a rewrite is considered at all, so a
/// steady trickle of acknowledgements does not rewrite the file every few seconds.
const MIN_DEAD_FOR_REWRITE: usize = 256;

/// How often a "spool full" warning may repeat.
const DROP_WARN_EVERY: Duration = Duration::from_secs(60);

/// The spool's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolConfig {
    pub max_samples: usize,
    pub max_bytes: usize,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    /// The JSON of one `Sample`, without the newline.
    line: Box<str>,
}

/// Samples (or other `T`, one JSON line each) waiting for an acknowledgement, oldest first.
#[derive(Debug)]
pub struct Spool<T = Sample> {
    path: PathBuf,
    /// Append handle; `None` after a failed write, so the next maintenance rewrites the file.
    file: Option<File>,
    entries: VecDeque<Entry>,
    config: SpoolConfig,
    /// Sum of `line.len() + 1` over `entries`.
    bytes: usize,
    next_seq: u64,
    /// Lines at the head of the file that are no longer in `entries`.
    dead_lines: usize,
    dropped_since_warn: u64,
    last_drop_warn: Option<Instant>,
    /// Reused for serializing a sample.
    buf: String,
    kind: PhantomData<fn() -> T>,
}

/// The oldest samples, as a batch to send: their JSON lines and the sequence number that
/// acknowledges them all.
#[derive(Debug)]
pub struct Batch<'a> {
    pub lines: Vec<&'a str>,
    pub through_seq: u64,
}

impl Spool<Sample> {
    /// Opens (creating if needed) the spool in `dir`, loading what an earlier run left unsent.
    pub fn open(dir: &Path, config: SpoolConfig) -> Result<Self, AgentError> {
        Self::open_file(dir, SPOOL_FILE, config)
    }
}

impl<T: Serialize + DeserializeOwned> Spool<T> {
    /// Opens (creating if needed) the spool file `name` in `dir`, loading what an earlier run left.
    pub fn open_file(dir: &Path, name: &str, config: SpoolConfig) -> Result<Self, AgentError> {
        let config = SpoolConfig { max_samples: config.max_samples.max(1), max_bytes: config.max_bytes.max(1) };
        let path = dir.join(name);
        let mut spool = Self {
            path,
            file: None,
            entries: VecDeque::new(),
            config,
            bytes: 0,
            next_seq: 1,
            dead_lines: 0,
            dropped_since_warn: 0,
            last_drop_warn: None,
            buf: String::new(),
            kind: PhantomData,
        };
        let (loaded, skipped) = spool.load()?;
        if skipped > 0 {
            tracing::warn!(file = %spool.path.display(), skipped, "skipped unreadable lines in the spool");
        }
        let dropped = spool.enforce_bounds();
        if loaded > 0 {
            tracing::info!(samples = spool.len(), dropped, "resuming with unsent samples from the spool");
        }
        // Start from a clean file: no dead lines, no partial line to append after.
        spool.rewrite()?;
        Ok(spool)
    }

    fn load(&mut self) -> Result<(usize, usize), AgentError> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => return Err(AgentError::io(&self.path, e)),
        };
        let (mut loaded, mut skipped) = (0, 0);
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(AgentError::io(&self.path, e)),
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            // Parsed only to check the line is whole; the text itself is what is kept and sent.
            if serde_json::from_str::<T>(text).is_ok() {
                self.push_entry(text.into());
                loaded += 1;
            } else {
                skipped += 1;
            }
        }
        Ok((loaded, skipped))
    }

    /// Appends a sample (memory and file), dropping the oldest if a bound is exceeded. A failed
    /// file write is reported but the sample stays in memory, and the file is rewritten later.
    pub fn push(&mut self, sample: &T) -> Result<(), AgentError> {
        self.buf.clear();
        // Serializing plain numbers and strings cannot fail; map it anyway rather than unwrap.
        let json = serde_json::to_string(sample).map_err(|e| AgentError::Encode(e.to_string()))?;
        self.buf.push_str(&json);
        self.push_entry(self.buf.as_str().into());
        let dropped = self.enforce_bounds();
        self.dead_lines += dropped;
        self.buf.push('\n');
        let appended = match self.file.as_mut() {
            Some(f) => f.write_all(self.buf.as_bytes()).map_err(|e| AgentError::io(&self.path, e)),
            None => Ok(()),
        };
        if appended.is_err() {
            self.file = None;
        }
        let maintained = self.maintain();
        appended.and(maintained)
    }

    fn push_entry(&mut self, line: Box<str>) {
        self.bytes += line.len() + 1;
        self.entries.push_back(Entry { seq: self.next_seq, line });
        self.next_seq += 1;
    }

    /// Drops the oldest samples until both bounds hold (always keeping the newest); returns how
    /// many were dropped.
    fn enforce_bounds(&mut self) -> usize {
        let mut dropped = 0;
        while self.entries.len() > 1
            && (self.entries.len() > self.config.max_samples || self.bytes > self.config.max_bytes)
        {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= e.line.len() + 1;
                dropped += 1;
            }
        }
        if dropped > 0 {
            self.dropped_since_warn += dropped as u64;
            if self.last_drop_warn.is_none_or(|t| t.elapsed() >= DROP_WARN_EVERY) {
                tracing::warn!(
                    dropped = self.dropped_since_warn,
                    kept = self.entries.len(),
                    max_samples = self.config.max_samples,
                    max_bytes = self.config.max_bytes,
                    "spool full: dropping the oldest unsent samples"
                );
                self.dropped_since_warn = 0;
                self.last_drop_warn = Some(Instant::now());
            }
        }
        dropped
    }

    /// Up to `max` of the oldest samples.
    pub fn batch(&self, max: usize) -> Option<Batch<'_>> {
        let n = max.min(self.entries.len());
        let last = self.entries.get(n.checked_sub(1)?)?;
        Some(Batch { lines: self.entries.iter().take(n).map(|e| &*e.line).collect(), through_seq: last.seq })
    }

    /// Removes every sample up to and including `through_seq` (delivered, or refused for good).
    /// Returns how many were removed; some may have been dropped for space meanwhile.
    pub fn ack(&mut self, through_seq: u64) -> Result<usize, AgentError> {
        let mut removed = 0;
        while self.entries.front().is_some_and(|e| e.seq <= through_seq) {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= e.line.len() + 1;
                removed += 1;
            }
        }
        self.dead_lines += removed;
        self.maintain()?;
        Ok(removed)
    }

    /// Keeps the file from growing without bound: truncated when the spool is empty, rewritten
    /// when dead lines outnumber live ones (amortized O(1) per sample), reopened after a failure.
    fn maintain(&mut self) -> Result<(), AgentError> {
        if self.file.is_none() {
            return self.rewrite();
        }
        if self.dead_lines == 0 {
            return Ok(());
        }
        if self.entries.is_empty() {
            if let Some(f) = self.file.as_ref() {
                // With O_APPEND, later writes go to the new end, so truncating in place is enough.
                f.set_len(0).map_err(|e| AgentError::io(&self.path, e))?;
            }
            self.dead_lines = 0;
            return Ok(());
        }
        if self.dead_lines >= MIN_DEAD_FOR_REWRITE && self.dead_lines > self.entries.len() {
            return self.rewrite();
        }
        Ok(())
    }

    /// Writes the live samples to a fresh file and swaps it in atomically.
    fn rewrite(&mut self) -> Result<(), AgentError> {
        self.file = None;
        let tmp = self.path.with_extension("jsonl.tmp");
        let written = (|| {
            let mut w = std::io::BufWriter::new(File::create(&tmp)?);
            for e in &self.entries {
                w.write_all(e.line.as_bytes())?;
                w.write_all(b"\n")?;
            }
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        written.map_err(|e| AgentError::io(&tmp, e))?;
        let file = OpenOptions::new().append(true).create(true).open(&self.path);
        self.file = Some(file.map_err(|e| AgentError::io(&self.path, e))?);
        self.dead_lines = 0;
        Ok(())
    }

    /// Leaves the file holding exactly the unsent samples, synced to disk (at shutdown).
    pub fn flush(&mut self) -> Result<(), AgentError> {
        if self.dead_lines > 0 || self.file.is_none() {
            self.rewrite()
        } else if let Some(f) = self.file.as_ref() {
            f.sync_all().map_err(|e| AgentError::io(&self.path, e))
        } else {
            Ok(())
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of sample lines held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
