//! Test support shared by the workspace's suites: tests that need a system tool (pebble, prometheus,
//! systemd-socket-activate...) or a local service (PostgreSQL, Redis) ask here first. When it is
//! absent they print one clear skip line naming what to install and return early; when the
//! environment variable [`STRICT_VAR`] is set (`.ci/run` sets it), an absent tool or service is a
//! failure instead, so CI cannot pass by skipping.

use std::hash::{BuildHasher, RandomState};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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

/// A loopback port free for TCP and UDP, for a program the test starts and that binds it itself (a
/// receiver, pebble, a second hub).
///
/// Drawn at random below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`), not by
/// binding port 0: a port the kernel hands out for port 0 comes from that range, and so does the
/// source port of every outgoing connection, so in a busy parallel run another test's client could
/// take a released ephemeral port before the program bound it (seen as a pebble or a hub that never
/// came up). Below the range only another test's explicit pick can collide, and each pick is checked
/// free for both protocols.
pub fn free_port() -> u16 {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    const LOW: u16 = 20000;
    if ephemeral_low > LOW + 1000 {
        let span = u64::from(ephemeral_low - LOW);
        let seed = RandomState::new();
        for _ in 0..200 {
            let draw = seed.hash_one((DRAWS.fetch_add(1, Ordering::Relaxed), std::process::id()));
            let port = LOW + u16::try_from(draw % span).unwrap_or(0);
            if port_is_free(port) {
                return port;
            }
        }
    }
    // A machine whose ephemeral range leaves no room below it: the kernel's pick, checked for UDP too.
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0);
        if port != 0 && port_is_free(port) {
            return port;
        }
    }
}

/// Whether `port` on 127.0.0.1 can be bound now, for TCP and for UDP.
fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok() && UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound_and_is_below_the_ephemeral_range() {
        let port = free_port();
        TcpListener::bind(("127.0.0.1", port)).expect("the port is free for TCP");
        UdpSocket::bind(("127.0.0.1", port)).expect("the port is free for UDP");
        let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(32768);
        if low > 21000 {
            assert!(port < low, "{port} is inside the ephemeral range starting at {low}");
        }
    }

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
