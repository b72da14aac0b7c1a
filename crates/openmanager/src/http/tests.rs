//! In-process tests of the layer stack with test-only routes (a JSON body, a slow handler, a
//! panicking one), for the behaviours no production route of the platform can trigger on demand.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::json::ApiJson;
use super::with_layers;
use crate::config::Config;
use crate::http::state::AppState;
use crate::lifecycle::supervisor::Supervisor;
use crate::tokens::TokenSet;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Payload {
    name: String,
    count: u32,
}

async fn state(config: Config) -> AppState {
    let tokens = TokenSet::new(&"a".repeat(40), &config.auth);
    // The store's file outlives the test's directory handle only as long as the process; that is
    // enough for these in-process tests.
    let dir = tempfile::tempdir().unwrap().keep();
    let store = store::Store::open(store::Config::new(dir.join("t.db"))).unwrap();
    let supervisor = Supervisor::new(CancellationToken::new());
    AppState::new(crate::server::build_services(config, tokens, store, supervisor).await.unwrap())
}

async fn app(config: Config) -> Router {
    let routes = Router::new()
        .route("/json", post(|ApiJson(p): ApiJson<Payload>| async move { p.name }))
        .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(3600)).await }))
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("kaboom")
                }
            }),
        );
    with_layers(routes, &state(config).await)
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let mut req = req;
    req.extensions_mut().insert(axum::extract::ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

fn post_json(body: &str) -> Request<Body> {
    Request::post("/json").header("content-type", "application/json").body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn json_bodies_get_envelope_errors() {
    let (s, b) = call(app(Config::default()).await, post_json(r#"{"name": "a", "count": 1}"#)).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let (s, b) = call(app(Config::default()).await, post_json(r#"{"name": "a", "#)).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("BAD_REQUEST")), "{b}");

    let (s, b) = call(app(Config::default()).await, post_json(r#"{"name": "a", "count": "many"}"#)).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("VALIDATION_ERROR")), "{b}");
    assert_eq!(b["details"][0]["field"], "count", "{b}");

    let (s, b) = call(app(Config::default()).await, post_json(r#"{"name": "a"}"#)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

    let req = Request::post("/json").header("content-type", "text/plain").body(Body::from("{}")).unwrap();
    let (s, b) = call(app(Config::default()).await, req).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("UNSUPPORTED_MEDIA_TYPE")));

    let mut config = Config::default();
    config.server.max_body_bytes = 1024;
    let big = format!(r#"{{"name": "{}", "count": 1}}"#, "x".repeat(4096));
    let (s, b) = call(app(config.clone()).await, post_json(&big)).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("PAYLOAD_TOO_LARGE")), "{b}");
    // Without a Content-Length (chunked), the limit still holds while reading.
    let stream = futures_stream(big);
    let req = Request::post("/json").header("content-type", "application/json").body(stream).unwrap();
    let (s, _) = call(app(config).await, req).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

fn futures_stream(body: String) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.into_bytes().chunks(512).map(|c| Ok(c.to_vec())).collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test(start_paused = true)]
async fn slow_requests_time_out_with_504() {
    let mut config = Config::default();
    config.server.request_timeout_ms = 50;
    let st = state(config).await;
    let routes = Router::new()
        .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(3600)).await }))
        .route_layer(axum::middleware::from_fn_with_state(st.clone(), super::limits::timeout));
    let (s, b) = call(with_layers(routes, &st), Request::get("/slow").body(Body::empty()).unwrap()).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::GATEWAY_TIMEOUT, Some("TIMEOUT")), "{b}");
}

#[tokio::test]
async fn panics_become_500_envelopes() {
    let (s, b) = call(app(Config::default()).await, Request::get("/boom").body(Body::empty()).unwrap()).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("INTERNAL")), "{b}");
    assert!(!b["message"].as_str().unwrap_or_default().contains("kaboom"), "panic text must not leak: {b}");
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_get_503() {
    let mut config = Config::default();
    config.server.max_concurrent_requests = 1;
    let app = app(config).await;
    let busy = tokio::spawn(call(app.clone(), Request::get("/slow").body(Body::empty()).unwrap()));
    // Wait (bounded) until the first request holds the only permit.
    let mut answer = None;
    for _ in 0..1000 {
        let (s, b) = call(app.clone(), post_json(r#"{"name": "a", "count": 1}"#)).await;
        if s == StatusCode::SERVICE_UNAVAILABLE {
            answer = Some(b);
            break;
        }
        tokio::task::yield_now().await;
    }
    let b = answer.expect("a 503 while the slow request runs");
    assert_eq!(b["error"], "UNAVAILABLE");
    assert_eq!(b["retryAfter"], 1);
    busy.abort();
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let st = state(Config::default()).await;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Arc::new(parking_lot::Mutex::new(Some(started_tx)));
    let routes = Router::new().route(
        "/work",
        get(move || {
            let tx = started_tx.clone();
            async move {
                if let Some(tx) = tx.lock().take() {
                    let _ = tx.send(());
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }
        }),
    );
    let app = super::short_path::ShortPath::new(with_layers(routes, &st), st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = super::workers::Stop::default();
    let serving = super::workers::Serving {
        app,
        table: st.connections.clone(),
        timeouts: super::workers::Timeouts { header: Duration::from_secs(10), idle: Duration::from_secs(60) },
        stop: stop.clone(),
        tls: None,
    };
    let server = tokio::spawn(super::workers::serve(listener, serving));
    ai::install_tls_provider();
    let request = tokio::spawn(async move { reqwest::get(format!("http://{addr}/work")).await?.text().await });
    started_rx.await.unwrap();
    stop.all();
    let body = request.await.unwrap().unwrap();
    assert_eq!(body, "done");
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap();
    // After shutdown nothing accepts connections.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
