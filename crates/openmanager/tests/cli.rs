//! End-to-end tests of the command line: `version`, `check-config` (masked output, named errors).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::command;

#[test]
fn version_prints_the_crate_version() {
    let out = command().arg("version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("openmanager {}", env!("CARGO_PKG_VERSION")));
    let out = command().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[server]\nport = 1234\n").unwrap();
    let secret = "a-very-secret-admin-token-0123456789abcdef";
    let out = command()
        .args(["check-config", "--config"])
        .arg(&file)
        .env("OPENMANAGER_ADMIN_TOKEN", secret)
        .env("OPENMANAGER_RATE_LIMIT_PER_MINUTE", "42")
        .args(["--host", "127.0.0.1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("port = 1234"), "{stdout}");
    assert!(stdout.contains("per_minute = 42"), "{stdout}");
    assert!(stdout.contains("host = \"127.0.0.1\""), "{stdout}");
    assert!(stdout.contains("********"), "{stdout}");
    assert!(!stdout.contains(secret), "secret printed: {stdout}");
    // The output is itself a valid configuration file.
    let echoed = dir.path().join("echo.toml");
    let without_comments: String = stdout.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    std::fs::write(&echoed, without_comments.replace("admin_token = \"********\"", "")).unwrap();
    let again = command().args(["check-config", "--config"]).arg(&echoed).output().unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
}

#[test]
fn check_config_names_bad_keys_and_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nport = \"http\"\nbogus = 1\n[nonsense]\nx = 1\n").unwrap();
    let out = command().args(["check-config", "--config"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("server.port") || err.contains("server.bogus") || err.contains("nonsense"), "{err}");

    let cases: &[(&str, &str, &str)] = &[
        ("OPENMANAGER_ADMIN_TOKEN", "short", "auth.admin_token"),
        ("PORT", "70000", "server.port"),
        ("OPENMANAGER_LOG_FORMAT", "xml", "log.format"),
        ("ALLOWED_ORIGINS", "https://ok.example,notanorigin", "server.allowed_origins"),
        ("OPENMANAGER_SERVER__NO_SUCH_KEY", "1", "OPENMANAGER_SERVER__NO_SUCH_KEY"),
    ];
    for (var, value, expect) in cases {
        let out = command().arg("check-config").env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect) && err.contains(var), "{var}={value}: {err}");
    }
    let out = command().args(["check-config", "--config", "/no/such/file.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `openmanager token ...` against the data directory of a running server.
fn token_cmd(s: &common::Server, args: &[&str]) -> std::process::Output {
    command().arg("token").args(args).arg("--data-dir").arg(s.data_dir()).output().unwrap()
}

#[tokio::test]
async fn tokens_made_on_the_command_line_work_without_a_restart_and_stop_when_revoked() {
    let s = common::Server::builder().start_async().await;
    let out = token_cmd(&s, &["create", "--name", "edge-7", "--scope", "ingest", "--scope", "read"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.len() >= 32);
    // Refused names and duplicates say why.
    let dup = token_cmd(&s, &["create", "--name", "edge-7", "--scope", "read"]);
    assert!(!dup.status.success() && String::from_utf8_lossy(&dup.stderr).contains("exists"));
    let bad = token_cmd(&s, &["create", "--name", "edge 7", "--scope", "read"]);
    assert!(!bad.status.success());
    let list = token_cmd(&s, &["list"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains("edge-7") && listed.contains("read,ingest") && !listed.contains(&token), "{listed}");

    let metrics = || s.client().get(s.url("/api/metrics")).bearer_auth(&token).send();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while metrics().await.unwrap().status() != 200 {
        assert!(std::time::Instant::now() < deadline, "the new token never started working");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A scope it lacks is still refused.
    let res = s.client().delete(s.url("/api/servers/x")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 403);

    let revoked = token_cmd(&s, &["revoke", "edge-7"]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    while metrics().await.unwrap().status() != 401 {
        assert!(std::time::Instant::now() < deadline, "the revoked token kept working");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = token_cmd(&s, &["revoke", "edge-7"]);
    assert!(!again.status.success());
}
