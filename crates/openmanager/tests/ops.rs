//! Operations end to end with the real binary: `install`, `backup create|list|verify|restore`
//! against a serving server, and `deploy/deploy.sh` with a good and a broken release.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server};
use serde_json::{Value, json};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run openmanager");
    eprintln!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn install_print_has_every_directive_and_touches_nothing() {
    let out = run(common::command().args(["install", "--print", "--port", "8123", "--binary", "/opt/om/openmanager"]));
    assert!(out.status.success());
    let text = stdout(&out);
    for directive in [
        "Type=notify",
        "NotifyAccess=all",
        "WatchdogSec=30",
        "ExecReload=/bin/kill -USR2 $MAINPID",
        "Restart=always",
        "RestartSec=2",
        "RestartSteps=5",
        "RestartMaxDelaySec=60",
        "MemoryMax=800M",
        "LimitNOFILE=65536",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/openmanager /var/log/openmanager",
        "CapabilityBoundingSet=\n",
        "AmbientCapabilities=\n",
        "User=openmanager",
        "DynamicUser",
        "ExecStart=/opt/om/openmanager serve",
        "ListenStream=8123",
        "PORT=8123",
        "OPENMANAGER_DATA_DIR=/var/lib/openmanager",
        "gcloud compute firewall-rules create openmanager-8123 --allow tcp:8123 --source-ranges 0.0.0.0/0 \
         --target-tags openmanager-backend",
        "fallocate -l 1G /swapfile && chmod 600 /swapfile && mkswap /swapfile && swapon /swapfile",
        "/swapfile none swap sw 0 0",
    ] {
        assert!(text.contains(directive), "missing {directive:?} in:\n{text}");
    }
}

#[test]
fn install_writes_under_the_prefix_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path();
    let data = tmp.path().join("srv-data");
    let install = |extra: &[&str]| {
        let mut cmd = common::command();
        cmd.args(["install", "--user", "om", "--port", "9000", "--data-dir"]).arg(&data).arg("--prefix").arg(prefix);
        run(cmd.args(extra))
    };
    let out = install(&[]);
    assert!(out.status.success());
    let service = prefix.join("etc/systemd/system/openmanager.service");
    let socket = prefix.join("etc/systemd/system/openmanager.socket");
    let env = prefix.join("etc/openmanager/openmanager.env");
    let unit = std::fs::read_to_string(&service).unwrap();
    assert!(unit.contains("User=om\n"), "{unit}");
    assert!(unit.contains(&format!("ReadWritePaths={} /var/log/openmanager", data.display())), "{unit}");
    assert!(std::fs::read_to_string(&socket).unwrap().contains("ListenStream=9000\n"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&env).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(stdout(&out).contains(&format!("wrote {}", service.display())));

    std::fs::write(&service, "edited by hand\n").unwrap();
    let out = install(&[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("refusing to overwrite"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&service).unwrap(), "edited by hand\n");

    let out = install(&["--force"]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&service).unwrap().contains("Type=notify"));
}

/// `openmanager --config <the harness config> backup ...`.
fn backup(config_dir: &Path, args: &[&str]) -> Output {
    run(common::command().arg("--config").arg(config_dir.join("config.toml")).arg("backup").args(args))
}

