//! Logging with tracing: readable lines on a terminal, JSON when asked (for journald or a collector),
//! and optionally a size-rotated file with a bounded number of old files kept.

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

/// Keeps the file writer flushing; dropping it flushes what is queued.
pub struct LogGuard(#[allow(dead_code)] Option<WorkerGuard>);

/// Installs the global subscriber. Logs go to stderr (stdout is for command output).
pub fn init(config: &LogConfig) -> anyhow::Result<LogGuard> {
    let filter = EnvFilter::try_new(&config.filter)?;
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
