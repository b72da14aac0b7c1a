//! Manual benchmark: what 200 checks at a 10 s interval cost the process that runs them.
//! Usage: `cargo run --release -p probe --example checks_cost [-- --seconds 60 --checks 200 --interval 10]`;
//! `--only http|https|tcp|tls|dns|ping` makes every check that kind (to see what each costs).
//!
//! The targets (HTTP, HTTPS and TLS with a generated certificate, TCP, DNS) run in a child process
//! (this program with `--serve`), so their work is not counted; ping goes to 127.0.0.1. The checks
//! run on a one-thread runtime, as the hub's jobs do, with the system's CA store loaded as the hub
//! would. Prints `key=value` lines: CPU time used during the run (from /proc/self/stat) as a share of
//! one core, and RSS before the checks started, at the end, and at its peak (VmHWM).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use probe::{CheckDef, Prober, ProberConfig, Runner, RunnerConfig};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

/// Linux's USER_HZ: /proc/*/stat counts CPU time in these ticks on every mainstream build.
const TICKS_PER_SECOND: f64 = 100.0;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        return serve();
    }
    let seconds = arg("--seconds", 60);
    let count = arg("--checks", 200) as usize;
    let interval = arg("--interval", 10) as u32;

    // The targets, in a child process; it prints its ports and the CA to trust, then serves until
    // its stdin closes.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let ports: BTreeMap<String, String> =
        line.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
    let ca = CertificateDer::from(unhex(&ports["ca"]));

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let prober = Prober::new(ProberConfig { extra_roots: vec![ca], ..ProberConfig::default() }).unwrap();
        let mut config = RunnerConfig::new(probe::HUB);
        config.max_checks = count.max(1);
        let (runner, mut results) = Runner::new(prober, config);
        let mut kinds = BTreeMap::new();
        for i in 0..count {
            let (kind, def) = definition(i, slot(i), interval, &ports);
            kinds.insert(format!("c{i}"), kind);
            runner.upsert(serde_json::from_value::<CheckDef>(def).unwrap().validate().unwrap()).unwrap();
        }
        let rss_before = status_kb("VmRSS");
        let cpu_before = cpu_ticks();
        let (user_before, system_before) = cpu_split();
        let started = Instant::now();
        let cancel = CancellationToken::new();
        let job = tokio::spawn({
            let (runner, cancel) = (runner.clone(), cancel.clone());
            async move { runner.run(cancel).await }
        });
        let mut tally: BTreeMap<&str, (u32, u32, Option<String>)> = BTreeMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, results.recv()).await {
            let entry = tally.entry(kinds[&r.check_id]).or_default();
            if r.outcome.up {
                entry.0 += 1;
            } else {
                entry.1 += 1;
                entry.2.get_or_insert(r.outcome.error.unwrap_or_default());
            }
        }
        let cpu = (cpu_ticks() - cpu_before) as f64 / TICKS_PER_SECOND;
        let (user, system) = cpu_split();
        let (user, system) = (user - user_before, system - system_before);
        let wall = started.elapsed().as_secs_f64();
        cancel.cancel();
        job.await.unwrap();
        println!("checks={count} interval_s={interval} seconds={wall:.1}");
        for (kind, (up, down, error)) in &tally {
            println!(
                "results_{kind}=up:{up},down:{down}{}",
                error.as_ref().map(|e| format!(" first_error={e:?}")).unwrap_or_default()
            );
        }
        println!("runs={} skipped_busy={}", runner.stats().runs, runner.stats().skipped_busy);
        println!("cpu_seconds={cpu:.2} user_ticks={user} system_ticks={system}");
        println!("cpu_percent_of_one_core={:.3}", 100.0 * cpu / wall);
        println!("rss_before_checks_kb={rss_before}");
        println!("rss_end_kb={}", status_kb("VmRSS"));
        println!("rss_peak_kb={}", status_kb("VmHWM"));
    });
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

