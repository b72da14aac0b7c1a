//! Socket activation with systemd's own tool: `systemd-socket-activate` binds the port, starts the
//! real binary on the first connection with the socket as fd 3 (`LISTEN_FDS`, `LISTEN_PID`), and the
//! server answers on it; a SIGUSR2 hand-over then passes the same socket on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ADMIN_TOKEN;

/// `systemd-socket-activate` (Debian/Ubuntu package `systemd`; `.ci/run` installs it when missing),
/// or `None` after a skip line.
fn activator() -> Option<std::path::PathBuf> {
    testkit::tool("socket_activation", "systemd-socket-activate", "systemd", &["/usr/lib/systemd/systemd-activate"])
}

/// (status, body) of `GET path`, or `None` while nothing answers.
fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let status = buf.get(9..12)?.parse().ok()?;
    Some((status, buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()))
}

fn free_port() -> u16 {
    testkit::free_port()
}

#[test]
fn serves_on_the_socket_systemd_passes_and_hands_it_over() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    // The configured port is deliberately another one: an inherited socket wins over it.
    std::fs::write(
        &config,
        format!("[server]\nhost = \"127.0.0.1\"\nport = 0\ndata_dir = \"{}\"\n", dir.path().join("data").display()),
    )
    .unwrap();
    let port = free_port();
    let Some(activator) = activator() else { return };
    let mut cmd = Command::new(activator);
    common::clean_env(&mut cmd);
    // The activator gives its child only the variables named with -E.
    cmd.arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-E", "OPENMANAGER_LOG_FORMAT=json", "-E", "OPENMANAGER_LOG=info"])
        .arg("-E")
        .arg(format!("OPENMANAGER_ADMIN_TOKEN={ADMIN_TOKEN}"))
        .arg(common::binary())
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // The activator execs the server in place: same pid.
    let pid = child.id();
    let logs = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = logs.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let text = || logs.lock().unwrap().join("\n");
    // Kill whatever is left if an assertion fails.
    struct Cleanup(Vec<u32>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for pid in &self.0 {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
            }
        }
    }
    let mut cleanup = Cleanup(vec![pid]);

    // The first connection makes the activator start the server; it waits in the backlog meanwhile.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, _)) = get(port, "/api/health", None) {
            break;
        }
        assert!(Instant::now() < deadline, "no answer on the activated socket; logs:\n{}", text());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The answer can come before the "listening" line reaches our reader thread.
    while common::listening_pids(&logs.lock().unwrap()).is_empty() {
        assert!(Instant::now() < deadline, "no listening line; logs:\n{}", text());
        std::thread::sleep(Duration::from_millis(10));
    }
    let logs_now = text();
    assert!(logs_now.contains(r#""socket":"systemd""#), "{logs_now}");
    assert!(logs_now.contains(&format!(r#""addr":"127.0.0.1:{port}""#)), "{logs_now}");
    assert_eq!(common::listening_pids(&logs.lock().unwrap()), vec![pid]);

    // Hand the systemd socket over: the successor serves on it and the activated process exits 0.
    common::signal_pid(pid, "USR2");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline + Duration::from_secs(30), "no hand-over; logs:\n{}", text());
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}\n{}", text());
    let successor = loop {
        if let Some(&p) = common::listening_pids(&logs.lock().unwrap()).iter().find(|&&p| p != pid) {
            break p;
        }
        assert!(Instant::now() < deadline + Duration::from_secs(30), "no successor; logs:\n{}", text());
        std::thread::sleep(Duration::from_millis(10));
    };
    cleanup.0.push(successor);
    let (code, body) = get(port, "/api/metrics", Some(ADMIN_TOKEN)).unwrap();
    assert_eq!(code, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["application"]["pid"], successor);
    common::stop_pid(successor);
}
