//! The binary prints its address first and serves there; `MOCK_KEY` is read from the environment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Kills the child even when an assertion fails.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_listening_line_and_checks_mock_key() {
    let child = Command::new(env!("CARGO_BIN_EXE_mock-upstream"))
        .args(["--port", "0"])
        .env("MOCK_KEY", "secret")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    let mut line = String::new();
    BufReader::new(guard.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}"));
    assert!(addr.starts_with("127.0.0.1:"));
    let client = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    };
    let url = format!("http://{addr}/v1/models");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(client.get(&url).bearer_auth("secret").send().await.unwrap().status(), 200);
}

#[test]
fn bad_arguments_exit_2() {
    let status =
        Command::new(env!("CARGO_BIN_EXE_mock-upstream")).arg("--bogus").stderr(Stdio::null()).status().unwrap();
    assert_eq!(status.code(), Some(2));
}
