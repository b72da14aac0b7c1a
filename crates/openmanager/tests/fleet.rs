//! End-to-end tests of the fleet API against the real binary: the simulated fleet, this host,
//! servers registered by hand (persisted across restarts), filters, detail, history and metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_TOKEN, Server, assert_envelope};
use serde_json::{Value, json};

async fn get_json(s: &Server, path: &str) -> Value {
    let res = s.get_auth(path).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

fn ids(body: &Value) -> Vec<String> {
    body["data"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn lists_the_simulated_fleet_and_this_host() {
    let s = Server::builder().start_async().await;
    // The host appears after its first sample (the monitor ticks once a second); poll with a deadline.
    let mut body = get_json(&s, "/api/servers?limit=100").await;
    for _ in 0..100 {
        if ids(&body).contains(&"self".to_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        body = get_json(&s, "/api/servers?limit=100").await;
    }
    let all = ids(&body);
    for name in [
        "web-01",
        "web-02",
        "api-01",
        "api-02",
        "db-master",
        "db-replica",
        "redis-cache",
        "monitoring",
        "backup",
        "security",
        "self",
    ] {
        assert!(all.contains(&name.to_string()), "{name} missing from {all:?}");
    }
    let web = &body["data"][0];
    for field in [
        "id",
        "name",
        "hostname",
        "ip",
        "os",
        "type",
        "role",
        "environment",
        "provider",
        "location",
        "source",
        "status",
        "cpu",
        "memory",
        "disk",
        "network",
        "networkIn",
        "networkOut",
        "uptime",
        "alerts",
        "services",
        "specs",
        "lastUpdate",
        "cpu_usage",
        "memory_usage",
        "disk_usage",
        "network_in",
        "network_out",
    ] {
        assert!(!web[field].is_null(), "{field} missing: {web}");
    }
    assert_eq!(web["cpu"], web["cpu_usage"]);
    let summary = &body["summary"];
    assert_eq!(summary["totalServers"], 11);
    let counted = ["healthyCount", "warningCount", "criticalCount", "offlineCount"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum::<u64>();
    assert!(counted <= 11);
    assert_eq!(body["pagination"]["total"], 11);

    let page = get_json(&s, "/api/servers?limit=4&page=3").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert_eq!(page["pagination"]["hasNext"], false);
    assert_eq!(page["pagination"]["hasPrev"], true);
    assert_eq!(page["pagination"]["totalPages"], 3);

    let webs = get_json(&s, "/api/servers?type=web&source=simulated").await;
    assert_eq!(ids(&webs), ["web-01", "web-02"]);
    let q = get_json(&s, "/api/servers?q=REDIS").await;
    assert_eq!(ids(&q), ["redis-cache"]);
    let all = get_json(&s, "/api/servers/all").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 11);

    // Every parameter that does not parse is named; values out of range are checked once all parse.
    for (query, expected) in [
        ("status=sleepy&limit=abc", vec!["status", "limit"]),
        ("limit=0&page=0", vec!["limit", "page"]),
        ("page=-1", vec!["page"]),
        ("colour=red", vec!["colour"]),
    ] {
        let res = s.get_auth(&format!("/api/servers?{query}")).send().await.unwrap();
        let body = assert_envelope(res, 422, "VALIDATION_ERROR").await;
        let fields: Vec<&str> =
            body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert_eq!(fields, expected, "{query}");
    }
    // A client that accepts compression decodes every error it gets (a wrong Content-Encoding on an
    // envelope would make this fail): a query rejection, and a status from axum itself (405).
    let gzip = reqwest::Client::builder().gzip(true).build().unwrap();
    for (method, path) in [(reqwest::Method::GET, "/api/servers?limit=abc"), (reqwest::Method::PUT, "/api/servers")] {
        let res = gzip.request(method, s.url(path)).bearer_auth(common::ADMIN_TOKEN).send().await.unwrap();
        assert!(res.status().is_client_error());
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["success"], false, "{path}");
    }
}

#[tokio::test]
async fn server_detail_for_simulated_and_self() {
    let s = Server::builder().start_async().await;
    let d = get_json(&s, "/api/servers/db-master").await["data"].clone();
    assert_eq!(d["id"], "db-master");
    assert_eq!(d["systemInfo"]["loadAverage"].as_array().unwrap().len(), 3);
    assert!(!d["networkInfo"]["interfaces"].as_array().unwrap().is_empty());
    assert!(!d["topProcesses"].as_array().unwrap().is_empty());
    assert_eq!(d["cpuCores"].as_array().unwrap().len() as u64, d["specs"]["cpuCores"].as_u64().unwrap());
    assert_eq!(d["disks"][0]["mount"], "/");

    let mut me = Value::Null;
    for _ in 0..100 {
        let res = s.get_auth("/api/servers/self").send().await.unwrap();
        if res.status() == 200 {
            me = res.json::<Value>().await.unwrap()["data"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(me["source"], "self", "{me}");
    assert!(me["specs"]["cpuCores"].as_u64().unwrap() >= 1);
    assert!(!me["systemInfo"]["kernel"].as_str().unwrap().is_empty());
    assert!(me["disks"].as_array().is_some_and(|d| !d.is_empty()), "{me}");

    assert_envelope(s.get_auth("/api/servers/nope").send().await.unwrap(), 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn servers_registered_by_hand_are_validated_and_survive_restart() {
    let s = Server::builder().start_async().await;
    let c = s.client();
    let post = |body: Value| c.post(s.url("/api/servers")).bearer_auth(ADMIN_TOKEN).json(&body).send();
    let res = post(json!({"name": "db-9", "ip": "10.9.0.9", "type": "database", "role": "replica"})).await.unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["data"]["status"], "unknown");
    assert_eq!(created["data"]["source"], "static");

    assert_envelope(post(json!({"name": "db-9"})).await.unwrap(), 409, "CONFLICT").await;
    assert_envelope(post(json!({"name": "web-01"})).await.unwrap(), 409, "CONFLICT").await;
    let bad =
        assert_envelope(post(json!({"name": "bad name", "ip": "999.1.1.1"})).await.unwrap(), 422, "VALIDATION_ERROR")
            .await;
    assert_eq!(bad["details"].as_array().unwrap().len(), 2);
    assert_envelope(post(json!({"name": "x", "type": "mainframe"})).await.unwrap(), 422, "VALIDATION_ERROR").await;
    let res = c
        .post(s.url("/api/servers"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_envelope(res, 400, "BAD_REQUEST").await;

    let res = c
        .patch(s.url("/api/servers/db-9"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"maintenance": true, "location": "seoul"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(
        (patched["data"]["status"].as_str(), patched["data"]["location"].as_str()),
        (Some("maintenance"), Some("seoul"))
    );
    let res = c.delete(s.url("/api/servers/web-01")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_envelope(res, 409, "CONFLICT").await;

    // A read-only token cannot write.
    let dir = s.stop();
    let s = Server::builder()
        .in_dir(dir)
        .config(&format!("[auth]\nadmin_token = \"{ADMIN_TOKEN}\"\n[[auth.tokens]]\nname = \"ro\"\ntoken = \"{}\"\nscopes = [\"read\"]\n", "r".repeat(40)))
        .start_async().await;
    let kept = get_json(&s, "/api/servers/db-9").await;
    assert_eq!(kept["data"]["location"], "seoul", "registration survived the restart");
    let res = s.client().delete(s.url("/api/servers/db-9")).bearer_auth("r".repeat(40)).send().await.unwrap();
    assert_envelope(res, 403, "FORBIDDEN").await;
    let res = s.client().delete(s.url("/api/servers/db-9")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_envelope(s.get_auth("/api/servers/db-9").send().await.unwrap(), 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn simulation_can_be_turned_off() {
    let s =
        Server::builder().config("[simulation]\nenabled = false\n[fleet]\nmonitor_self = false").start_async().await;
    let body = get_json(&s, "/api/servers").await;
    assert!(ids(&body).is_empty(), "{body}");
    assert_eq!(body["summary"]["totalServers"], 0);
}

#[tokio::test]
async fn api_metrics_has_system_and_fleet() {
    let s = Server::builder().start_async().await;
    let m = get_json(&s, "/api/metrics").await;
    for k in ["cpu", "memory", "disk"] {
        assert!(m["system"][k].as_f64().unwrap() >= 0.0);
    }
    assert!(m["system"]["network"]["in"].is_number() && m["system"]["network"]["out"].is_number());
    assert!(m["fleet"]["totalServers"].as_u64().unwrap() >= 10);
    for k in [
        "onlineServers",
        "warningServers",
        "criticalServers",
        "offlineServers",
        "averageCpu",
        "averageMemory",
        "averageDisk",
        "totalAlerts",
    ] {
        assert!(m["fleet"][k].is_number(), "{k}: {m}");
    }
}

#[tokio::test]
async fn history_pages_with_a_cursor_at_the_tier_resolution() {
    let s = Server::builder().start_async().await;
    let first = get_json(&s, "/api/metrics/history?serverId=web-01&timeRange=1h&limit=100").await;
    assert_eq!(first["resolution"], "5");
    let points = first["data"].as_array().unwrap();
    assert_eq!(points.len(), 100);
    for k in ["cpu", "memory", "disk", "load1"] {
        assert!(points[0][k].is_number(), "{k}");
    }
    assert!(points[0]["network"]["bytesReceived"].is_number());
    let cursor = first["nextCursor"].as_str().unwrap();
    let second =
        get_json(&s, &format!("/api/metrics/history?serverId=web-01&timeRange=1h&limit=100&cursor={cursor}")).await;
    let t_last = points[99]["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let t_next = second["data"][0]["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert_eq!(t_next.as_second() - t_last.as_second(), 5, "pages are contiguous");

    let day = get_json(&s, "/api/metrics/history?serverId=api-01&timeRange=24h&metric=cpu").await;
    assert_eq!(day["resolution"], "60");
    assert!(day["data"][0]["cpu"].is_number() && day["data"][0]["memory"].is_null());
    let month = get_json(&s, "/api/metrics/history?serverId=api-01&timeRange=30d").await;
    assert_eq!(month["resolution"], "600");

    let res = s.get_auth("/api/metrics/history?serverId=web-01&timeRange=2y").send().await.unwrap();
    assert_envelope(res, 422, "VALIDATION_ERROR").await;
    let res = s.get_auth("/api/metrics/history?serverId=ghost").send().await.unwrap();
    assert_envelope(res, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn per_core_cpu_is_there_from_the_first_measurable_interval() {
    let s = Server::builder().start_async().await;
    // The first host reading cannot have per-core CPU (it needs two samples); the second can, and
    // the detail must carry it from then on, not from a later refresh.
    let first = loop {
        let d = get_json(&s, "/api/servers/self").await;
        if let Some(t) = d["data"]["systemInfo"]["lastUpdate"].as_str() {
            break t.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let detail = loop {
        let d = get_json(&s, "/api/servers/self").await;
        if d["data"]["systemInfo"]["lastUpdate"].as_str().is_some_and(|t| t != first) {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no second host reading");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let cores = detail["data"]["cpuCores"].as_array().unwrap();
    assert!(!cores.is_empty(), "per-core CPU missing at the second reading: {detail}");
    assert_eq!(cores.len() as u64, detail["data"]["specs"]["cpuCores"].as_u64().unwrap());
}
