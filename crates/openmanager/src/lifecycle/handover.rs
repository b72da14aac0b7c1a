//! Zero-downtime restart on `SIGUSR2`: start the binary now at our own path with the listening
//! socket, wait until it says it is ready, then let it take over.
//!
//! What the successor inherits:
//! - fd 3: the listening socket (the same socket, not a copy: one accept queue, so while both
//!   processes run both accept from it, and when we stop accepting nothing is refused);
//! - fd 4: one end of a socket pair on which it writes `READY=1` once it serves and its health
//!   checks pass (EOF before that means it died);
//! - stdin: the data-directory lock file, opened by us (the same open file, so the same `flock`:
//!   the lock never lapses between the two processes, nobody can take it in between, and neither
//!   waits for the other, so readiness cannot deadlock on it). Standard input is the one descriptor
//!   std lets a process adopt without unsafe code, and a server reads nothing from it;
//! - `LISTEN_FDS=2`, `LISTEN_FDNAMES=http:handover`, no `LISTEN_PID` (its pid is unknown before the
//!   spawn) and `OPENMANAGER_HANDOVER_FROM=<our pid>`, checked against its parent pid (`listener.rs`);
//!   with `tls.http_port`, `LISTEN_FDS=3` and the plain-HTTP socket as descriptor 5;
//! - no `WATCHDOG_PID`: systemd set it to our pid, and the successor must ping the watchdog once it is
//!   the main process.
//!
//! Which binary: the path we were started as (argv[0], made absolute at start, symlinks kept), looked
//! up again now. Not `/proc/self/exe`, which is the inode we run even after a deploy replaced the file,
//! and not `std::env::current_exe()`, which the kernel resolved through the symlinks at our start (for
//! `/opt/openmanager/current/openmanager` it names `releases/<old>/openmanager`): both would start
//! the old release again after `deploy.sh` switched the `current` link.
//!
//! Once the successor is ready the caller tells systemd the new main pid (`MAINPID=`, accepted
//! because we are still the main process), stops accepting, drains and exits 0. If it exits or is
//! not ready within the deadline it is killed and we keep serving.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use command_fds::{CommandFdExt, FdMapping};
use tokio::io::AsyncBufReadExt;

use super::inherited_socket::{HANDOVER_FDNAMES, HANDOVER_FDNAMES_HTTP, HANDOVER_FROM_VAR};

/// The readiness line, as in systemd's notification protocol.
const READY: &str = "READY=1";

/// How to start this program again: the path as we were started, and our arguments.
#[derive(Debug, Clone)]
pub struct Exec {
    pub path: PathBuf,
    pub args: Vec<OsString>,
}

impl Exec {
    /// Captures argv now (at start, before the working directory could change).
    pub fn capture() -> Exec {
        let mut argv = std::env::args_os();
        let argv0 = argv.next();
        let args = argv.collect();
        let path = argv0
            .as_deref()
            .and_then(|a| resolve_argv0(a, std::env::var_os("PATH").as_deref()))
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| PathBuf::from("/proc/self/exe"));
        Exec { path, args }
    }
}

/// argv[0] as an absolute path without resolving symlinks: relative to the working directory if it
/// has a slash, else the first executable match in `PATH` (what the shell did to start us).
pub fn resolve_argv0(argv0: &OsStr, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let p = Path::new(argv0);
    if p.as_os_str().is_empty() {
        return None;
    }
    if p.components().count() > 1 || p.is_absolute() {
        return std::path::absolute(p).ok();
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(p))
        .find(|c| c.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .and_then(|c| std::path::absolute(c).ok())
}

/// Why a hand-over did not happen.
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("cannot start {path}: {source}")]
    Spawn { path: String, source: io::Error },
    #[error("the new process exited before it was ready ({0})")]
    Exited(String),
    #[error("the new process was not ready within {0:?}; killed it")]
    Timeout(Duration),
    #[error("cannot prepare the hand-over: {0}")]
    Io(#[from] io::Error),
}

/// What the successor gets from us.
pub struct Inheritance<'a> {
    pub listener: &'a TcpListener,
    /// The plain-HTTP port's socket (`tls.http_port`), passed as descriptor 5.
    pub http_listener: Option<&'a TcpListener>,
    /// A second handle on the data-directory lock's open file.
    pub lock: File,
}

