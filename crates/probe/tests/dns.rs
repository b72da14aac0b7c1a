//! `dns` checks against a real DNS server on loopback (Debian's dnsmasq, package `dnsmasq-base`):
//! answers of each record type, expected values matching and not, NXDOMAIN, REFUSED, a truncated
//! answer retried over TCP, and resolvers that refuse or never answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{check, prober};
use probe::Prober;
use serde_json::json;

/// dnsmasq on a loopback port, killed on drop.
struct Dnsmasq {
    child: Child,
    port: u16,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 (dnsmasq serves both).
fn free_port() -> u16 {
    testkit::free_port()
}

fn dns(name: &str, record_type: &str, expect: Option<&str>, port: u16) -> probe::Check {
    let mut spec = json!({"recordType": record_type, "resolver": format!("127.0.0.1:{port}")});
    if let Some(e) = expect {
        spec["expect"] = json!(e);
    }
    check(json!({"kind": "dns", "target": name, "timeoutMs": 3000, "dns": spec}))
}

async fn start_dnsmasq(test: &str, p: &Prober) -> Option<Dnsmasq> {
    let bin = testkit::tool(test, "dnsmasq", "dnsmasq-base", &["/usr/sbin/dnsmasq"])?;
    // Three 250-byte strings: more than a 512-byte UDP answer holds, so it comes back truncated.
    // (Commas separate the strings; no shell here, so no quotes.)
    let big = vec!["b".repeat(250); 3].join(",");
    let port = free_port();
    let pid_file = std::env::temp_dir().join(format!("probe-dnsmasq-{}-{port}.pid", std::process::id()));
    let child = Command::new(bin)
        .args(["--no-daemon", "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null"])
        .args(["--listen-address", "127.0.0.1", "--port", &port.to_string()])
        .arg(format!("--pid-file={}", pid_file.display()))
        .args(["--address=/x.test/127.0.0.5", "--address=/v6.test/::5", "--address=/gone.test/"])
        .arg("--txt-record=t.y.test,hello world")
        .arg(format!("--txt-record=big.y.test,{big}"))
        .args(["--mx-host=m.y.test,mail.y.test,10", "--cname=alias.y.test,x.test"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Dnsmasq { child, port };
    // Ready when it answers; poll with a deadline.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if p.probe(&dns("x.test", "A", None, port)).await.up {
            return Some(server);
        }
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("dnsmasq exited before answering: {status}");
        }
        assert!(Instant::now() < deadline, "dnsmasq did not answer on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn answers_of_each_type_and_expected_values() {
    let p = prober(vec![]);
    let Some(server) = start_dnsmasq("answers_of_each_type_and_expected_values", &p).await else { return };
    let port = server.port;
    for (name, rtype, expect) in [
        ("x.test", "A", Some("127.0.0.5")),
        ("deep.x.test", "A", None),
        ("v6.test", "AAAA", Some("0:0:0:0:0:0:0:5")),
        ("t.y.test", "TXT", Some("hello world")),
        ("m.y.test", "MX", Some("mail.y.test")),
        ("m.y.test", "MX", Some("10 mail.y.test.")),
        ("alias.y.test", "CNAME", Some("X.test")),
    ] {
        let out = p.probe(&dns(name, rtype, expect, port)).await;
        assert!(out.up, "{name} {rtype}: {out:?}");
        assert!(out.error.is_none());
    }
    let wrong = p.probe(&dns("x.test", "A", Some("10.9.9.9"), port)).await;
    assert!(!wrong.up);
    assert_eq!(wrong.error.as_deref(), Some("expected 10.9.9.9, got 127.0.0.5"));
    let wrong_mx = p.probe(&dns("m.y.test", "MX", Some("20 mail.y.test"), port)).await;
    assert_eq!(wrong_mx.error.as_deref(), Some("expected 20 mail.y.test, got 10 mail.y.test"));
}

#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let p = prober(vec![]);
    let Some(server) = start_dnsmasq("a_truncated_answer_is_asked_again_over_tcp", &p).await else { return };
    let expect = "b".repeat(750);
    let out = p.probe(&dns("big.y.test", "TXT", Some(&expect), server.port)).await;
    assert!(out.up, "{out:?}");
}

#[tokio::test]
async fn failing_answers_say_why() {
    let p = prober(vec![]);
    let Some(server) = start_dnsmasq("failing_answers_say_why", &p).await else { return };
    let port = server.port;
    let resolver = format!("127.0.0.1:{port}");
    let nx = p.probe(&dns("gone.test", "A", None, port)).await;
    assert!(!nx.up);
    assert_eq!(nx.error, Some(format!("NXDOMAIN from {resolver} for A gone.test")));
    let refused = p.probe(&dns("elsewhere.test", "A", None, port)).await;
    assert_eq!(refused.error, Some(format!("REFUSED from {resolver} for A elsewhere.test")));
    let no_record = p.probe(&dns("alias.y.test", "MX", None, port)).await;
    assert!(!no_record.up);
    assert!(no_record.error.as_deref().unwrap().contains("alias.y.test"), "{no_record:?}");

    // Once the server is gone, its port refuses.
    drop(server);
    let gone = p.probe(&dns("x.test", "A", None, port)).await;
    assert!(!gone.up);
    assert_eq!(gone.error, Some(format!("DNS over UDP to {resolver}: connection refused")));
}

#[tokio::test]
async fn a_silent_resolver_times_out() {
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let c = check(
        json!({"kind": "dns", "target": "x.test", "timeoutMs": 300, "dns": {"resolver": format!("127.0.0.1:{port}")}}),
    );
    let out = prober(vec![]).probe(&c).await;
    assert!(!out.up);
    assert_eq!(out.error.as_deref(), Some("timed out after 300 ms"));
    drop(silent);
}

#[tokio::test]
async fn without_a_resolver_resolv_conf_is_read() {
    let path = std::env::temp_dir().join(format!("probe-resolv-{}.conf", std::process::id()));
    std::fs::write(&path, "search lan\noptions ndots:1\n").unwrap();
    let p = Prober::new(probe::ProberConfig {
        system_roots: false,
        resolv_conf: path.clone(),
        ..probe::ProberConfig::default()
    })
    .unwrap();
    let out = p.probe(&check(json!({"kind": "dns", "target": "x.test"}))).await;
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.error, Some(format!("no nameserver in {}; set dns.resolver", path.display())));
}
