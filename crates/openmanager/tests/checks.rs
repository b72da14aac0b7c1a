//! End-to-end checks against the real binary with real targets on loopback: HTTP servers answering
//! 200, 500, slowly, in a redirect loop, with a huge body and with a keyword present or absent; a TCP
//! listener that stops; certificates expiring and expired (generated here); ping to 127.0.0.1 where
//! the kernel allows it; a real DNS server (dnsmasq) answering A and TXT records; one check run by
//! two agents, a result per place; a listed check's incident with operators' notes. Also:
//! validation (including refusing this hub's own token), write scope, masked header values,
//! history, Prometheus under blackbox_exporter's names, `check_update` on the WebSocket, and checks
//! surviving a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../probe/tests/common/mod.rs"]
mod targets;

use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Server, assert_envelope, poll, wait_until};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use targets::{DAY, TestCa, http_server, tls_server};
use tokio_tungstenite::tungstenite::Message;

async fn create(s: &Server, body: Value) -> reqwest::Response {
    s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap()
}

/// Creates a check and returns its id.
async fn created(s: &Server, body: Value) -> String {
    let res = create(s, body.clone()).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body} -> {v}");
    v["data"]["id"].as_str().unwrap().to_string()
}

/// Runs a check now and returns its view.
async fn run(s: &Server, id: &str) -> Value {
    let res = s.client().post(s.url(&format!("/api/checks/{id}/run"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v["data"].clone()
}

fn http(name: &str, url: String, extra: Value) -> Value {
    let mut v = json!({"name": name, "kind": "http", "target": url, "intervalSeconds": 3600, "timeoutMs": 3000});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    v
}

#[tokio::test]
async fn http_checks_against_loopback_servers() {
    let (addr, served) = http_server(None).await;
    let s = Server::builder().start_async().await;
    let url = |p: &str| format!("http://{addr}{p}");

    let ok = created(&s, http("ok", url("/ok"), json!({}))).await;
    let v = run(&s, &ok).await;
    assert_eq!(v["state"]["status"], "up", "{v}");
    assert_eq!(v["state"]["statusCode"], 200);
    assert_eq!(v["state"]["where"], "hub");
    assert!(v["state"]["latencyMs"].as_f64().unwrap() >= 0.0);

    let fail = created(&s, http("fail", url("/fail"), json!({}))).await;
    let v = run(&s, &fail).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert_eq!(v["state"]["statusCode"], 500);
    assert!(v["state"]["error"].as_str().unwrap().contains("500"), "{v}");

    let slow = created(&s, http("slow", url("/hang"), json!({"timeoutMs": 500}))).await;
    let v = run(&s, &slow).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert!(v["state"]["error"].as_str().unwrap().contains("timed out"), "{v}");

    let looping = created(&s, http("loop", url("/loop"), json!({}))).await;
    let v = run(&s, &looping).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert!(v["state"]["error"].as_str().unwrap().contains("redirect"), "{v}");

    // The keyword sits at the end of 100 MiB: past what a probe reads, so it is not found, and the
    // server was not read to the end.
    let huge = created(&s, http("huge", url("/huge"), json!({"http": {"keyword": "NEEDLE"}}))).await;
    let v = run(&s, &huge).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert!(served.bytes() < targets::HUGE_BYTES / 2, "read {} bytes", served.bytes());

    let present = created(&s, http("kw", url("/ok"), json!({"http": {"keyword": "systems ok"}}))).await;
    assert_eq!(run(&s, &present).await["state"]["status"], "up");
    let absent = created(&s, http("kw-absent", url("/ok"), json!({"http": {"keyword": "on fire"}}))).await;
    let v = run(&s, &absent).await;
    assert_eq!(v["state"]["status"], "down", "{v}");

    // The list summarises every check; history has the raw result.
    let list: Value = s.get_auth("/api/checks").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 7, "{list}");
    let h: Value =
        s.get_auth(&format!("/api/checks/{fail}/history?timeRange=1h")).send().await.unwrap().json().await.unwrap();
    let points = h["data"]["points"].as_array().unwrap();
    assert!(!points.is_empty(), "{h}");
    assert_eq!(points[0]["uptime"], 0.0, "{h}");
    assert_eq!(points[0]["statusCode"], 500.0, "{h}");
    assert_eq!(h["data"]["where"], "hub");

    // Prometheus, under blackbox_exporter's names.
    let text = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    let line = |name: &str, id: &str| {
        text.lines().find(|l| l.starts_with(name) && l.contains(&format!("check=\"{id}\""))).map(str::to_string)
    };
    let value = |name: &str, id: &str| -> f64 {
        line(name, id)
            .unwrap_or_else(|| panic!("no {name} for {id}: {text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("probe_success{", &ok), 1.0);
    assert_eq!(value("probe_success{", &fail), 0.0);
    assert_eq!(value("probe_http_status_code{", &fail), 500.0);
    assert!(line("probe_success{", &ok).unwrap().ends_with(" 1"), "{text}");
    assert!(line("probe_success{", &fail).unwrap().ends_with(" 0"), "{text}");
    assert!(line("probe_http_status_code{", &fail).unwrap().ends_with(" 500"), "{text}");
    assert!(line("probe_duration_seconds{", &ok).unwrap().contains("where=\"hub\""), "{text}");
}

#[tokio::test]
async fn tcp_tls_and_ping_checks() {
    let s = Server::builder().start_async().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = created(
        &s,
        json!({"name": "db", "kind": "tcp", "target": listener.local_addr().unwrap().to_string(), "intervalSeconds": 3600, "timeoutMs": 2000}),
    )
    .await;
    assert_eq!(run(&s, &tcp).await["state"]["status"], "up");
    drop(listener);
    let v = run(&s, &tcp).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert!(v["state"]["error"].as_str().unwrap().contains("refused"), "{v}");

    let ca = TestCa::new();
    let (chain, key) = ca.leaf(-DAY, 5 * DAY);
    let expiring = tls_server(chain, key).await;
    let (chain, key) = ca.leaf(-30 * DAY, -2 * DAY);
    let expired = tls_server(chain, key).await;
    let tls = |name: &str, port: u16| json!({"name": name, "kind": "tls", "target": format!("localhost:{port}"), "intervalSeconds": 3600, "timeoutMs": 3000, "tls": {"warnDays": 14}});
    let id = created(&s, tls("expiring", expiring.port())).await;
    let v = run(&s, &id).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    let days = v["state"]["certDaysLeft"].as_i64().unwrap();
    assert!((4..=5).contains(&days), "{v}");
    let id = created(&s, tls("expired", expired.port())).await;
    let v = run(&s, &id).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert!(v["state"]["certDaysLeft"].as_i64().unwrap() < 0, "{v}");
    let text = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(text.lines().any(|l| l.starts_with("probe_ssl_earliest_cert_expiry{") && l.contains(&id)), "{text}");

    // Ping needs unprivileged ICMP sockets (net.ipv4.ping_group_range); without them the check says
    // what to set.
    let ping = created(
        &s,
        json!({"name": "lo", "kind": "ping", "target": "127.0.0.1", "intervalSeconds": 3600, "timeoutMs": 2000}),
    )
    .await;
    let v = run(&s, &ping).await;
    if v["state"]["status"] == "up" {
        assert!(v["state"]["latencyMs"].as_f64().is_some(), "{v}");
    } else {
        let error = v["state"]["error"].as_str().unwrap_or_default();
        assert!(error.contains("ping_group_range"), "{v}");
        testkit::skip(
            "tcp_tls_and_ping_checks (ping part)",
            "unprivileged ICMP sockets (sysctl net.ipv4.ping_group_range)",
        );
    }
}

#[tokio::test]
async fn bad_input_tokens_scopes_masking_and_restarts() {
    let (addr, _) = http_server(None).await;
    let s = Server::builder().start_async().await;
    let url = format!("http://{addr}/headers");

    // Without a token: 401. Bad fields: 422 naming them.
    let res = s.client().post(s.url("/api/checks")).json(&http("x", url.clone(), json!({}))).send().await.unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;
    for (body, field) in [
        (http("x", url.clone(), json!({"intervalSeconds": 5})), "intervalSeconds"),
        (http("x", "not a url".into(), json!({})), "target"),
        (http("x", url.clone(), json!({"timeoutMs": 60000, "intervalSeconds": 30})), "timeoutMs"),
        (http("x", url.clone(), json!({"dns": {}})), "dns"),
        (http("x", url.clone(), json!({"surprise": 1})), "surprise"),
        (http("x", url.clone(), json!({"runOn": ["moon"]})), "runOn[0]"),
        (
            http("x", url.clone(), json!({"http": {"headers": {"Authorization": format!("Bearer {ADMIN_TOKEN}")}}})),
            "http.headers.Authorization",
        ),
        (http("x", format!("http://{addr}/api/metrics?token={ADMIN_TOKEN}"), json!({})), "target"),
    ] {
        let v = assert_envelope(create(&s, body.clone()).await, 422, "VALIDATION_ERROR").await;
        let fields: Vec<&str> = v["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert!(fields.iter().any(|f| f.starts_with(field)), "{body} -> {v}");
    }

    // A check that names no timeout gets one that fits its interval: the shortest interval (10 s) is
    // not refused for the plain 10 s default.
    for (interval, timeout) in [(Some(10), 8000), (Some(30), 10_000), (None, 10_000)] {
        let mut body = http("t", url.clone(), json!({}));
        let fields = body.as_object_mut().unwrap();
        fields.remove("timeoutMs");
        match interval {
            Some(i) => fields.insert("intervalSeconds".into(), i.into()),
            None => fields.remove("intervalSeconds"),
        };
        let res = create(&s, body).await;
        assert_eq!(res.status(), 201, "interval {interval:?}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["data"]["timeoutMs"], timeout, "interval {interval:?}: {v}");
        let id = v["data"]["id"].as_str().unwrap();
        let res = s.client().delete(s.url(&format!("/api/checks/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(res.status(), 204);
    }

    // Header values are write-only; sending the mask back keeps them.
    let id =
        created(&s, http("hdr", url.clone(), json!({"http": {"headers": {"Authorization": "Bearer other-service"}}})))
            .await;
    let v: Value = s.get_auth(&format!("/api/checks/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["data"]["http"]["headers"]["Authorization"], "<hidden>", "{v}");
    let patch = json!({"name": "renamed", "http": v["data"]["http"].clone()});
    let res = s
        .client()
        .patch(s.url(&format!("/api/checks/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v = run(&s, &id).await;
    assert_eq!(v["name"], "renamed");
    assert_eq!(v["state"]["status"], "up", "{v}");
    let res = s
        .client()
        .post(s.url("/api/checks"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"id": id, "name": "dup", "kind": "tcp", "target": "127.0.0.1:1"}))
        .send()
        .await
        .unwrap();
    assert_envelope(res, 409, "CONFLICT").await;

    // Survives a restart; deleting removes it.
    let dir = s.stop();
    let s = Server::builder().in_dir(dir).start_async().await;
    let v: Value = s.get_auth(&format!("/api/checks/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["data"]["name"], "renamed", "{v}");
    let res = s.client().delete(s.url(&format!("/api/checks/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_envelope(s.get_auth(&format!("/api/checks/{id}")).send().await.unwrap(), 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn check_updates_reach_websocket_subscribers() {
    let (addr, _) = http_server(None).await;
    let s = Server::builder().start_async().await;
    let id = created(&s, http("ws", format!("http://{addr}/ok"), json!({}))).await;
    let ws_url = format!("ws://{}/ws?token={ADMIN_TOKEN}", s.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    ws.send(Message::text(json!({"type": "subscribe", "topics": ["checks"]}).to_string())).await.unwrap();
    // The subscription is applied before the next message is read; give it a moment by pinging.
    ws.send(Message::text(json!({"type": "ping"}).to_string())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["type"] == "pong" {
            run(&s, &id).await;
            continue;
        }
        if v["type"] == "check_update" {
            assert_eq!(v["data"]["id"], id.as_str(), "{v}");
            assert_eq!(v["data"]["state"]["status"], "up", "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "no check_update");
    }
}

/// Polls `/api/alerts?serverId=check:<id>` until an alert of `rule` is in `state`.
async fn wait_alert(s: &Server, check: &str, rule: &str, state: &str) -> Value {
    poll(&format!("a {state} alert of {rule} for {check}"), Duration::from_secs(20), async || {
        let v: Value =
            s.get_auth(&format!("/api/alerts?serverId=check:{check}")).send().await.unwrap().json().await.unwrap();
        v["data"].as_array().unwrap().iter().find(|a| a["ruleId"] == rule && a["state"] == state).cloned()
    })
    .await
}

#[tokio::test]
async fn a_check_fires_and_resolves_an_alert() {
    let s = Server::builder()
        .config("[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n")
        .start_async()
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let id = created(&s, json!({"name": "db port", "kind": "tcp", "target": addr.to_string(), "intervalSeconds": 3600, "timeoutMs": 2000})).await;
    let rule = json!({"id": "db-down", "name": "DB port down", "metric": "check.up", "op": "<", "threshold": 1,
                      "severity": "critical", "checkId": id});
    let res = s.client().post(s.url("/api/alerts/rules")).bearer_auth(ADMIN_TOKEN).json(&rule).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // checkId belongs to check metrics only.
    let bad = json!({"name": "x", "metric": "cpu", "op": ">", "threshold": 1, "severity": "info", "checkId": id});
    let res = s.client().post(s.url("/api/alerts/rules")).bearer_auth(ADMIN_TOKEN).json(&bad).send().await.unwrap();
    assert_envelope(res, 422, "VALIDATION_ERROR").await;

    assert_eq!(run(&s, &id).await["state"]["status"], "down");
    let alert = wait_alert(&s, &id, "db-down", "firing").await;
    assert_eq!(alert["serverName"], "db port", "{alert}");

    // The port comes back (the same address): the next result resolves the alert.
    let _listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    assert_eq!(run(&s, &id).await["state"]["status"], "up");
    wait_alert(&s, &id, "db-down", "resolved").await;
}

#[tokio::test]
async fn a_maintenance_window_suppresses_a_checks_alert() {
    let s = Server::builder()
        .config("[alerts]\ninterval_seconds = 1\nkeep_firing_seconds = 0\nrefire_cooldown_seconds = 0\n")
        .start_async()
        .await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let id = created(&s, json!({"name": "batch host", "kind": "tcp", "target": closed.to_string(), "intervalSeconds": 3600, "timeoutMs": 2000})).await;
    let rule = json!({"id": "batch-down", "name": "batch down", "metric": "check.up", "op": "<", "threshold": 1,
                      "severity": "warning", "checkId": id});
    let res = s.client().post(s.url("/api/alerts/rules")).bearer_auth(ADMIN_TOKEN).json(&rule).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let now = jiff::Timestamp::now();
    let window = json!({"id": "nightly", "title": "Nightly batch", "checks": [id],
                        "start": (now - jiff::SignedDuration::from_secs(60)).to_string(),
                        "end": (now + jiff::SignedDuration::from_secs(3600)).to_string()});
    let res = s.client().post(s.url("/api/maintenance")).bearer_auth(ADMIN_TOKEN).json(&window).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let bad = json!({"title": "x", "checks": [id], "start": now.to_string(), "end": now.to_string()});
    let res = s.client().post(s.url("/api/maintenance")).bearer_auth(ADMIN_TOKEN).json(&bad).send().await.unwrap();
    assert_envelope(res, 422, "VALIDATION_ERROR").await;

    let v = run(&s, &id).await;
    assert_eq!(v["state"]["status"], "maintenance", "{v}");
    assert!(v["state"]["error"].as_str().unwrap().contains("refused"), "the result is still shown: {v}");
    // Several evaluations pass (1 s each) without an alert.
    let list: Value = s.get_auth("/api/maintenance").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["data"][0]["id"], "nightly");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let alerts: Value =
        s.get_auth(&format!("/api/alerts?serverId=check:{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(alerts["data"].as_array().unwrap().len(), 0, "{alerts}");

    // The window ends (deleted): the check is down again and the alert fires.
    let res = s.client().delete(s.url("/api/maintenance/nightly")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let v: Value = s.get_auth(&format!("/api/checks/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["data"]["state"]["status"], "down", "{v}");
    wait_alert(&s, &id, "batch-down", "firing").await;

    // The result taken in the window is neither up nor down time: its point has a latency and no
    // uptime. One taken after the window counts (down: 0).
    run(&s, &id).await;
    let points = common::poll("both results in the history", Duration::from_secs(20), async || {
        let h: Value =
            s.get_auth(&format!("/api/checks/{id}/history?timeRange=15m")).send().await.ok()?.json().await.ok()?;
        let points = h["data"]["points"].as_array()?.clone();
        (points.len() >= 2).then_some(points)
    })
    .await;
    assert!(points[0]["uptime"].is_null() && points[0]["latencyMs"].is_number(), "{points:?}");
    assert_eq!(points.last().unwrap()["uptime"], 0.0, "{points:?}");
}

#[tokio::test]
async fn the_status_page_is_public_and_shows_only_what_is_listed() {
    let (addr, _) = http_server(None).await;
    let s = Server::builder().config("[simulation]\nenabled = false\n").start_async().await;
    // Off by default.
    assert_envelope(s.get("/status.json").send().await.unwrap(), 404, "NOT_FOUND").await;
    let shown = created(&s, http("Public API", format!("http://{addr}/ok?secret=hunter2"), json!({}))).await;
    let hidden = created(&s, http("Internal billing", format!("http://{addr}/fail"), json!({}))).await;
    run(&s, &shown).await;
    run(&s, &hidden).await;

    let settings = json!({"enabled": true, "title": "Acme status", "checks": [shown, "no-such-check"]});
    let res = s.client().patch(s.url("/api/status-page")).json(&settings).send().await.unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;
    let res =
        s.client().patch(s.url("/api/status-page")).bearer_auth(ADMIN_TOKEN).json(&settings).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // No token needed.
    let res = s.get("/status.json").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let text = res.text().await.unwrap();
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["title"], "Acme status");
    assert_eq!(page["status"], "operational", "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["name"], "Public API");
    assert_eq!(items[0]["days"].as_array().unwrap().len(), 90);
    assert!(items[0]["days"][89]["uptime"].as_f64().is_some(), "today has data: {page}");
    let html = s.get("/status").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Public API") && html.contains("Acme status"));
    assert!(!html.contains("<script"));
    for leak in ["Internal billing", "127.0.0.1", "hunter2", &shown, &hidden, ADMIN_TOKEN, "/ok"] {
        assert!(!text.contains(leak) && !html.contains(leak), "`{leak}` leaked");
    }
    // Cached: the same ETag answers 304.
    let res = s.get("/status.json").header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(res.status(), 304);
}

#[tokio::test]
async fn the_status_page_is_served_compressed_from_memory() {
    let s = Server::builder().config("[status_page]\nenabled = true\ntitle = \"Gz\"\n").start_async().await;
    let res = poll("the page to be built", Duration::from_secs(20), async || {
        let res = s.get("/status").header("Accept-Encoding", "gzip").send().await.unwrap();
        (res.status() == 200).then_some(res)
    })
    .await;
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let body = res.bytes().await.unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut html).unwrap();
    assert!(html.contains("<h1>Gz</h1>"), "{html}");
}

/// Polls `/status.json` until `f` holds for it.
async fn until_page(s: &Server, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    poll(what, Duration::from_secs(20), async || {
        let res = s.get("/status.json").send().await.unwrap();
        if res.status() != 200 {
            return None;
        }
        let page: Value = res.json().await.unwrap();
        f(&page).then_some(page)
    })
    .await
}

fn add_note(s: &Server, id: &str, body: Value) -> reqwest::RequestBuilder {
    s.client().post(s.url(&format!("/api/status-page/incidents/{id}/notes"))).bearer_auth(ADMIN_TOKEN).json(&body)
}

#[tokio::test]
async fn a_listed_check_going_down_opens_an_incident_with_notes() {
    let s = Server::builder().config("[simulation]\nenabled = false\n").start_async().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let id = created(&s, json!({"name": "Payments", "kind": "tcp", "target": addr.to_string(), "intervalSeconds": 3600, "timeoutMs": 2000})).await;
    let settings = json!({"enabled": true, "title": "Acme", "checks": [id]});
    let res =
        s.client().patch(s.url("/api/status-page")).bearer_auth(ADMIN_TOKEN).json(&settings).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(run(&s, &id).await["state"]["status"], "down");

    let page = until_page(&s, "no open incident", |p| p["incidents"].as_array().is_some_and(|a| !a.is_empty())).await;
    assert_eq!(page["incidents"][0]["title"], "Payments is down", "{page}");
    assert_eq!(page["incidents"][0]["status"], "open");
    assert_eq!(page["items"][0]["days"][89]["incidents"], 1, "{page}");

    // The admin list names it; public pages never show its id or the check's.
    let res = s.get("/api/status-page/incidents").send().await.unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;
    let list: Value = s.get_auth("/api/status-page/incidents").send().await.unwrap().json().await.unwrap();
    let incident = list["data"][0].clone();
    assert_eq!((incident["cause"].as_str(), incident["itemId"].as_str()), (Some("check"), Some(id.as_str())));
    let incident_id = incident["id"].as_str().unwrap().to_string();

    // Notes: validated, bounded, escaped on the page.
    let res =
        add_note(&s, &incident_id, json!({"text": "<script>alert(1)</script> We are on it"})).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    for bad in
        [json!({"text": "  "}), json!({"text": "x".repeat(1001)}), json!({"text": "a\u{7}b"}), json!({"note": "x"})]
    {
        assert_envelope(add_note(&s, &incident_id, bad).send().await.unwrap(), 422, "VALIDATION_ERROR").await;
    }
    assert_envelope(add_note(&s, "inc-nope", json!({"text": "x"})).send().await.unwrap(), 404, "NOT_FOUND").await;
    for n in 1..20 {
        let res = add_note(&s, &incident_id, json!({"text": format!("update {n}")})).send().await.unwrap();
        assert_eq!(res.status(), 201);
    }
    assert_envelope(add_note(&s, &incident_id, json!({"text": "one too many"})).send().await.unwrap(), 409, "CONFLICT")
        .await;
    let html = s.get("/status").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; We are on it"), "{html}");
    assert!(!html.contains("<script") && !html.contains(&incident_id) && !html.contains(&id));
    let page: Value = s.get("/status.json").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["incidents"][0]["notes"].as_array().unwrap().len(), 20);

    // The port comes back: the incident resolves.
    let _listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    assert_eq!(run(&s, &id).await["state"]["status"], "up");
    until_page(&s, "the incident stays open", |p| p["incidents"][0]["status"] == "resolved").await;

    // Incidents and notes survive a restart.
    let dir = s.stop();
    let s = Server::builder().in_dir(dir).config("[simulation]\nenabled = false\n").start_async().await;
    let list: Value = s.get_auth("/api/status-page/incidents").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["data"][0]["id"], incident_id.as_str());
    assert_eq!(list["data"][0]["status"], "resolved");
    assert_eq!(list["data"][0]["notes"][0]["text"], "<script>alert(1)</script> We are on it");
}

/// dnsmasq on a loopback port, killed on drop.
struct Dnsmasq(std::process::Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 (dnsmasq serves both).
fn free_dns_port() -> u16 {
    testkit::free_port()
}

/// A real DNS server (Debian's `dnsmasq`, package `dnsmasq-base`) answering `www.acme.test` A
/// 127.0.0.7 and `acme.test` TXT `v=spf1 -all`; `None` after a skip line when it is not installed.
fn dnsmasq(test: &str) -> Option<(Dnsmasq, u16)> {
    let bin = testkit::tool(test, "dnsmasq", "dnsmasq-base", &["/usr/sbin/dnsmasq"])?;
    let port = free_dns_port();
    let pid_file = std::env::temp_dir().join(format!("hub-dnsmasq-{}-{port}.pid", std::process::id()));
    let child = std::process::Command::new(bin)
        .args(["--no-daemon", "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null"])
        .args(["--listen-address", "127.0.0.1", "--port", &port.to_string()])
        .arg(format!("--pid-file={}", pid_file.display()))
        .arg("--address=/www.acme.test/127.0.0.7")
        .arg("--txt-record=acme.test,v=spf1 -all")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Some((Dnsmasq(child), port))
}

fn dns(name: &str, target: &str, record_type: &str, expect: &str, port: u16) -> Value {
    json!({"name": name, "kind": "dns", "target": target, "intervalSeconds": 3600, "timeoutMs": 2000,
           "dns": {"recordType": record_type, "expect": expect, "resolver": format!("127.0.0.1:{port}")}})
}

#[tokio::test]
async fn dns_checks_against_a_real_dns_server() {
    let Some((_server, port)) = dnsmasq("dns_checks_against_a_real_dns_server") else { return };
    let s = Server::builder().start_async().await;
    let a = created(&s, dns("www A", "www.acme.test", "A", "127.0.0.7", port)).await;
    // dnsmasq answers once it has started: run the matching check until it is up.
    wait_until("dnsmasq to answer", Duration::from_secs(15), async || run(&s, &a).await["state"]["status"] == "up")
        .await;
    let txt = created(&s, dns("spf", "acme.test", "TXT", "v=spf1 -all", port)).await;
    let v = run(&s, &txt).await;
    assert_eq!(v["state"]["status"], "up", "{v}");
    assert!(v["state"]["error"].is_null(), "{v}");

    let wrong_a = created(&s, dns("www A moved", "www.acme.test", "A", "10.9.9.9", port)).await;
    let v = run(&s, &wrong_a).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert_eq!(v["state"]["error"], "expected 10.9.9.9, got 127.0.0.7", "{v}");
    let wrong_txt = created(&s, dns("spf strict", "acme.test", "TXT", "v=spf1 ~all", port)).await;
    let v = run(&s, &wrong_txt).await;
    assert_eq!(v["state"]["status"], "down", "{v}");
    assert!(v["state"]["error"].as_str().unwrap().contains("v=spf1 -all"), "{v}");

    // The results are in the history, and Prometheus has them under blackbox_exporter's names.
    let h: Value =
        s.get_auth(&format!("/api/checks/{txt}/history?timeRange=1h")).send().await.unwrap().json().await.unwrap();
    assert!(!h["data"]["points"].as_array().unwrap().is_empty(), "{h}");
    let metrics = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("probe_success{{check=\"{wrong_a}\"")), "{metrics}");
}

/// Sends an agent's report with check results (as `openmanager agent` does) and returns the ack.
async fn agent_report(s: &Server, machine: &str, results: Value) -> Value {
    let body = json!({"type": "report", "version": 1,
        "agent": {"machineId": machine, "name": machine, "hostname": machine, "agentVersion": "0.2.0"},
        "samples": [{"timestampMs": jiff::Timestamp::now().as_millisecond(), "values": {"cpu": 1.0}}],
        "checksVersion": 2, "checkResults": results});
    let res = s.client().post(s.url("/api/agents/report")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_check_on_two_agents_reports_a_result_per_place() {
    let s = Server::builder().config("[simulation]\nenabled = false\n").start_async().await;
    // Both agents known to the hub first (their server ids are their machine ids).
    for m in ["edge-a", "edge-b"] {
        agent_report(&s, m, json!([])).await;
    }
    let id = created(
        &s,
        json!({"name": "branch VPN", "kind": "tcp", "target": "10.0.0.1:443", "intervalSeconds": 30,
                                "timeoutMs": 2000, "runOn": ["agent:edge-a", "agent:edge-b"]}),
    )
    .await;
    // Each agent is handed the check.
    for m in ["edge-a", "edge-b"] {
        let ack = agent_report(&s, m, json!([])).await;
        let checks = ack["checks"].as_array().unwrap();
        assert!(checks.iter().any(|c| c["id"] == id.as_str()), "{m}: {ack}");
    }
    let now = jiff::Timestamp::now().as_millisecond();
    // edge-a reaches it; edge-b does not, and also claims a place that is not its own: the hub
    // labels each result with the agent that sent it.
    let up = json!([{"checkId": id, "at": now - 1000, "where": "agent:edge-a", "up": true, "latencyMs": 12.5}]);
    let down = json!([{"checkId": id, "at": now - 900, "where": "agent:edge-a", "up": false, "latencyMs": 2000.0,
                       "error": "connect timed out"}]);
    assert_eq!(agent_report(&s, "edge-a", up).await["checkResults"], 1);
    assert_eq!(agent_report(&s, "edge-b", down).await["checkResults"], 1);

    let v: Value = s.get_auth(&format!("/api/checks/{id}")).send().await.unwrap().json().await.unwrap();
    let locations = v["data"]["locations"].as_array().unwrap();
    assert_eq!(locations.len(), 2, "{v}");
    let at = |place: &str| locations.iter().find(|l| l["where"] == place).unwrap().clone();
    assert_eq!(at("agent:edge-a")["status"], "up", "{v}");
    assert_eq!(at("agent:edge-a")["latencyMs"], 12.5);
    assert_eq!(at("agent:edge-b")["status"], "down", "{v}");
    assert_eq!(at("agent:edge-b")["error"], "connect timed out");
    // Overall: the worst place.
    assert_eq!(v["data"]["state"]["status"], "down");
    assert_eq!(v["data"]["state"]["where"], "agent:edge-b");
    // History per place.
    for (place, up) in [("agent:edge-a", 1.0), ("agent:edge-b", 0.0)] {
        let h: Value = s
            .get_auth(&format!("/api/checks/{id}/history?timeRange=1h&where={place}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let points = h["data"]["points"].as_array().unwrap();
        assert_eq!(points.len(), 1, "{place}: {h}");
        assert_eq!(points[0]["uptime"].as_f64(), Some(up), "{place}: {h}");
    }
    // A place the check does not list is refused.
    let res = s.get_auth(&format!("/api/checks/{id}/history?timeRange=1h&where=agent:edge-c")).send().await.unwrap();
    assert_envelope(res, 422, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn the_status_page_s_own_domain_shows_it_at_the_root() {
    let s = Server::builder()
        .config("[status_page]\nenabled = true\ntitle = \"Acme status\"\ndomain = \"Status.Example.test\"\n")
        .start_async()
        .await;
    let page = |host: &'static str| {
        let s = &s;
        async move {
            let res = s.client().get(s.url("/")).header("host", host).send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    // The page's domain (any case, any port) gets the page at `/`, with no token, as at `/status`.
    for host in ["status.example.test", "STATUS.example.test:10000"] {
        let ok = common::poll("the status page at the domain's root", Duration::from_secs(20), async || {
            let (status, body) = page(host).await;
            (status == 200 && body.contains("Acme status")).then_some(body)
        })
        .await;
        assert!(ok.contains("<html") && !ok.contains("<script"), "{host}: {ok}");
    }
    // Any other host name gets the dashboard at `/`, as before.
    let (status, body) = page("hub.example.test").await;
    assert_eq!(status, 200);
    assert!(!body.contains("Acme status") && body.contains("<script"), "{body}");
}