async fn register(s: &Server, name: &str) -> String {
    let res = s
        .client()
        .post(s.url("/api/servers"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": name, "ip": "10.1.2.3", "type": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["data"]["id"].as_str().unwrap().to_string()
}

async fn server_status(s: &Server, id: &str) -> u16 {
    s.get_auth(&format!("/api/servers/{id}")).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn backup_while_serving_then_verify_and_restore() {
    let s = Server::builder().start_async().await;
    let kept = register(&s, "kept-by-backup").await;

    // Taken while the server is serving and writing.
    let out = backup(s.dir.path(), &["create"]);
    assert!(out.status.success());
    let path = PathBuf::from(stdout(&out).trim());
    assert!(path.is_absolute() && path.is_file(), "{}", path.display());
    assert!(path.starts_with(s.data_dir().join("backups")));
    assert!(PathBuf::from(format!("{}.sha256", path.display())).is_file());

    let out = backup(s.dir.path(), &["list"]);
    assert!(out.status.success());
    let listed = stdout(&out);
    assert!(
        listed.lines().any(|l| l.starts_with(&format!("{}\t", path.display())) && l.ends_with(" bytes")),
        "{listed}"
    );

    let out = backup(s.dir.path(), &["verify", path.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(": ok"));

    // A damaged copy (bytes flipped in the middle, sidecar copied along) must be rejected.
    let corrupt = s.dir.path().join("corrupt.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b = !*b;
    }
    std::fs::write(&corrupt, &bytes).unwrap();
    std::fs::copy(format!("{}.sha256", path.display()), format!("{}.sha256", corrupt.display())).unwrap();
    let out = backup(s.dir.path(), &["verify", corrupt.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("checksum mismatch"), "{}", stderr(&out));
    let out = backup(s.dir.path(), &["restore", corrupt.to_str().unwrap()]);
    assert!(!out.status.success(), "a damaged backup is never restored");

    // Registered after the backup: gone once the backup is restored.
    let later = register(&s, "after-the-backup").await;

    // The running server holds the data directory's lock.
    assert!(openmanager::ops::lock::lock_data_dir(&s.data_dir()).is_err(), "the server holds the lock");
    let out = backup(s.dir.path(), &["restore", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("stop the server"), "{}", stderr(&out));
    let db = s.data_dir().join("openmanager.db");
    let dir = s.stop();

    let out = backup(dir.path(), &["restore", path.to_str().unwrap()]);
    assert!(out.status.success());
    let aside: Vec<PathBuf> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("openmanager.db.replaced-") && !p.to_string_lossy().ends_with("-wal"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(stdout(&out).contains(&aside[0].display().to_string()));
    assert!(db.is_file());

    let s = Server::builder().in_dir(dir).start_async().await;
    assert_eq!(server_status(&s, &kept).await, 200);
    assert_eq!(server_status(&s, &later).await, 404);
}

/// Status code of `GET path` on loopback, or `None` if nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.get(9..12)?.parse().ok()
}

fn free_port() -> u16 {
    testkit::free_port()
}

fn pid_alive(pid: &str) -> bool {
    pid.parse().is_ok_and(common::pid_running)
}

/// Stops the server the deploy script left running, whatever the test's outcome.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let Ok(pid) = std::fs::read_to_string(&self.0) else { return };
        let pid = pid.trim().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while pid_alive(&pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if pid_alive(&pid) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

#[test]
fn deploy_script_switches_releases_and_rolls_back_a_broken_one() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/deploy.sh");
    if let Ok(out) = Command::new("shellcheck").arg(&script).output() {
        assert!(out.status.success(), "shellcheck:\n{}", String::from_utf8_lossy(&out.stdout));
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("install");
    let good = tmp.path().join("openmanager-good");
    std::fs::copy(common::binary(), &good).unwrap();
    let broken = tmp.path().join("openmanager-broken");
    std::fs::write(&broken, "#!/bin/sh\necho broken release >&2\nexit 1\n").unwrap();
    let port = free_port();
    let _stop = StopOnDrop(root.join("openmanager.pid"));

    let deploy_keep = |binary: &Path, keep: &str| {
        let mut cmd = common::command();
        // The script, not the binary: bash with the harness's cleaned environment.
        let mut bash = Command::new("bash");
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => bash.env(k, v),
                None => bash.env_remove(k),
            };
        }
        cmd = bash;
        cmd.arg(&script).arg(binary).arg(&root);
        cmd.env("DEPLOY_LOCAL", "1")
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("HEALTH_TIMEOUT", "30")
            .env("KEEP_RELEASES", keep)
            .env("OPENMANAGER_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("OPENMANAGER_DATA_DIR", tmp.path().join("data"));
        run(&mut cmd)
    };
    let deploy = |binary: &Path| deploy_keep(binary, "5");

    let out = deploy(&good);
    assert!(out.status.success());
    assert_eq!(http_status(port, "/api/health"), Some(200));
    let first = std::fs::read_link(root.join("current")).unwrap();
    let first_pid = std::fs::read_to_string(root.join("openmanager.pid")).unwrap();

    // The running server hands over to the broken release, which exits: it keeps serving.
    let out = deploy(&broken);
    assert!(!out.status.success(), "a release that never gets healthy fails the deploy");
    assert!(stderr(&out).contains("keeps serving") && stderr(&out).contains("rolled back"), "{}", stderr(&out));
    assert_eq!(std::fs::read_link(root.join("current")).unwrap(), first, "current points back at the good release");
    let pid = std::fs::read_to_string(root.join("openmanager.pid")).unwrap();
    assert_eq!(pid, first_pid, "the good server was never stopped");
    assert!(pid_alive(pid.trim()));
    assert_eq!(http_status(port, "/api/health"), Some(200));
    let releases = std::fs::read_dir(root.join("releases")).unwrap().count();
    assert_eq!(releases, 1, "the broken release is removed");

    // A good release takes over from the running one (SIGUSR2) and old releases are pruned.
    let out = deploy_keep(&good, "1");
    assert!(out.status.success());
    assert!(stderr(&out).contains("took over"), "{}", stderr(&out));
    assert_ne!(std::fs::read_link(root.join("current")).unwrap(), first);
    assert!(!pid_alive(pid.trim()), "the previous server handed over and exited");
    let new_pid = std::fs::read_to_string(root.join("openmanager.pid")).unwrap();
    assert_ne!(new_pid, pid);
    assert!(pid_alive(new_pid.trim()));
    assert_eq!(http_status(port, "/api/health"), Some(200));
    assert_eq!(std::fs::read_dir(root.join("releases")).unwrap().count(), 1, "pruned to KEEP_RELEASES");
    let log = std::fs::read_to_string(root.join("openmanager.log")).unwrap();
    assert!(log.contains(&format!("{}/openmanager", root.join("current").display())), "re-executed through `current`");
}
