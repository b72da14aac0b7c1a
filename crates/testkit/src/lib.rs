//! Test support shared by the workspace's suites: tests that need a system tool (pebble, prometheus,
//! systemd-socket-activate...) or a local service (PostgreSQL, Redis) ask here first. When it is
//! absent they print one clear skip line naming what to install and return early; when the
//! environment variable [`STRICT_VAR`] is set (`.ci/run` sets it), an absent tool or service is a
//! failure instead, so CI cannot pass by skipping.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Set (to anything but `0`) to turn every skip into a failure.
pub const STRICT_VAR: &str = "OPENMANAGER_TEST_STRICT";

/// Whether skips are failures in this run.
pub fn strict() -> bool {
    std::env::var(STRICT_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Reports something a test needs and cannot find: a panic under [`strict`], else one line on
/// stderr (shown by `cargo test` for failing tests and with `--nocapture`, and always in the
/// summary of `cargo test -- --show-output`) and on stdout.
pub fn skip(test: &str, what: &str) {
    let line = format!("SKIP {test}: {what}");
    if strict() {
        panic!("{line} ({STRICT_VAR} is set, so a missing prerequisite is a failure)");
    }
    eprintln!("{line}");
    println!("{line}");
}

/// The path of executable `name`: on `PATH`, or at one of `extra` paths. `None` (after a skip
/// line naming the Debian `package`) when absent.
pub fn tool(test: &str, name: &str, package: &str, extra: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = on_path
        .into_iter()
        .chain(extra.iter().map(PathBuf::from))
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].iter().map(|d| Path::new(d).join(name)))
        .find(|p| p.is_file());
    if found.is_none() {
        skip(test, &format!("`{name}` is not installed (apt-get install {package})"));
    }
    found
}

/// Whether a TCP service answers at `addr` (e.g. `127.0.0.1:5432`) within a second. `false`
/// (after a skip line with `hint`) when it does not.
pub fn service(test: &str, what: &str, addr: &str, hint: &str) -> bool {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs().map(|a| a.collect()).unwrap_or_default();
    let up = addrs.iter().any(|a| TcpStream::connect_timeout(a, Duration::from_secs(1)).is_ok());
    if !up {
        skip(test, &format!("{what} does not answer at {addr} ({hint})"));
    }
    up
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_tool_that_exists() {
        assert!(tool("finds_a_tool_that_exists", "sh", "dash", &[]).is_some());
    }

    #[test]
    fn a_closed_port_is_not_a_service() {
        if strict() {
            return; // under strict, the skip line would panic by design
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
        let port = port.unwrap_or(1);
        assert!(!service("a_closed_port_is_not_a_service", "nothing", &format!("127.0.0.1:{port}"), "none"));
    }
}
