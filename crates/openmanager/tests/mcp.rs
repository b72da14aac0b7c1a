//! The MCP server and the tool registry end to end: the Streamable HTTP protocol by hand (session
//! life cycle, every tool with `structuredContent`, tool errors as `isError`, unknown tools as
//! -32602, Origin, Host and token checks, the session bound), the older `/mcp/query` form, the
//! status counts, `/api/ai/analyze`, and the gateway's tool calling through both provider kinds.
//! The official Python SDK client runs against the same server in `tests/sdk/test_mcp.py`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_TOKEN, Server, assert_envelope};
use serde_json::{Value, json};

/// The JSON-RPC message in a response: the body itself, or the last `data:` event of an SSE body.
async fn message(res: reqwest::Response) -> Value {
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let text = res.text().await.unwrap();
    if ct.starts_with("text/event-stream") {
        let data = text.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).rfind(|d| !d.is_empty());
        serde_json::from_str(data.expect("an SSE data event")).unwrap()
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }
}

struct Session<'a> {
    s: &'a Server,
    path: &'static str,
    id: String,
    next: u64,
}

impl<'a> Session<'a> {
    fn post(&self) -> reqwest::RequestBuilder {
        self.s
            .client()
            .post(self.s.url(self.path))
            .bearer_auth(ADMIN_TOKEN)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
    }

    async fn open(s: &'a Server, path: &'static str) -> Session<'a> {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}});
        let res = s
            .client()
            .post(s.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .header("accept", "application/json, text/event-stream")
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let id = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        let init = message(res).await;
        assert_eq!(init["result"]["serverInfo"]["name"], "openmanager");
        assert!(init["result"]["capabilities"]["tools"].is_object());
        let session = Session { s, path, id, next: 1 };
        let res = session
            .post()
            .header("mcp-session-id", &session.id)
            .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        session
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let body = json!({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params});
        let res = self.post().header("mcp-session-id", &self.id).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200, "{method}");
        message(res).await
    }

    async fn call(&mut self, name: &str, args: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": args})).await
    }
}

