//! Logging with tracing: readable lines on a terminal, JSON when asked (for journald or a collector),
//! and optionally a size-rotated file with a bounded number of old files kept, old ones deleted by age.

use std::io::IsTerminal;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};

/// Lines waiting for the file writer; beyond this, lines are dropped rather than memory growing.
const FILE_QUEUE_LINES: usize = 10_000;

/// The level rustls' own log lines need to reach (see [`init`]).
const QUIET_RUSTLS: &str = "rustls=error";

/// Keeps the file writer flushing; dropping it flushes what is queued.
pub struct LogGuard(#[allow(dead_code)] Option<WorkerGuard>);

/// The operator's filter, with rustls quieted unless the filter names it: rustls warns about the
/// peer's mistakes, e.g. "Illegal SNI extension" for every client that names an IP address (curl,
/// wrk and agents do, on a VM reached by its IP), a line per connection that any stranger can
/// trigger.
fn filter(directives: &str) -> anyhow::Result<EnvFilter> {
    let filter = EnvFilter::try_new(directives)?;
    Ok(if directives.contains("rustls") { filter } else { filter.add_directive(QUIET_RUSTLS.parse()?) })
}

/// Installs the global subscriber. Logs go to stderr (stdout is for command output).
pub fn init(config: &LogConfig) -> anyhow::Result<LogGuard> {
    let filter = filter(&config.filter)?;
    let (file_writer, guard) = match &config.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let rotate = FileRotate::new(
                dir.join("openmanager.log"),
                AppendCount::new(config.max_files),
                ContentLimit::BytesSurpassed((config.max_file_mb as usize).saturating_mul(1024 * 1024)),
                Compression::None,
                None,
            );
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(FILE_QUEUE_LINES)
                .lossy(true)
                .finish(rotate);
            (Some(writer), Some(guard))
        }
        None => (None, None),
    };
    let ansi = std::io::stderr().is_terminal();
    let registry = tracing_subscriber::registry().with(filter);
    match (config.format, file_writer) {
        (LogFormat::Json, Some(file)) => {
            registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr.and(file))).try_init()?
        }
        (LogFormat::Json, None) => {
            registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).try_init()?
        }
        (LogFormat::Pretty, Some(file)) => registry
            .with(tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(std::io::stderr))
            .with(tracing_subscriber::fmt::layer().json().with_writer(file))
            .try_init()?,
        (LogFormat::Pretty, None) => {
            registry.with(tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(std::io::stderr)).try_init()?
        }
    }
    Ok(LogGuard(guard))
}

/// Deletes rotated log files (`openmanager.log.<n>`) in `dir` last written more than `max_age` ago;
/// the live file is never touched. Returns how many were deleted.
pub fn prune_rotated(dir: &std::path::Path, max_age: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let now = std::time::SystemTime::now();
    let mut deleted = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let rotated = name.strip_prefix("openmanager.log.").is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > max_age);
        if rotated && old && std::fs::remove_file(entry.path()).is_ok() {
            deleted += 1;
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn only_old_rotated_files_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["openmanager.log", "openmanager.log.1", "openmanager.log.2", "other.log.1"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        // Age 0 makes every file "old" as soon as any time has passed.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(super::prune_rotated(dir.path(), Duration::from_millis(1)), 2);
        assert!(dir.path().join("openmanager.log").exists(), "the live file stays");
        assert!(dir.path().join("other.log.1").exists(), "other files stay");
        assert_eq!(super::prune_rotated(dir.path(), Duration::from_secs(3600)), 0);
    }
}

#[cfg(test)]
mod filter_tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    /// The lines `directives` lets through when rustls and the hub each warn once.
    fn passed(directives: &str) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || Writer(sink.clone()));
        let subscriber = tracing_subscriber::registry().with(super::filter(directives).unwrap()).with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "rustls::msgs::handshake", "Illegal SNI extension");
            tracing::warn!(target: "openmanager::http", "the hub's own warning");
        });
        String::from_utf8(out.lock().unwrap().clone()).unwrap()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rustls_warnings_about_peers_are_quiet_unless_asked_for() {
        let default = passed("info");
        assert!(default.contains("the hub's own warning"), "{default}");
        assert!(!default.contains("Illegal SNI"), "{default}");
        let asked = passed("info,rustls=warn");
        assert!(asked.contains("Illegal SNI"), "{asked}");
    }
}
