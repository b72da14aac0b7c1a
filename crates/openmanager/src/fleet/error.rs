//! Why the fleet refused or failed an operation. Adapters map these to their own answers (HTTP
//! statuses, tool errors); the messages are for people.

use crate::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("server `{0}` not found")]
    NotFound(String),
    #[error("a server named `{0}` already exists")]
    Duplicate(String),
    #[error("server `{0}` is simulated; turn the simulation off (`simulation.enabled = false`) to hide it")]
    Simulated(String),
    /// An id that belongs to another kind of server (an agent reporting as a static server's id).
    #[error("`{0}` is not an agent's id")]
    NotAnAgent(String),
    #[error("the fleet is full ({0} servers); remove servers or raise the limit")]
    Full(usize),
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// The store's queue is full: retry shortly.
    #[error("the store is busy; retry")]
    Busy,
    /// The store cannot take writes now (disk full, database unreachable); it recovers by itself,
    /// so the caller should retry after `retry_after_secs` (agents keep their spool meanwhile).
    #[error("the history store cannot accept writes now ({reason}); retry later")]
    Unavailable { reason: String, retry_after_secs: u64 },
    #[error("store failure")]
    Store(#[source] anyhow::Error),
}

fn describe(errors: &[FieldError]) -> String {
    match errors {
        [one] => format!("invalid `{}`: {}", one.field, one.reason),
        _ => format!("{} fields are invalid", errors.len()),
    }
}

impl FleetError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }
}

impl From<store::Error> for FleetError {
    fn from(e: store::Error) -> Self {
        use store::ErrorKind;
        match (e.kind(), e) {
            (_, store::Error::InvalidCursor) => Self::invalid("cursor", "not a cursor from this endpoint"),
            (_, store::Error::InvalidInput(why)) => Self::invalid("body", why),
            (ErrorKind::Busy, _) => Self::Busy,
            (ErrorKind::Unavailable | ErrorKind::DiskFull, e) => Self::Unavailable {
                retry_after_secs: e.retry_after().map_or(30, |d| d.as_secs().max(1)),
                reason: e.to_string(),
            },
            (_, other) => Self::Store(other.into()),
        }
    }
}
