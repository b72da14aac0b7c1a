//! The local assistant through the hub's own API, grounded in the same data the API serves:
//! counts and names of servers by status, the alerts firing, follow-ups with `sessionId` (Korean and
//! English) and through `/v1/chat/completions`, the time window an answer used, and an alert's
//! explanation from its evidence.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_TOKEN, Server};
use serde_json::{Value, json};

/// Three agents with fixed values: one critical, one warning, one healthy.
async fn hub() -> Server {
    let s = Server::builder()
        .config("[simulation]\nenabled = false\n[fleet]\nmonitor_self = false\n[alerts]\ninterval_seconds = 1\n")
        .start_async()
        .await;
    let now = jiff::Timestamp::now().as_millisecond();
    for (id, cpu, mem) in [("edge-hot", 97.0, 40.0), ("edge-warm", 85.0, 30.0), ("edge-cool", 12.0, 20.0)] {
        let samples: Vec<Value> = (0..6)
            .map(|i| {
                json!({"timestampMs": now - (5 - i) * 5000, "values": {"cpu": cpu, "memory": mem, "disk": 40.0,
                "net_rx": 1000.0, "net_tx": 2000.0, "load1": 0.5}})
            })
            .collect();
        let body = json!({"type": "report", "version": 1,
            "agent": {"machineId": id, "name": id, "hostname": id, "agentVersion": "t"}, "samples": samples});
        let res =
            s.client().post(s.url("/api/agents/report")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    s
}

async fn ask(s: &Server, body: Value) -> Value {
    let res = s.client().post(s.url("/api/ai/query")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn counts_and_names_come_from_the_data_the_api_serves() {
    let s = hub().await;
    let listed: Value = s.get_auth("/api/servers?status=critical").send().await.unwrap().json().await.unwrap();
    let critical = listed["pagination"]["total"].as_u64().unwrap();
    assert_eq!(critical, 1);
    let a = ask(&s, json!({"query": "How many servers are critical right now?"})).await;
    let text = a["answer"].as_str().unwrap();
    assert!(text.contains("edge-hot") && text.contains(&critical.to_string()), "{text}");
    assert!(!text.contains("edge-cool"), "{text}");
    let a = ask(&s, json!({"query": "위험 상태 서버 몇 대야?"})).await;
    assert!(a["answer"].as_str().unwrap().contains("edge-hot"), "{a}");
    // A confidence is only given by an engine that computes one.
    assert!(a["confidence"].as_f64().is_some_and(|c| (0.0..=1.0).contains(&c)));
}

#[tokio::test]
async fn the_alerts_firing_are_the_alerts_listed() {
    let s = hub().await;
    let rule = json!({"name": "CPU very high", "metric": "cpu", "op": ">", "threshold": 95, "severity": "critical"});
    let res = s.client().post(s.url("/api/alerts/rules")).bearer_auth(ADMIN_TOKEN).json(&rule).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let alert = common::poll("the alert to fire", std::time::Duration::from_secs(30), async || {
        let firing: Value = s.get_auth("/api/alerts?state=firing").send().await.unwrap().json().await.unwrap();
        firing["data"].as_array().unwrap().iter().find(|a| a["ruleName"] == "CPU very high").cloned()
    })
    .await;
    let a = ask(&s, json!({"query": "Which alerts are firing?"})).await;
    let text = a["answer"].as_str().unwrap();
    assert!(text.contains("CPU very high") && text.contains("edge-hot"), "{text}");
    // Why it fired, from its evidence.
    let id = alert["id"].as_str().unwrap();
    let res = s
        .client()
        .post(s.url(&format!("/api/alerts/{id}/explain")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"lang": "en"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let e: Value = res.json().await.unwrap();
    let text = e["data"]["answer"].as_str().unwrap();
    assert!(text.contains("95") && text.contains("edge-hot"), "the rule's threshold and the server: {text}");
    let res = s.client().post(s.url("/api/alerts/nope/explain")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn follow_ups_resolve_against_the_session_in_both_languages() {
    let s = hub().await;
    let first = ask(&s, json!({"query": "what is the cpu of edge-hot?", "sessionId": "s-en"})).await;
    assert!(first["answer"].as_str().unwrap().contains("97"), "{first}");
    let next = ask(&s, json!({"query": "and edge-cool?", "sessionId": "s-en"})).await;
    let text = next["answer"].as_str().unwrap();
    assert!(text.contains("edge-cool") && text.contains("12"), "the follow-up kept the metric: {text}");
    // Without the session the same words have nothing to follow.
    let alone = ask(&s, json!({"query": "and edge-cool?"})).await;
    assert_ne!(alone["answer"], next["answer"]);

    ask(&s, json!({"query": "edge-warm CPU 사용률 알려줘", "sessionId": "s-ko"})).await;
    let ko = ask(&s, json!({"query": "그럼 메모리는?", "sessionId": "s-ko"})).await;
    let text = ko["answer"].as_str().unwrap();
    assert!(text.contains("edge-warm") && text.contains("30"), "the follow-up kept the server: {text}");
    // The window an answer used is said.
    let w = ask(&s, json!({"query": "edge-hot cpu over the last 6 hours"})).await;
    assert!(w["metadata"]["window"]["from"].is_string(), "{w}");
}

#[tokio::test]
async fn the_openai_messages_array_is_the_conversation() {
    let s = hub().await;
    let body = json!({"model": "local", "messages": [
        {"role": "user", "content": "what is the memory of edge-warm?"},
        {"role": "assistant", "content": "edge-warm memory is 30%."},
        {"role": "user", "content": "and edge-hot?"}]});
    let res = s.client().post(s.url("/v1/chat/completions")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("edge-hot") && text.contains("40"), "{text}");
}

/// Questions about service checks are answered from what `/api/checks` serves: the one that is down
/// is named as down, the one that is up as up, in both languages.
#[tokio::test]
async fn checks_are_answered_from_the_checks_the_api_lists() {
    let s = hub().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    for (name, target) in [("db-port", open), ("cache-port", closed)] {
        let body = json!({"name": name, "kind": "tcp", "target": target, "intervalSeconds": 3600, "timeoutMs": 2000});
        let res = s.client().post(s.url("/api/checks")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["data"]["id"].as_str().unwrap().to_string();
        let res =
            s.client().post(s.url(&format!("/api/checks/{id}/run"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let listed: Value = s.get_auth("/api/checks").send().await.unwrap().json().await.unwrap();
    let status = |name: &str| {
        listed["data"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["state"]["status"].clone()
    };
    assert_eq!((status("db-port"), status("cache-port")), (json!("up"), json!("down")), "{listed}");

    let a = ask(&s, json!({"query": "Are all my checks up?"})).await;
    let text = a["answer"].as_str().unwrap();
    assert!(text.starts_with("No"), "{text}");
    assert!(text.contains("2 checks: 1 up, 1 down"), "{text}");
    assert!(text.contains("cache-port") && text.contains("db-port"), "{text}");
    let a = ask(&s, json!({"query": "체크 상태 알려줘"})).await;
    let text = a["answer"].as_str().unwrap();
    assert!(text.contains("정상 1개, 실패 1개") && text.contains("cache-port"), "{text}");
    drop(listener);
}
