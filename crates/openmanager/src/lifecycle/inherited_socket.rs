//! The listening socket a server inherits instead of binding: from systemd (socket activation) or
//! from the process it takes over from (a `SIGUSR2` hand-over).
//!
//! Both follow systemd's `LISTEN_FDS` convention: the sockets are descriptors 3, 4, ... and
//! `LISTEN_FDS` says how many. Whose they are is checked two ways:
//! - socket activation: `LISTEN_PID` equals our pid (systemd sets it just before exec);
//! - hand-over: the predecessor cannot know our pid before spawning us, so it leaves `LISTEN_PID`
//!   out and sets `OPENMANAGER_HANDOVER_FROM` to its own pid, which must equal our parent pid. A
//!   grandchild that inherited the variables by mistake has another parent and ignores them.
//!
//! Descriptors are adopted through `listenfd`, which checks each one is a socket of the expected type
//! before taking ownership (the one unsafe step, kept in that crate).

use std::net::TcpListener;
use std::os::unix::net::UnixStream;

/// Set by a predecessor to its pid in its successor's environment (see the module docs).
pub const HANDOVER_FROM_VAR: &str = "OPENMANAGER_HANDOVER_FROM";
/// `LISTEN_FDNAMES` a predecessor passes: the listening socket, then the readiness channel.
pub const HANDOVER_FDNAMES: &str = "http:handover";
/// The same with the plain-HTTP port's socket third (`tls.http_port`).
pub const HANDOVER_FDNAMES_HTTP: &str = "http:handover:http-port";

/// Where the listening socket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Bound by this process from the configured host and port.
    Bound,
    /// Passed by systemd (`openmanager.socket`).
    Systemd,
    /// Passed by the process this one took over from.
    Handover,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Bound => "bound",
            Origin::Systemd => "systemd",
            Origin::Handover => "hand-over",
        }
    }
}

/// What a process inherited at start.
#[derive(Debug)]
pub struct Inherited {
    pub listener: Option<TcpListener>,
    /// A second listening socket: the plain-HTTP port (`tls.http_port`) next to the HTTPS one
    /// (systemd's second `ListenStream=`, or a predecessor's third descriptor).
    pub http_listener: Option<TcpListener>,
    /// In a process started by a hand-over: the channel on which to tell the predecessor "ready".
    pub handover: Option<UnixStream>,
    pub origin: Origin,
    /// Things worth a warning once logging is up (this runs before it).
    pub warnings: Vec<String>,
}

impl Inherited {
    pub fn none() -> Self {
        Inherited { listener: None, http_listener: None, handover: None, origin: Origin::Bound, warnings: Vec::new() }
    }
}

/// The variables [`take`] looks at, read once so the decision is a pure function.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListenEnv {
    pub listen_fds: Option<String>,
    pub listen_pid: Option<String>,
    pub handover_from: Option<String>,
}

impl ListenEnv {
    fn read() -> Self {
        ListenEnv {
            listen_fds: std::env::var("LISTEN_FDS").ok(),
            listen_pid: std::env::var("LISTEN_PID").ok().filter(|s| !s.is_empty()),
            handover_from: std::env::var(HANDOVER_FROM_VAR).ok().filter(|s| !s.is_empty()),
        }
    }
}

/// Whose descriptors these are, given our pid and our parent's.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    Systemd {
        count: usize,
    },
    Handover {
        count: usize,
    },
    /// Set, but not for this process (named with the reason, for the log).
    NotOurs(String),
}

pub fn decide(env: &ListenEnv, pid: u32, parent_pid: u32) -> Result<Decision, String> {
    let Some(fds) = &env.listen_fds else { return Ok(Decision::Nothing) };
    let count: usize = fds.trim().parse().map_err(|_| format!("LISTEN_FDS={fds:?} is not a number"))?;
    if count == 0 {
        return Ok(Decision::Nothing);
    }
    match (&env.listen_pid, &env.handover_from) {
        (Some(p), _) if p.trim() == pid.to_string() => Ok(Decision::Systemd { count }),
        (Some(p), _) => Ok(Decision::NotOurs(format!("LISTEN_PID={p} is another process (we are {pid})"))),
        (None, Some(from)) if from.trim() == parent_pid.to_string() => Ok(Decision::Handover { count }),
        (None, Some(from)) => {
            Ok(Decision::NotOurs(format!("{HANDOVER_FROM_VAR}={from} is not our parent (pid {parent_pid})")))
        }
        (None, None) => Ok(Decision::NotOurs(format!("LISTEN_FDS without LISTEN_PID or {HANDOVER_FROM_VAR}"))),
    }
}

