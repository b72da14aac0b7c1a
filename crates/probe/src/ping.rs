//! The `ping` probe: one ICMP echo through an unprivileged ping socket (`SOCK_DGRAM` +
//! `IPPROTO_ICMP`/`IPPROTO_ICMPV6`). The kernel fills in the identifier and the checksum and hands back
//! only the replies to this socket, so no raw socket (and no privilege) is needed; it allows these
//! sockets only to the groups in `net.ipv4.ping_group_range`, and the error says so when refused.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::result::Outcome;
use crate::target::{Host, HostPort, io_text, resolve};

const RANGE_FILE: &str = "/proc/sys/net/ipv4/ping_group_range";
/// Payload bytes after the 8-byte header: a token that tells our reply from a stray one.
const TOKEN_LEN: usize = 16;

/// Sequence numbers, distinct across concurrent probes of this process.
static SEQUENCE: AtomicU16 = AtomicU16::new(1);

pub(crate) async fn probe(host: &Host, started: Instant) -> Outcome {
    let ip = match host {
        Host::Ip(ip) => *ip,
        // `resolve` answers at least one address or an error.
        Host::Name(_) => match resolve(&HostPort { host: host.clone(), port: 0 }).await.map(|a| a.first().copied()) {
            Ok(Some(addr)) => addr.ip(),
            Ok(None) => return Outcome::down(started.elapsed(), format!("cannot resolve {host}")),
            Err(e) => return Outcome::down(started.elapsed(), e),
        },
    };
    match echo(ip).await {
        Ok(()) => Outcome::up(started.elapsed()),
        Err(e) => Outcome::down(started.elapsed(), e),
    }
}

/// Sends one echo request to `ip` and waits (as long as the caller lets it) for its reply.
async fn echo(ip: IpAddr) -> Result<(), String> {
    let (domain, protocol, request, reply) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128, 129),
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(protocol)).map_err(|e| open_error(&e))?;
    socket.set_nonblocking(true).map_err(|e| format!("ping socket: {e}"))?;
    socket.connect(&SocketAddr::new(ip, 0).into()).map_err(|e| format!("ping {ip}: {}", io_text(&e)))?;
    let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(|e| format!("ping socket: {e}"))?;

    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let token = token(seq);
    let mut packet = [0u8; 8 + TOKEN_LEN];
    packet[0] = request;
    packet[6..8].copy_from_slice(&seq.to_be_bytes());
    packet[8..].copy_from_slice(&token);
    socket.send(&packet).await.map_err(|e| format!("ping {ip}: {}", io_text(&e)))?;

    let mut buf = [0u8; 512];
    loop {
        let n = socket.recv(&mut buf).await.map_err(|e| format!("ping {ip}: {}", io_text(&e)))?;
        let got = &buf[..n];
        if n >= packet.len() && got[0] == reply && got[6..8] == seq.to_be_bytes() && got[8..8 + TOKEN_LEN] == token {
            return Ok(());
        }
        // Anything else (an older probe's late reply) is skipped; the caller's timeout bounds the wait.
    }
}

/// Bytes that differ per probe and per process start.
fn token(seq: u16) -> [u8; TOKEN_LEN] {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    let a = state.hash_one((seq, 1u8)).to_be_bytes();
    let b = state.hash_one((seq, 2u8)).to_be_bytes();
    let mut t = [0u8; TOKEN_LEN];
    t[..8].copy_from_slice(&a);
    t[8..].copy_from_slice(&b);
    t
}

/// Why the socket could not be opened, and what to set when it is the kernel's policy.
fn open_error(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::PermissionDenied => {
            let range = std::fs::read_to_string(RANGE_FILE).map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "));
            let gid = own_gid().map_or_else(String::new, |g| format!(" (this process's group is {g})"));
            format!(
                "unprivileged ICMP is not allowed for this process's group{gid}: \
                 net.ipv4.ping_group_range is \"{}\"; allow it with \
                 `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` (persist it in /etc/sysctl.d/)",
                range.unwrap_or_else(|_| "unreadable".into())
            )
        }
        _ if e.raw_os_error() == Some(93) || e.kind() == ErrorKind::Unsupported => {
            // EPROTONOSUPPORT: a kernel built without ping sockets.
            format!("this kernel has no unprivileged ICMP sockets: {e}")
        }
        _ => format!("cannot open a ping socket: {e}"),
    }
}

/// The effective group id, from /proc (no libc call needed).
fn own_gid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Gid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_permission_error_says_what_to_set() {
        let text = open_error(&std::io::Error::from(ErrorKind::PermissionDenied));
        assert!(text.contains("sysctl -w net.ipv4.ping_group_range="), "{text}");
        assert!(text.contains("net.ipv4.ping_group_range is \""), "{text}");
    }

    #[test]
    fn tokens_differ_between_probes() {
        assert_ne!(token(1), token(2));
    }
}