/// A started successor that has not taken over yet. Dropping it kills the process (a hand-over
/// abandoned half way, say by SIGTERM, leaves nothing behind).
pub struct Successor {
    child: Option<Child>,
    pid: u32,
}

impl Successor {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// It is ready: from now on it runs on its own (it is reparented when we exit).
    pub fn release(mut self) -> u32 {
        self.child = None;
        self.pid
    }

    fn kill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Successor {
    fn drop(&mut self) {
        if self.child.is_some() {
            tracing::warn!(pid = self.pid, "stopping the unfinished successor");
            self.kill();
        }
    }
}

/// Starts `exec` with `inherit` and waits until it reports ready, at most `deadline`.
pub async fn start(exec: &Exec, inherit: Inheritance<'_>, deadline: Duration) -> Result<Successor, HandoverError> {
    let (ours, theirs) = UnixStream::pair()?;
    let mut cmd = Command::new(&exec.path);
    let count = if inherit.http_listener.is_some() { "3" } else { "2" };
    cmd.args(&exec.args)
        .env("LISTEN_FDS", count)
        .env("LISTEN_FDNAMES", if inherit.http_listener.is_some() { HANDOVER_FDNAMES_HTTP } else { HANDOVER_FDNAMES })
        .env_remove("LISTEN_PID")
        .env_remove("WATCHDOG_PID")
        .env(HANDOVER_FROM_VAR, std::process::id().to_string())
        .stdin(Stdio::from(inherit.lock));
    let mut fds = vec![
        FdMapping { parent_fd: inherit.listener.as_fd().try_clone_to_owned()?, child_fd: 3 },
        FdMapping { parent_fd: theirs.into(), child_fd: 4 },
    ];
    if let Some(http) = inherit.http_listener {
        fds.push(FdMapping { parent_fd: http.as_fd().try_clone_to_owned()?, child_fd: 5 });
    }
    cmd.fd_mappings(fds).map_err(|e| io::Error::other(e.to_string()))?;
    let spawned = cmd.spawn();
    // Our copies of the successor's descriptors go with the command: from now on the channel sees
    // EOF as soon as the successor is gone.
    drop(cmd);
    let child = spawned.map_err(|source| HandoverError::Spawn { path: exec.path.display().to_string(), source })?;
    let mut successor = Successor { pid: child.id(), child: Some(child) };
    tracing::info!(pid = successor.pid, path = %exec.path.display(), "started the successor; waiting until it is ready");

    ours.set_nonblocking(true)?;
    let channel = tokio::net::UnixStream::from_std(ours)?;
    let mut lines = tokio::io::BufReader::new(channel).lines();
    let outcome = tokio::time::timeout(deadline, async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) if line.trim() == READY => return true,
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return false,
            }
        }
    })
    .await;
    match outcome {
        Ok(true) => Ok(successor),
        Ok(false) => {
            // EOF: it exited (or closed the channel, which only an exit does); reap it.
            let status = successor.kill().map(|s| s.to_string()).unwrap_or_else(|| "status unknown".into());
            Err(HandoverError::Exited(status))
        }
        Err(_) => {
            successor.kill();
            Err(HandoverError::Timeout(deadline))
        }
    }
}

/// The successor's side: tells the predecessor it is ready.
pub fn report_ready(mut channel: UnixStream) -> io::Result<()> {
    channel.write_all(format!("{READY}\n").as_bytes())?;
    channel.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv0_keeps_symlinks_and_searches_path() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("release");
        std::fs::create_dir(&release).unwrap();
        let bin = release.join("openmanager");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let current = dir.path().join("current");
        std::os::unix::fs::symlink(&release, &current).unwrap();

        let through_link = current.join("openmanager");
        assert_eq!(resolve_argv0(through_link.as_os_str(), None), Some(through_link.clone()));
        let found = resolve_argv0(OsStr::new("openmanager"), Some(current.as_os_str()));
        assert_eq!(found, Some(through_link));
        assert_eq!(resolve_argv0(OsStr::new("absent-binary"), Some(current.as_os_str())), None);
    }
}