/// Takes the inherited descriptors, if any are ours, and removes `LISTEN_FDS` and `LISTEN_PID` from
/// the environment so that processes we start do not take them by mistake.
///
/// Call it first thing in `main`, before any thread exists: changing the environment is only sound
/// while nothing else can read it. An error means something was passed to us that we cannot serve
/// on; start-up should stop rather than bind the same port itself.
pub fn take() -> Result<Inherited, String> {
    let env = ListenEnv::read();
    let decision = decide(&env, std::process::id(), std::os::unix::process::parent_id())?;
    // Reads and clears LISTEN_FDS and LISTEN_PID, whatever we decide.
    let mut fds = listenfd::ListenFd::from_env();
    let mut out = Inherited::none();
    match decision {
        Decision::Nothing => {}
        Decision::NotOurs(why) => out.warnings.push(format!("ignoring inherited sockets: {why}")),
        Decision::Systemd { count } => {
            out.listener = Some(tcp(&mut fds, 0)?);
            out.origin = Origin::Systemd;
            if count > 1 {
                // The second is the plain-HTTP port (`openmanager install --https`: 443 then 80).
                out.http_listener = Some(tcp(&mut fds, 1)?);
            }
            if count > 2 {
                out.warnings.push(format!("systemd passed {count} sockets; serving on the first two only"));
            }
        }
        Decision::Handover { count } => {
            if count != 2 && count != 3 {
                return Err(format!(
                    "a hand-over passes 2 descriptors ({HANDOVER_FDNAMES}), or 3 with the plain-HTTP port, got {count}"
                ));
            }
            if count == 3 {
                out.http_listener = Some(tcp(&mut fds, 2)?);
            }
            out.listener = Some(tcp(&mut fds, 0)?);
            let channel = fds
                .take_unix_listener(1)
                .map_err(|e| format!("inherited hand-over channel: {e}"))?
                .ok_or("the hand-over channel (fd 4) is missing")?;
            // A connected stream socket, adopted through the one listenfd call that accepts any
            // AF_UNIX stream socket; the conversion below only changes the Rust type.
            out.handover = Some(UnixStream::from(std::os::fd::OwnedFd::from(channel)));
            out.origin = Origin::Handover;
        }
    }
    Ok(out)
}

fn tcp(fds: &mut listenfd::ListenFd, idx: usize) -> Result<TcpListener, String> {
    fds.take_tcp_listener(idx)
        .map_err(|e| format!("inherited socket {}: {e}", idx + 3))?
        .ok_or_else(|| format!("inherited socket {} is missing", idx + 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(fds: Option<&str>, pid: Option<&str>, from: Option<&str>) -> ListenEnv {
        ListenEnv {
            listen_fds: fds.map(String::from),
            listen_pid: pid.map(String::from),
            handover_from: from.map(String::from),
        }
    }

    #[test]
    fn systemd_needs_our_pid() {
        assert_eq!(decide(&env(Some("1"), Some("42"), None), 42, 1), Ok(Decision::Systemd { count: 1 }));
        assert!(matches!(decide(&env(Some("1"), Some("41"), None), 42, 1), Ok(Decision::NotOurs(_))));
    }

    #[test]
    fn handover_needs_our_parent() {
        assert_eq!(decide(&env(Some("2"), None, Some("7")), 42, 7), Ok(Decision::Handover { count: 2 }));
        assert!(matches!(decide(&env(Some("2"), None, Some("8")), 42, 7), Ok(Decision::NotOurs(_))));
        // LISTEN_PID wins: a systemd-activated process is never mistaken for a successor.
        assert!(matches!(decide(&env(Some("2"), Some("9"), Some("7")), 42, 7), Ok(Decision::NotOurs(_))));
    }

    #[test]
    fn absent_zero_or_unowned() {
        assert_eq!(decide(&env(None, Some("42"), None), 42, 1), Ok(Decision::Nothing));
        assert_eq!(decide(&env(Some("0"), Some("42"), None), 42, 1), Ok(Decision::Nothing));
        assert!(matches!(decide(&env(Some("1"), None, None), 42, 1), Ok(Decision::NotOurs(_))));
        assert!(decide(&env(Some("x"), Some("42"), None), 42, 1).is_err());
    }
}
