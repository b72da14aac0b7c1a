//! The crate's error type and the mapping from the client's errors to it. Every `Err` a primitive
//! returns means the same thing to its caller: use the hub's local (in-process) equivalent for this
//! call; [`Error::kind`] says why, for logs and metrics.

use std::time::Duration;

/// Why a call did not get an answer from Redis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Redis cannot be used right now: unreachable, refused, timed out, TLS or authentication
    /// failed, loading, read-only (a replica after a fail-over), out of memory. While it lasts,
    /// calls fail at once (one attempt per `retry_interval_ms`). The text never holds the password.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    /// Too many commands already waiting on this hub (`max_in_flight`).
    #[error("redis busy: too many commands in flight")]
    Busy,
    /// The caller asked for something this crate refuses: a name with characters outside
    /// `[A-Za-z0-9._:-]`, a value over `max_entry_bytes`, a zero TTL or limit.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Redis answered something unexpected (a script error, a key of the wrong type, a reply that
    /// does not parse): a bug or a foreign writer under our prefix. Not retried.
    #[error("redis error: {0}")]
    Internal(String),
}

/// The coarse class of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Unavailable,
    Busy,
    InvalidInput,
    Internal,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Busy => ErrorKind::Busy,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether Redis itself is the problem (the hub reports it as degraded), as opposed to this
    /// call's input or a bug.
    pub fn is_outage(&self) -> bool {
        matches!(self, Error::Unavailable(_) | Error::Busy)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Server error codes that mean "this Redis cannot serve us now" rather than "this command is
/// wrong": authentication, loading a dataset, a replica, a fail-over, memory, a long script.
const OUTAGE_CODES: [&str; 11] = [
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "LOADING",
    "READONLY",
    "MASTERDOWN",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "OOM",
    "BUSY",
    "MISCONF",
];

/// The client's error, classified, with `secrets` (the URL's password, as written and decoded)
/// scrubbed from the text.
pub(crate) fn classify(e: &redis::RedisError, secrets: &[String]) -> Error {
    let mut text = e.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(s.as_str(), "***");
    }
    let outage = match e.kind() {
        redis::ErrorKind::Io
        | redis::ErrorKind::AuthenticationFailed
        | redis::ErrorKind::Parse
        | redis::ErrorKind::InvalidClientConfig => true,
        redis::ErrorKind::Server(k) => matches!(
            k,
            redis::ServerErrorKind::BusyLoading
                | redis::ServerErrorKind::ReadOnly
                | redis::ServerErrorKind::MasterDown
                | redis::ServerErrorKind::TryAgain
                | redis::ServerErrorKind::ClusterDown
                | redis::ServerErrorKind::NoPerm
        ),
        _ => false,
    } || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.code().is_some_and(|c| OUTAGE_CODES.contains(&c));
    if outage { Error::Unavailable(text) } else { Error::Internal(text) }
}

/// A command that did not answer within `command_timeout_ms`.
pub(crate) fn timed_out(what: &str, after: Duration) -> Error {
    Error::Unavailable(format!("{what} timed out after {} ms", after.as_millis()))
}