#[tokio::test]
async fn every_tool_answers_over_streamable_http() {
    let s = Server::builder().start_async().await;
    let mut m = Session::open(&s, "/mcp").await;
    let list = m.request("tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for want in [
        "list_servers",
        "get_server",
        "get_metrics_history",
        "list_alerts",
        "fleet_summary",
        "analyze",
        "ai_gateway_status",
        "free_tier_budget",
        "list_checks",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["outputSchema"]["type"], "object", "{t}");
        assert_eq!(t["annotations"]["readOnlyHint"], true);
    }
    let calls = [
        ("list_servers", json!({"status": "online"}), "servers"),
        ("list_servers", json!({}), "summary"),
        ("get_server", json!({"id": "web-01"}), "server"),
        ("get_metrics_history", json!({"serverId": "web-01", "timeRange": "1h", "metric": "cpu"}), "points"),
        ("list_alerts", json!({"state": "firing"}), "alerts"),
        ("fleet_summary", json!({}), "fleet"),
        ("analyze", json!({"type": "health"}), "findings"),
        ("ai_gateway_status", json!({}), "engines"),
        ("free_tier_budget", json!({}), "egress"),
        ("list_checks", json!({}), "checks"),
        ("list_checks", json!({"status": "down"}), "count"),
    ];
    for (name, args, key) in calls {
        let res = m.call(name, args).await;
        let result = &res["result"];
        assert_ne!(result["isError"], true, "{name}: {res}");
        let structured = &result["structuredContent"];
        assert!(!structured[key].is_null(), "{name} has `{key}`: {res}");
        // The same JSON as text, for clients that do not read structuredContent.
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(&text, structured, "{name}");
        // Required output properties are present.
        let schema = tools.iter().find(|t| t["name"] == name).unwrap()["outputSchema"].clone();
        for req in schema["required"].as_array().unwrap() {
            assert!(!structured[req.as_str().unwrap()].is_null(), "{name} lacks {req}");
        }
    }
    let servers = m.call("list_servers", json!({"type": "database"})).await;
    let list = servers["result"]["structuredContent"]["servers"].as_array().unwrap();
    assert!(!list.is_empty() && list.iter().all(|s| s["type"] == "database"));

    // Tool errors are results with isError and a clear message; unknown tools are -32602.
    let missing = m.call("get_server", json!({"id": "no-such-server"})).await;
    assert_eq!(missing["result"]["isError"], true);
    assert!(missing["result"]["content"][0]["text"].as_str().unwrap().contains("no-such-server"));
    let bad = m.call("get_metrics_history", json!({"serverId": "web-01", "timeRange": "5y"})).await;
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    assert!(bad["result"]["content"][0]["text"].as_str().unwrap().contains("timeRange"), "{bad}");
    let bad = m.call("list_servers", json!({"colour": "red"})).await;
    assert_eq!(bad["result"]["isError"], true, "unknown argument: {bad}");
    // A check made through the API is listed, with its state, as GET /api/checks gives it.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let check = json!({"name": "billing port", "kind": "tcp", "target": closed.to_string(), "intervalSeconds": 3600});
    let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&check).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let listed = m.call("list_checks", json!({})).await;
    let checks = &listed["result"]["structuredContent"]["checks"];
    assert_eq!(checks[0]["name"], "billing port", "{listed}");
    assert!(checks[0]["state"]["status"].is_string() && checks[0]["uptime"].is_object(), "{listed}");
    // The filter: a closed port with no maintenance window is never `up` nor in `maintenance`.
    for other in ["up", "maintenance"] {
        let none = m.call("list_checks", json!({"status": other})).await;
        assert_eq!(none["result"]["structuredContent"]["count"], 0, "{other}: {none}");
    }
    let bad = m.call("list_checks", json!({"status": "sideways"})).await;
    assert_eq!(bad["result"]["isError"], true, "an unknown status: {bad}");
    // In the endpoint's order (by id), not by name: ids and names that sort the other way round.
    for (id, name) in [("a-check", "zeta port"), ("b-check", "alpha port")] {
        let check =
            json!({"id": id, "name": name, "kind": "tcp", "target": closed.to_string(), "intervalSeconds": 3600});
        let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&check).send().await.unwrap();
        assert_eq!(res.status(), 201);
    }
    let ids = |list: &Value| list.as_array().unwrap().iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    let endpoint: Value = s.get_auth("/api/checks").send().await.unwrap().json().await.unwrap();
    let tool = m.call("list_checks", json!({})).await;
    let listed = ids(&tool["result"]["structuredContent"]["checks"]);
    assert_eq!(listed, ids(&endpoint["data"]), "{tool}");
    assert_eq!(listed[..2], [json!("a-check"), json!("b-check")], "{tool}");
    let unknown = m.call("reboot_everything", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");

    // The status counts what happened; the alias answers too; DELETE ends the session.
    let status: Value = s.get_auth("/api/mcp/status").send().await.unwrap().json().await.unwrap();
    assert_eq!(status["status"], "connected");
    assert_eq!(status["tools"]["count"], 9);
    assert!(status["calls"].as_u64().unwrap() >= 13, "{status}");
    assert_eq!(status["sessions"], 1);
    assert!(status["lastUsed"].is_string());
    let mut api = Session::open(&s, "/api/mcp").await;
    assert!(api.call("fleet_summary", json!({})).await["result"]["structuredContent"]["fleet"].is_object());
    let res =
        s.client().delete(s.url("/mcp")).bearer_auth(ADMIN_TOKEN).header("mcp-session-id", &m.id).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let res = m
        .post()
        .header("mcp-session-id", &m.id)
        .json(&json!({"jsonrpc": "2.0", "id": 99, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "an ended session is unknown");
}

#[tokio::test]
async fn token_origin_host_and_session_bounds() {
    let s = Server::builder()
        .env("ALLOWED_ORIGINS", "https://app.example.com")
        .config("[mcp]\nmax_sessions = 2\nallowed_hosts = [\"monitor.example.com\"]")
        .start_async()
        .await;
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |auth: bool| {
        let r = s.client().post(s.url("/mcp")).header("accept", "application/json, text/event-stream").json(&init);
        if auth { r.bearer_auth(ADMIN_TOKEN) } else { r }
    };
    assert_envelope(post(false).send().await.unwrap(), 401, "UNAUTHORIZED").await;
    let res = post(true).header("origin", "https://evil.example.net").send().await.unwrap();
    assert_eq!(res.status(), 403, "an unlisted Origin is refused");
    let res = post(true).header("origin", "https://app.example.com").send().await.unwrap();
    assert_eq!(res.status(), 200, "a listed Origin is served");
    let res = post(true).header("host", "attacker.example.net").send().await.unwrap();
    assert_eq!(res.status(), 403, "an unlisted Host is refused");
    let res = post(true).header("host", "monitor.example.com").send().await.unwrap();
    assert_eq!(res.status(), 200, "a configured Host is served");
    // Two sessions are open now (the two 200s above): a third is refused, with Retry-After.
    let res = post(true).send().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_envelope(res, 503, "UNAVAILABLE").await;
    // A stateless 2026-07-28 request opens no session, so the bound does not refuse it.
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {},
                      "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}});
    let res = s
        .client()
        .post(s.url("/mcp"))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "server/discover")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn first_mistakes_are_answered_with_what_to_do() {
    let s = Server::builder().start_async().await;
    let post = |accept: &str, body: &str| {
        s.client()
            .post(s.url("/api/mcp"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(body.to_owned())
            .send()
    };
    let both = "application/json, text/event-stream";
    // Malformed JSON with a JSON content type: a JSON-RPC parse error, 400.
    let res = post(both, "{nope").await.unwrap();
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"]["code"], -32700, "{e}");
    // Missing Accept: says which header to send.
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let res = post("application/json", &list).await.unwrap();
    assert_eq!(res.status(), 406);
    let e: Value = res.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("text/event-stream"), "{e}");
    // No initialize first: says to initialize and carry the session id.
    let res = post(both, &list).await.unwrap();
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("initialize"), "{e}");
    // Ending a session answers 200, as the official SDKs expect.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
        "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let res = post(both, &init.to_string()).await.unwrap();
    assert_eq!(res.status(), 200);
    let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let res = s
        .client()
        .delete(s.url("/api/mcp"))
        .bearer_auth(ADMIN_TOKEN)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_stateless_2026_revision_discovers_and_calls_without_a_session() {
    let s = Server::builder().start_async().await;
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {},
                      "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}});
    let post = |method: &str, name: Option<&str>, params: Value| {
        let mut r = s
            .client()
            .post(s.url("/api/mcp"))
            .bearer_auth(ADMIN_TOKEN)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(n) = name {
            r = r.header("mcp-name", n);
        }
        r.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).send()
    };
    let res = post("server/discover", None, json!({"_meta": meta})).await.unwrap();
    assert!(!res.headers().contains_key("mcp-session-id"), "no session in 2026-07-28");
    let discover = message(res).await;
    assert!(
        discover["result"]["supportedVersions"].as_array().unwrap().iter().any(|v| v == "2026-07-28"),
        "{discover}"
    );
    let res = post("tools/call", Some("list_servers"), json!({"name": "list_servers", "arguments": {}, "_meta": meta}));
    let call = message(res.await.unwrap()).await;
    assert!(call["result"]["structuredContent"]["servers"].as_array().unwrap().len() >= 10, "{call}");
}

#[tokio::test]
async fn the_older_query_form_answers_through_the_router() {
    let s = Server::builder().start_async().await;
    let post = |path: &str, body: Value| s.client().post(s.url(path)).bearer_auth(ADMIN_TOKEN).json(&body).send();
    let rpc = json!({"jsonrpc": "2.0", "id": 7, "method": "mcp.query",
                     "params": {"query": "CPU 사용률이 가장 높은 서버는?", "mode": "natural-language"}});
    let v: Value = post("/mcp/query", rpc.clone()).await.unwrap().json().await.unwrap();
    assert_eq!((v["jsonrpc"].as_str(), v["id"].as_i64()), (Some("2.0"), Some(7)));
    let text = v["result"]["text"].as_str().unwrap();
    assert!(text.chars().any(|c| ('가'..='힣').contains(&c)), "{v}");
    assert_eq!(v["result"]["response"], v["result"]["text"]);
    assert_eq!(v["result"]["engine"], "local");
    assert_eq!(v["result"]["mode"], "natural-language");
    assert!(v["result"]["cacheHit"].is_boolean());
    let bare: Value = post("/api/mcp/query", json!({"query": "which server has the most memory?"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bare["success"], true);
    assert!(bare["response"].as_str().unwrap().contains('%'), "{bare}");
    assert_eq!(bare["metadata"]["engine"], "local");

    // JSON-RPC errors for a bad envelope.
    let e: Value = post("/mcp/query", json!({"jsonrpc": "2.0", "id": 1, "method": "mcp.nope", "params": {}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["error"]["code"], -32601);
    let e: Value = post("/mcp/query", json!({"jsonrpc": "2.0", "id": 2, "method": "mcp.query", "params": {}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["error"]["code"], -32602);
    let e: Value = post("/mcp/query", json!({"jsonrpc": "1.0", "id": 3, "method": "mcp.query"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["error"]["code"], -32600);
    let res = s
        .client()
        .post(s.url("/mcp/query"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "a broken body is refused, not answered with 200");
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"]["code"], -32700);
    // A body without a JSON content type does not run at all.
    let res = s
        .client()
        .post(s.url("/mcp/query"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "text/plain")
        .body(json!({"query": "cpu"}).to_string())
        .send()
        .await
        .unwrap();
    assert_envelope(res, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    assert_envelope(post("/api/mcp/query", json!({"mode": "command"})).await.unwrap(), 422, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn analyses_answer_with_findings_and_errors() {
    let s = Server::builder().start_async().await;
    let post = |body: Value| s.client().post(s.url("/api/ai/analyze")).bearer_auth(ADMIN_TOKEN).json(&body).send();
    let catalog: Value = s.get_auth("/api/ai/analyze?type=status").send().await.unwrap().json().await.unwrap();
    assert_eq!(catalog["data"]["analyses"].as_array().unwrap().len(), 6);
    for kind in ["health", "anomaly", "prediction", "pattern", "correlation", "optimization"] {
        let res = post(json!({"type": kind, "timeRange": "24h"})).await.unwrap();
        // A slow machine may take longer than the request waits: then the job has the report.
        let v: Value = match res.status().as_u16() {
            200 => res.json().await.unwrap(),
            202 => {
                let job: Value = res.json().await.unwrap();
                let id = job["job"]["id"].as_str().unwrap().to_string();
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                loop {
                    let j: Value =
                        s.get_auth(&format!("/api/ai/analyze/{id}")).send().await.unwrap().json().await.unwrap();
                    if j["job"]["status"] == "done" {
                        break json!({"data": j["job"]["result"]});
                    }
                    assert!(std::time::Instant::now() < deadline && j["job"]["status"] != "failed", "{j}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            other => panic!("{kind}: {other}"),
        };
        assert_eq!(v["data"]["type"], kind);
        assert!(v["data"]["summary"].is_string() && v["data"]["findings"].is_array(), "{v}");
    }
    // Health always finds something to say about every server, in the language asked for.
    let v: Value =
        post(json!({"type": "health", "serverId": "web-01", "lang": "ko"})).await.unwrap().json().await.unwrap();
    let findings = v["data"]["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings[0]["title"].as_str().unwrap().chars().any(|c| ('가'..='힣').contains(&c)), "{v}");
    let res = s
        .client()
        .post(s.url("/api/ai/analyze"))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept-language", "ko-KR,ko;q=0.9")
        .json(&json!({"type": "health"}))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert!(v["data"]["summary"].as_str().unwrap().chars().any(|c| ('가'..='힣').contains(&c)));
    let body = assert_envelope(post(json!({"type": "astrology"})).await.unwrap(), 422, "VALIDATION_ERROR").await;
    assert_eq!(body["details"][0]["field"], "type");
    assert_envelope(post(json!({"type": "health", "serverId": "nope"})).await.unwrap(), 404, "NOT_FOUND").await;
    assert_envelope(post(json!({"type": "health", "timeRange": "5y"})).await.unwrap(), 422, "VALIDATION_ERROR").await;
    assert_envelope(s.get_auth("/api/ai/analyze/analysis-unknown").send().await.unwrap(), 404, "NOT_FOUND").await;
}

const KEY: &str = "tool-calling-upstream-key";

async fn mock() -> mock_upstream::Running {
    ai::install_tls_provider();
    mock_upstream::spawn(mock_upstream::Options { key: Some(KEY.into()), models: vec!["mock".into()] }).await.unwrap()
}

async fn script(mock: &mock_upstream::Running, rules: Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/_script", mock.url()))
        .json(&json!({"rules": rules}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
}

async fn generate_bodies(mock: &mock_upstream::Running) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{}/_requests", mock.url())).await.unwrap().json().await.unwrap();
    v["requests"].as_array().unwrap().iter().filter(|r| r["method"] == "POST").map(|r| r["body"].clone()).collect()
}

#[tokio::test]
async fn gateway_tool_calls_round_trip_through_gemini_and_openai() {
    // Gemini: the model asks for get_server, the hub runs it, the model answers with the result.
    let g = mock().await;
    script(&g, json!([{"match": {"kind": "gemini"}, "action": {"tool_call": {"name": "get_server", "args": {"id": "web-01"}}}}])).await;
    let s = Server::builder().env("GOOGLE_AI_API_KEY", KEY).env("GOOGLE_AI_BASE_URL", &g.url()).start_async().await;
    let res = s
        .client()
        .post(s.url("/api/ai/query"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"query": "How is web-01?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-ai-engine"], "google-ai");
    let body: Value = res.json().await.unwrap();
    let steps = body["metadata"]["thinkingSteps"].as_array().unwrap();
    assert!(steps.iter().any(|st| st["step"] == "tool:get_server" && st["status"] == "completed"), "{body}");
    let bodies = generate_bodies(&g).await;
    let declared: Vec<&str> = bodies[0]["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(declared.contains(&"list_servers") && declared.contains(&"analyze"), "{declared:?}");
    let contents = bodies[1]["contents"].as_array().unwrap();
    let response = contents
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .find(|p| !p["functionResponse"].is_null())
        .unwrap();
    assert_eq!(response["functionResponse"]["response"]["result"]["server"]["id"], "web-01");

    // OpenAI-compatible: the same round trip with `tools` and a `tool` message.
    let o = mock().await;
    script(&o, json!([{"match": {"kind": "openai"}, "action": {"tool_call": {"name": "list_alerts", "args": {"state": "firing"}}}}])).await;
    let s = Server::builder()
        .env("OPENAI_TEST_KEY", KEY)
        .config(&format!(
            "[ai]\nchain = [\"mockai\", \"local\"]\n[[ai.providers]]\nname = \"mockai\"\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"OPENAI_TEST_KEY\"\nmodels = [\"mock\"]\n",
            o.url()
        ))
        .start_async().await;
    let res = s
        .client()
        .post(s.url("/api/ai/query"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"query": "Any alerts?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-ai-engine"], "mockai");
    let body: Value = res.json().await.unwrap();
    assert!(
        body["metadata"]["thinkingSteps"].as_array().unwrap().iter().any(|st| st["step"] == "tool:list_alerts"),
        "{body}"
    );
    let bodies = generate_bodies(&o).await;
    assert!(bodies[0]["tools"].as_array().unwrap().iter().any(|t| t["function"]["name"] == "list_alerts"));
    let tool_msg = bodies[1]["messages"].as_array().unwrap().iter().find(|m| m["role"] == "tool").unwrap().clone();
    let result: Value = serde_json::from_str(tool_msg["content"].as_str().unwrap()).unwrap();
    assert!(result["alerts"].is_array(), "{result}");
}
