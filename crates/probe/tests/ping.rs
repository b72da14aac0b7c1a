//! `ping` to 127.0.0.1 through an unprivileged ICMP socket: up where the kernel allows this
//! process's group (`net.ipv4.ping_group_range`), else down with the error that says what to set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check, prober};
use serde_json::json;

/// Whether the kernel lets this process's group open ping sockets.
fn allowed() -> bool {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let bounds: Vec<i64> = range.split_whitespace().map(|v| v.parse().unwrap()).collect();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let gid: i64 =
        status.lines().find(|l| l.starts_with("Gid:")).unwrap().split_whitespace().nth(2).unwrap().parse().unwrap();
    bounds[0] <= gid && gid <= bounds[1]
}

#[tokio::test]
async fn ping_loopback_or_say_what_to_set() {
    let c = check(json!({"kind": "ping", "target": "127.0.0.1", "timeoutMs": 3000}));
    let out = prober(vec![]).probe(&c).await;
    if allowed() {
        assert!(out.up, "{out:?}");
        assert!(out.latency_ms > 0.0);
    } else {
        assert!(!out.up);
        let error = out.error.unwrap();
        assert!(error.starts_with("unprivileged ICMP is not allowed for this process's group"), "{error}");
        assert!(error.contains("sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""), "{error}");
    }
}

#[tokio::test]
async fn ping_by_name_resolves_first() {
    let c = check(json!({"kind": "ping", "target": "localhost", "timeoutMs": 3000}));
    let out = prober(vec![]).probe(&c).await;
    // Either answer is fine here; what matters is that the name was resolved and the kernel's
    // verdict reported, not a resolution error.
    assert!(out.up || out.error.as_deref().unwrap().contains("ping_group_range"), "{out:?}");
}
