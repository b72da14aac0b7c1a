//! Strangers on a public address: connections that send nothing, or their request head a byte at a
//! time, cannot lock others out. Each address has a bound (at it, its oldest idle connection makes
//! room for its newcomer), slow heads are closed after the header timeout, and `/api/health` keeps
//! answering, from another address and from the flooding one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection to `to` from the loopback address `from`.
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// `GET /api/health` on a new connection from `from`; the status code, or `None` if none came.
async fn health_from(from: [u8; 4], to: SocketAddr) -> Option<u16> {
    let mut s = connect_from(from, to).await;
    s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await.ok()?.ok()?;
    std::str::from_utf8(buf.get(9..12)?).ok()?.parse().ok()
}

/// Whether the server closed `s` (reads end) before `deadline`.
async fn closed_by(s: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn idle_and_slow_connections_cannot_lock_others_out() {
    let server = Server::builder().server("max_connections_per_ip = 40\nheader_timeout_ms = 1500").start_async().await;
    let addr = server.addr;
    let flooder = [127, 0, 0, 1];

    // Far more idle connections than the address may hold, and a few that send their head slowly.
    let mut idle = Vec::new();
    for _ in 0..120 {
        idle.push(connect_from(flooder, addr).await);
    }
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut s = connect_from(flooder, addr).await;
        s.write_all(b"GET /api/health HTTP/1.1\r\nHo").await.unwrap();
        slow.push(s);
    }
    // Another address is not affected at all; the flooding one still gets its newest request in.
    assert_eq!(health_from([127, 0, 0, 2], addr).await, Some(200));
    assert_eq!(health_from(flooder, addr).await, Some(200));

    // Slow heads are closed within the header timeout (plus scheduling), byte by byte or not.
    let deadline = Instant::now() + Duration::from_secs(10);
    for s in &mut slow {
        let _ = s.write_all(b"s").await;
        assert!(closed_by(s, deadline).await, "a slow request head was not closed");
    }
    // Connections that never sent anything are closed too (those not already shed).
    for s in idle.iter_mut().take(20) {
        assert!(closed_by(s, deadline).await, "an idle connection was never closed");
    }
    let metrics = server.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    let shed = metrics
        .lines()
        .find(|l| l.starts_with("openmanager_connections_shed_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(shed >= 80.0, "the connections past the bound were shed: {shed}\n{metrics}");
}

/// One `GET /api/health` on `s`, kept alive; whether it was answered 200.
async fn health_on(s: &mut TcpStream) -> bool {
    if s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
        Ok(Ok(n)) => buf[..n].starts_with(b"HTTP/1.1 200"),
        _ => false,
    }
}

#[tokio::test]
async fn a_keep_alive_connection_idles_past_the_header_timeout_but_not_a_slow_head() {
    // A header timeout far below the idle limit: idling between requests is measured against the
    // idle limit; a head that has started against the header timeout.
    let server = Server::builder().server("header_timeout_ms = 200\nidle_timeout_ms = 3000").start_async().await;
    let mut s = connect_from([127, 0, 0, 1], server.addr).await;
    assert!(health_on(&mut s).await);
    // Idle for five header timeouts (well within the idle limit), then a second request.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(health_on(&mut s).await, "an idle keep-alive connection was closed before its idle limit");
    // A later head that starts but does not finish is cut, as a first one is.
    s.write_all(b"GET /api/health HTTP/1.1\r\nHo").await.unwrap();
    assert!(closed_by(&mut s, Instant::now() + Duration::from_secs(10)).await, "a slow later head was not closed");
    // And an idle keep-alive connection still ends, at the idle limit.
    let mut idle = connect_from([127, 0, 0, 1], server.addr).await;
    assert!(health_on(&mut idle).await);
    assert!(closed_by(&mut idle, Instant::now() + Duration::from_secs(20)).await, "idle connection never closed");
}

#[tokio::test]
async fn a_connection_in_use_is_not_closed_as_idle() {
    // A client polling more often than the idle limit (as the web app and agents do) keeps its
    // connection: each idle period sees a request, even though no request is in flight at most
    // instants. Before the fix such a connection was closed after one or two periods, so every poll
    // over HTTPS paid for a new handshake.
    let server = Server::builder().server("idle_timeout_ms = 400").start_async().await;
    let mut s = connect_from([127, 0, 0, 1], server.addr).await;
    // Five idle periods' worth of polls, one every 100 ms (the pace of the client, not a wait for the
    // server: each poll's answer is read before the next).
    for poll in 0..20 {
        assert!(health_on(&mut s).await, "poll {poll}: the connection was closed while in use");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once the polls stop it is idle, and closed.
    assert!(closed_by(&mut s, Instant::now() + Duration::from_secs(20)).await, "idle connection never closed");
}

#[tokio::test]
async fn the_plain_port_tells_http2_by_its_preface_and_waits_for_a_lone_first_byte() {
    let server = Server::builder().start_async().await;
    // HTTP/2 with prior knowledge (no TLS, no upgrade), as gRPC-style clients and load balancers send it.
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let r = h2.get(format!("http://{}/api/health", server.addr)).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_2));
    // A head whose first byte arrives alone: `P` could begin POST or the HTTP/2 preface, so the server
    // waits for more rather than guessing. (The pause is the client's behaviour under test.)
    let mut s = connect_from([127, 0, 0, 1], server.addr).await;
    s.write_all(b"P").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.write_all(b"OST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await.unwrap().unwrap();
    let head = String::from_utf8_lossy(&buf[..buf.len().min(12)]).to_string();
    assert!(head.starts_with("HTTP/1.1 ") && !head.starts_with("HTTP/1.1 400"), "{head:?}");
}
