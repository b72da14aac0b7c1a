//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading or interpreting host metrics.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// A file under the source root could not be opened or read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file was read but lacks something the collector cannot do without
    /// (for example `/proc/stat` without a `cpu` line).
    #[error("parsing {file}: {reason}")]
    Parse {
        /// Which /proc file, e.g. `"stat"`.
        file: &'static str,
        /// What was missing or malformed.
        reason: &'static str,
    },
    /// A statvfs call failed for a mount point.
    #[error("statvfs {mount_point}: {source}")]
    Statvfs {
        /// The mount point that failed.
        mount_point: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A [`crate::FakeSource`] ran out of scripted samples.
    #[error("fake source has no more scripted samples")]
    Exhausted,
}

/// Shorthand for results in this crate.
pub type Result<T, E = CollectorError> = std::result::Result<T, E>;