/// Which of the ten kinds of [`definition`] check `i` is: a mix, or one kind with `--only`.
fn slot(i: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1));
    match only.map(String::as_str) {
        None => i % 10,
        Some("http") => 0,
        Some("https") => 4,
        Some("tcp") => 5,
        Some("tls") => 7,
        Some("dns") => 8,
        Some("ping") => 9,
        Some(other) => panic!("--only {other}: expected http, https, tcp, tls, dns or ping"),
    }
}

/// Check `i` as kind slot `kind` of a mix: 40% HTTP (half with a keyword), 10% HTTPS, 20% TCP, 10% TLS, 10% DNS, 10% ping.
fn definition(
    i: usize,
    kind: usize,
    interval: u32,
    ports: &BTreeMap<String, String>,
) -> (&'static str, serde_json::Value) {
    let id = format!("c{i}");
    let base = |kind: &str, target: String| json!({"id": id, "name": id, "kind": kind, "target": target, "intervalSeconds": interval, "timeoutMs": 5000});
    match kind {
        0..=3 => {
            let mut d = base("http", format!("http://127.0.0.1:{}/ok", ports["http"]));
            if i.is_multiple_of(2) {
                d["http"] = json!({"keyword": "systems ok"});
            }
            ("http", d)
        }
        4 => ("https", base("http", format!("https://127.0.0.1:{}/", ports["tls"]))),
        5 | 6 => ("tcp", base("tcp", format!("127.0.0.1:{}", ports["tcp"]))),
        7 => {
            let mut d = base("tls", format!("127.0.0.1:{}", ports["tls"]));
            d["tls"] = json!({"warnDays": 1});
            ("tls", d)
        }
        8 => {
            let mut d = base("dns", "x.test".into());
            d["dns"] =
                json!({"recordType": "A", "expect": "127.0.0.1", "resolver": format!("127.0.0.1:{}", ports["dns"])});
            ("dns", d)
        }
        _ => ("ping", base("ping", "127.0.0.1".into())),
    }
}

fn cpu_ticks() -> u64 {
    let (user, system) = cpu_split();
    user + system
}

/// (user, system) ticks; on loopback the kernel's work for the target's side of a connection is
/// partly charged to the sender, so `system` overstates what a remote target would cost.
fn cpu_split() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    (fields[11], fields[12])
}

fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The child: HTTP, TLS (also serving HTTPS), TCP and DNS on loopback.
fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().self_signed(&key).unwrap();
        let chain = vec![cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));

        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dns = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let hex: String = cert.der().iter().map(|b| format!("{b:02x}")).collect();
        println!(
            "http={} tls={} tcp={} dns={} ca={hex}",
            http.local_addr().unwrap().port(),
            tls.local_addr().unwrap().port(),
            tcp.local_addr().unwrap().port(),
            dns.local_addr().unwrap().port()
        );
        let app = axum::Router::new().route("/ok", axum::routing::get(|| async { "all systems ok" }));
        tokio::spawn(async move { axum::serve(http, app).await });
        tokio::spawn(serve_tls(tls, chain, key));
        tokio::spawn(async move {
            while let Ok((s, _)) = tcp.accept().await {
                drop(s);
            }
        });
        tokio::spawn(serve_dns(dns));
        // Until the parent closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .unwrap();
    });
}

async fn serve_tls(listener: TcpListener, chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    while let Ok((stream, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(stream).await else { return };
            let mut buf = [0u8; 2048];
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await
                && n > 0
            {
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
            }
            let _ = tls.shutdown().await;
        });
    }
}

/// Answers every A query with 127.0.0.1.
async fn serve_dns(socket: UdpSocket) {
    let mut buf = [0u8; 512];
    while let Ok((n, from)) = socket.recv_from(&mut buf).await {
        let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
        let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
        answer.metadata.message_type = MessageType::Response;
        answer.metadata.recursion_desired = query.metadata.recursion_desired;
        for q in &query.queries {
            answer.add_query(q.clone());
            answer.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A::new(127, 0, 0, 1))));
        }
        if let Ok(bytes) = answer.to_vec() {
            let _ = socket.send_to(&bytes, from).await;
        }
    }
}
