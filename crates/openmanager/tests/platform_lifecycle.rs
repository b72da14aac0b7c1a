//! End-to-end tests of start-up and shutdown: the generated admin token, readiness time, systemd's
//! READY=1, and exit 0 on SIGTERM and SIGINT.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::Server;

#[tokio::test]
async fn first_start_generates_a_private_token_and_reuses_it() {
    let s = Server::builder().generated_token().start_async().await;
    let path = s.data_dir().join("admin.token");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = s.token.clone();
    assert!(token.len() >= 32);
    assert_eq!(s.get("/api/metrics").bearer_auth(&token).send().await.unwrap().status(), 200);
    let logs = s.logs();
    assert!(logs.contains("admin.token") && logs.contains("dashboard"), "{logs}");
    assert!(!logs.contains(&token), "the token itself must not be logged");

    let dir = s.stop();
    let again = Server::builder().generated_token().in_dir(dir).start_async().await;
    assert_eq!(again.token, token, "the same token after a restart");
    assert!(!again.logs().contains(&token));
}

#[tokio::test]
async fn sigterm_and_sigint_stop_gracefully_with_exit_zero() {
    for sig in ["TERM", "INT"] {
        let mut s = Server::builder().start_async().await;
        assert_eq!(s.get("/api/health").send().await.unwrap().status(), 200);
        s.signal(sig);
        let status = s.wait_exit(Duration::from_secs(20));
        assert!(status.success(), "{sig}: {status:?}\n{}", s.logs());
        assert!(s.logs().contains("\"stopped\""), "{}", s.logs());
    }
}

#[tokio::test]
async fn notifies_systemd_when_ready() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut s = Server::builder()
        .env("NOTIFY_SOCKET", sock_path.to_str().unwrap())
        .env("WATCHDOG_USEC", "200000")
        .start_async()
        .await;
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(msg.contains("READY=1"), "{msg}");
    // The watchdog pings at half of WATCHDOG_USEC while healthy.
    for _ in 0..3 {
        let n = sock.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1"));
    }
    s.signal("TERM");
    // Pings may still be queued before STOPPING=1.
    let stopping = (0..50).any(|_| {
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1")
    });
    assert!(stopping);
    assert!(s.wait_exit(Duration::from_secs(20)).success());
}

#[tokio::test]
async fn bad_config_fails_start_with_a_named_key() {
    let out = common::command().env("PORT", "70000").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.port") && err.contains("PORT"), "{err}");
}

#[tokio::test]
async fn logs_also_go_to_a_rotated_file_when_asked() {
    let logs = tempfile::tempdir().unwrap();
    let mut s = Server::builder()
        .config(&format!("[log]\ndir = \"{}\"\nmax_file_mb = 1\nmax_files = 2\n", logs.path().display()))
        .start_async()
        .await;
    assert_eq!(s.get("/api/health").send().await.unwrap().status(), 200);
    s.signal("TERM");
    assert!(s.wait_exit(Duration::from_secs(20)).success());
    let text = std::fs::read_to_string(logs.path().join("openmanager.log")).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(first["fields"]["message"].is_string(), "JSON lines in the file: {text}");
    assert!(text.contains("\"listening\"") && text.contains("\"stopped\""), "{text}");
    assert!(!text.contains(common::ADMIN_TOKEN));
}

#[tokio::test]
async fn one_server_per_data_directory() {
    let s = Server::builder().start_async().await;
    let mut second = common::command()
        .args(["serve", "--port", "0", "--host", "127.0.0.1", "--data-dir"])
        .arg(s.data_dir())
        .env("OPENMANAGER_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a second server that wrongly starts must fail the test, not hang it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = second.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second server started on a data directory in use");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("in use"), "{err}");
}

#[test]
fn memory_guard_stops_gracefully_with_a_non_zero_exit() {
    // No harness start: with a 1 MiB limit the server may stop before a test could see it ready.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nhost = \"127.0.0.1\"\nport = 0\ndata_dir = \"{}\"\n[memory]\ncheck_interval_ms = 50\nchecks = 3\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = common::command()
        .arg("--config")
        .arg(&config)
        .env("OPENMANAGER_MAX_MEMORY_MB", "1")
        .env("OPENMANAGER_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .env("OPENMANAGER_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Reading to the end returns once the process exits (it is the pipe's only writer).
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the memory guard did not stop the server");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let logs = reader.join().unwrap();
    assert_eq!(status.code(), Some(1), "{logs}");
    let line = logs.lines().find(|l| l.contains("memory limit exceeded")).unwrap_or_else(|| panic!("{logs}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["level"], "ERROR");
    assert_eq!(v["fields"]["limit_mb"], 1);
    assert_eq!(v["fields"]["checks"], 3);
    assert!(v["fields"]["rss_mb"].as_u64().unwrap() >= 1, "{line}");
    assert!(v["fields"]["anon_mb"].is_u64() && v["fields"]["open_connections"].is_u64(), "{line}");
    // Graceful: the same shutdown as SIGTERM, store closed, then the non-zero exit.
    assert!(logs.contains(r#""outcome":"MemoryLimit""#), "{logs}");
}
