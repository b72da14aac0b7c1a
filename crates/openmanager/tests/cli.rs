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
