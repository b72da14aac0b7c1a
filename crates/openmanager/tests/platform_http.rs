//! End-to-end tests of the platform's HTTP behaviour against the real binary: health, auth, CORS,
//! rate limits, body limits, 404/405 envelopes, request ids, compression, OpenAPI and Prometheus.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_TOKEN, Server, assert_envelope};

#[tokio::test]
async fn health_endpoints_are_public_and_shaped() {
    let s = Server::builder().start_async().await;
    for path in ["/api/health", "/health"] {
        let res = s.get(path).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().contains_key("x-request-id"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "healthy", "{body}");
        assert!(body["uptime"].as_f64().unwrap() >= 0.0);
        assert!(body["memory"]["rss"].as_u64().unwrap() > 0);
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(body["checks"]["dataDir"], "ok");
        assert_eq!(body["checks"]["store"], "ok");
        assert_eq!(body["checks"]["collector"], "ok");
        assert!(body["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok());
    }
    assert_eq!(s.get("/api/health/live").send().await.unwrap().status(), 200);
    assert_eq!(s.get("/api/health/ready").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let s = Server::builder().start_async().await;
    let res = s.get("/api/health").header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    let a = s.get("/api/health").send().await.unwrap().headers()["x-request-id"].clone();
    let b = s.get("/api/nope").send().await.unwrap().headers()["x-request-id"].clone();
    assert_ne!(a, b);
}

#[tokio::test]
async fn auth_requires_a_valid_token_with_the_scope() {
    let read_token = "read-only-token-0123456789abcdefghijklmn";
    let ingest_token = "ingest-only-token-0123456789abcdefghijkl";
    let s = Server::builder()
        .config(&format!(
            "[auth]\nadmin_token = \"{ADMIN_TOKEN}\"\n[[auth.tokens]]\nname = \"ro\"\ntoken = \"{read_token}\"\nscopes = [\"read\"]\n\
             [[auth.tokens]]\nname = \"agent\"\ntoken = \"{ingest_token}\"\nscopes = [\"ingest\"]\n"
        ))
        .start_async().await;
    let res = s.get("/api/metrics").send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_envelope(res, 401, "UNAUTHORIZED").await;
    let res = s.get("/api/metrics").bearer_auth("wrong-token-wrong-token-wrong-token").send().await.unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;
    let res = s.get("/api/metrics").header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;
    assert_eq!(s.get_auth("/api/metrics").send().await.unwrap().status(), 200);
    assert_eq!(s.get("/api/metrics").header("x-api-key", ADMIN_TOKEN).send().await.unwrap().status(), 200);
    assert_eq!(s.get("/api/metrics").bearer_auth(read_token).send().await.unwrap().status(), 200);
    let res = s.get("/api/metrics").bearer_auth(ingest_token).send().await.unwrap();
    assert_envelope(res, 403, "FORBIDDEN").await;
}

#[tokio::test]
async fn api_metrics_counts_requests_and_percentiles() {
    let s = Server::builder().start_async().await;
    for _ in 0..5 {
        s.get("/api/health").send().await.unwrap();
    }
    s.get("/api/does-not-exist").send().await.unwrap();
    let body: serde_json::Value = s.get_auth("/api/metrics").send().await.unwrap().json().await.unwrap();
    let app = &body["application"];
    assert!(app["requests"].as_u64().unwrap() >= 6, "{body}");
    assert!(app["clientErrors"].as_u64().unwrap() >= 1, "{body}");
    assert_eq!(app["errors"], 0);
    for k in ["responseTime", "responseTimeP50", "responseTimeP95", "responseTimeP99", "uptime"] {
        assert!(app[k].as_f64().unwrap() >= 0.0, "{k}: {body}");
    }
    assert!(app["responseTimeP99"].as_f64().unwrap() >= app["responseTimeP50"].as_f64().unwrap());
}

#[tokio::test]
async fn not_found_and_method_not_allowed_are_envelopes() {
    let s = Server::builder().start_async().await;
    let body = assert_envelope(s.get("/api/nothing-here").send().await.unwrap(), 404, "NOT_FOUND").await;
    let endpoints: Vec<&str> =
        body["availableEndpoints"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(endpoints.contains(&"GET /api/health") && endpoints.contains(&"GET /api/metrics"), "{body}");
    let res = s.client().delete(s.url("/api/health")).send().await.unwrap();
    assert!(res.headers()["allow"].to_str().unwrap().contains("GET"));
    assert_envelope(res, 405, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test]
async fn huge_bodies_are_413_envelopes() {
    let s = Server::builder().config("max_body_bytes = 2048").start_async().await;
    let res = s
        .client()
        .post(s.url("/api/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(vec![b' '; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_envelope(res, 413, "PAYLOAD_TOO_LARGE").await;
}

#[tokio::test]
async fn cors_only_for_listed_origins() {
    let s =
        Server::builder().env("ALLOWED_ORIGINS", "https://app.example.com,http://localhost:3000").start_async().await;
    let res = s.get("/api/health").header("origin", "https://app.example.com").send().await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let res = s.get("/api/health").header("origin", "https://evil.example.com").send().await.unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    let res = s
        .client()
        .request(reqwest::Method::OPTIONS, s.url("/api/metrics"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "http://localhost:3000");
    let methods = res.headers()["access-control-allow-methods"].to_str().unwrap().to_string();
    for m in ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = res.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    for h in ["authorization", "content-type", "x-api-key", "x-request-id"] {
        assert!(headers.contains(h), "{headers}");
    }
}

#[tokio::test]
async fn no_cors_headers_without_allowed_origins() {
    let s = Server::builder().start_async().await;
    let res = s.get("/api/health").header("origin", "https://app.example.com").send().await.unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn rate_limit_is_per_client_with_retry_after_and_spares_health() {
    let s = Server::builder().config("[rate_limit]\nper_minute = 60\nburst = 3").start_async().await;
    for _ in 0..3 {
        assert_eq!(s.get_auth("/api/metrics").send().await.unwrap().status(), 200);
    }
    let res = s.get_auth("/api/metrics").send().await.unwrap();
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body = assert_envelope(res, 429, "RATE_LIMITED").await;
    assert_eq!(body["retryAfter"].as_u64().unwrap(), retry);
    for _ in 0..20 {
        assert_eq!(s.get("/api/health").send().await.unwrap().status(), 200);
    }
    let prom = s.get("/metrics").header("x-api-key", ADMIN_TOKEN).send().await.unwrap();
    // The scrape itself is limited too, so it may be refused; either way the counter was recorded.
    if prom.status() == 200 {
        assert!(prom.text().await.unwrap().contains("openmanager_rate_limited_total"));
    }
}

#[tokio::test]
async fn responses_are_compressed_when_accepted() {
    let s = Server::builder().start_async().await;
    let res = s.get("/api/openapi.json").header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let res = s.get("/api/openapi.json").header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    let res = s.get("/api/openapi.json").send().await.unwrap();
    assert!(!res.headers().contains_key("content-encoding"));
}

#[tokio::test]
async fn openapi_describes_the_routes() {
    let s = Server::builder().start_async().await;
    let doc: serde_json::Value = s.get("/api/openapi.json").send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/health", "/health", "/api/health/live", "/api/health/ready", "/api/metrics", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["HealthBody"].is_object());
}

#[tokio::test]
async fn prometheus_needs_a_token_unless_public_and_speaks_both_formats() {
    let s = Server::builder().start_async().await;
    assert_envelope(s.get("/metrics").send().await.unwrap(), 401, "UNAUTHORIZED").await;
    let res = s.get_auth("/metrics").send().await.unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    assert!(text.contains("openmanager_http_requests_total{"), "{text}");
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
    let res =
        s.get_auth("/metrics").header("accept", "application/openmetrics-text; version=1.0.0").send().await.unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    assert!(res.text().await.unwrap().ends_with("# EOF\n"));

    let public = Server::builder().config("public_metrics = true").start_async().await;
    assert_eq!(public.get("/metrics").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn tokens_never_reach_the_logs() {
    let s = Server::builder().env("OPENMANAGER_LOG", "debug").start_async().await;
    for _ in 0..3 {
        s.get_auth("/api/metrics").send().await.unwrap();
        s.get("/api/metrics").header("x-api-key", ADMIN_TOKEN).send().await.unwrap();
        s.get("/api/metrics").bearer_auth("some-wrong-token-value-1234567890ab").send().await.unwrap();
    }
    s.get("/api/health").send().await.unwrap();
    let logs = s.logs();
    assert!(logs.contains("\"request\""), "debug request lines expected:\n{logs}");
    assert!(!logs.contains(ADMIN_TOKEN), "token leaked into logs");
    assert!(!logs.contains("some-wrong-token-value"), "presented token leaked into logs");
}

/// Plain probes are answered before routing; they must look exactly like the routed answer and be
/// counted the same way.
#[tokio::test]
async fn health_probes_answer_alike_with_or_without_the_short_path() {
    let s = Server::builder().start_async().await;
    let plain = s.get("/api/health").send().await.unwrap();
    let routed = s.get("/api/health").header("accept-encoding", "identity").send().await.unwrap();
    for res in [&plain, &routed] {
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.headers()["vary"], "accept-encoding");
        assert!(res.headers().contains_key("x-request-id"));
    }
    let echoed = s.get("/health").header("x-request-id", "probe-1").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "probe-1");
    let keys = |v: serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let (a, b) = (plain.json::<serde_json::Value>().await.unwrap(), routed.json::<serde_json::Value>().await.unwrap());
    assert_eq!(keys(a.clone()), keys(b));
    assert_eq!(a["status"], "healthy");
    let prom = s.get_auth("/metrics").send().await.unwrap().text().await.unwrap();
    let line = prom
        .lines()
        .find(|l| l.starts_with("openmanager_http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"}"))
        .unwrap();
    assert!(line.ends_with(" 2"), "{line}");
    // Both probes are in the (per-thread sharded) duration histogram too, merged at scrape time.
    let count = prom
        .lines()
        .find(|l| {
            l.starts_with("openmanager_http_request_duration_seconds_count{method=\"GET\",route=\"/api/health\"}")
        })
        .unwrap();
    assert!(count.ends_with(" 2"), "{count}");
    assert!(
        prom.contains(
            "openmanager_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"GET\",route=\"/api/health\"} 2"
        ) || prom.contains(
            "openmanager_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/health\",le=\"+Inf\"} 2"
        ),
        "{prom}"
    );
}
