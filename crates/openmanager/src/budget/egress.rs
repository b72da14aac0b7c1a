//! Where the hub's own egress goes: bytes it sent per HTTP route group and per WebSocket topic since
//! it started, after compression (WebSocket bytes as the socket took them, HTTP bodies as the
//! compression layer emitted them plus their status line and headers). Fixed name sets, so the
//! counters never grow; the same counters are exported to Prometheus as
//! `openmanager_egress_bytes_total{kind, name}`.
//!
//! Requests the hub makes are egress too (`kind="outbound"`): upstream AI calls, notification
//! deliveries and remote-write batches. Each sender holds a clone of its counter (handed over when it
//! is built) and adds, per request that reached a connection, its body and an estimate of its head
//! (request line, headers, and an allowance for the ones the HTTP client adds; see
//! `ai::request_wire_bytes`). TLS records and handshakes are not counted, nor TCP/IP headers,
//! as for the HTTP answers. In `/api/budget` they appear in `byRoute` as `outbound:<name>`.

use std::collections::BTreeMap;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// HTTP route groups (the path's first segment under `/api`, or the surface it belongs to).
pub const ROUTES: [&str; 16] = [
    "servers",
    "metrics",
    "alerts",
    "budget",
    "ai",
    "agents",
    "notifications",
    "tokens",
    "dashboard",
    // The public status page (`/status`, `/status.json`): what a traffic spike on it costs.
    "status",
    "prometheus",
    "docs",
    "health",
    "mcp",
    "gateway",
    "other",
];
/// Requests the hub sends: upstream AI calls (Gemini, OpenAI-compatible), notification deliveries,
/// remote-write batches.
pub const OUTBOUND: [&str; 3] = ["ai", "notify", "remote_write"];
/// WebSocket topics; `control` is `hello`, `pong`, `error` and `notice`.
pub const TOPICS: [&str; 7] = ["fleet", "servers", "system", "alerts", "live", "checks", "control"];

type Labels = Vec<(String, String)>;

pub struct EgressMeter {
    family: Family<Labels, Counter>,
    routes: Vec<Counter>,
    topics: Vec<Counter>,
    outbound: Vec<Counter>,
    since_ms: i64,
    /// The WebSocket `fleet` topic's configured interval, which the guard slows (set by the hub).
    fleet_interval_ms: std::sync::atomic::AtomicU64,
}

impl Default for EgressMeter {
    fn default() -> Self {
        let family = Family::<Labels, Counter>::default();
        let of = |kind: &str, name: &str| {
            family.get_or_create(&vec![("kind".into(), kind.into()), ("name".into(), name.into())]).clone()
        };
        let routes = ROUTES.iter().map(|n| of("route", n)).collect();
        let topics = TOPICS.iter().map(|n| of("topic", n)).collect();
        let outbound = OUTBOUND.iter().map(|n| of("outbound", n)).collect();
        Self {
            family,
            routes,
            topics,
            outbound,
            since_ms: crate::clock::now_millis(),
            fleet_interval_ms: std::sync::atomic::AtomicU64::new(5_000),
        }
    }
}

/// The route group of a request path; unknown paths count as `other`.
pub fn route_group(path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix("/api/") else {
        return match path.split('/').nth(1).unwrap_or("") {
            "metrics" => "prometheus",
            "mcp" => "mcp",
            "v1" => "gateway",
            "ws" => "other",
            "status" | "status.json" => "status",
            "" | "assets" | "js" | "vendor" | "style.css" | "favicon.svg" | "index.html" => "dashboard",
            _ => "other",
        };
    };
    let first = rest.split('/').next().unwrap_or("");
    match first {
        "docs" | "openapi.json" => "docs",
        "analyze" | "analyses" | "assistant" => "ai",
        _ => ROUTES.iter().find(|r| **r == first).copied().unwrap_or("other"),
    }
}

impl EgressMeter {
    pub fn add_route(&self, group: &str, bytes: u64) {
        if let Some(i) = ROUTES.iter().position(|r| *r == group) {
            self.routes[i].inc_by(bytes);
        }
    }

    pub fn add_topic(&self, topic: &str, bytes: u64) {
        if let Some(i) = TOPICS.iter().position(|t| *t == topic) {
            self.topics[i].inc_by(bytes);
        }
    }

    /// The counter a sender of outbound requests adds to (it shares this meter's count). An unknown
    /// name gets a counter nobody reads.
    pub fn outbound(&self, name: &str) -> Counter {
        OUTBOUND.iter().position(|n| *n == name).map(|i| self.outbound[i].clone()).unwrap_or_default()
    }

    /// The Prometheus family of these counters, for registration.
    pub fn family(&self) -> Family<Labels, Counter> {
        self.family.clone()
    }

    /// Answers per route group, and outbound requests as `outbound:<name>`.
    pub fn by_route(&self) -> BTreeMap<String, u64> {
        let answers = ROUTES.iter().zip(&self.routes).map(|(n, c)| (n.to_string(), c.get()));
        let outbound = OUTBOUND.iter().zip(&self.outbound).map(|(n, c)| (format!("outbound:{n}"), c.get()));
        answers.chain(outbound).collect()
    }

    pub fn by_topic(&self) -> BTreeMap<String, u64> {
        TOPICS.iter().zip(&self.topics).map(|(n, c)| (n.to_string(), c.get())).collect()
    }

    pub fn total(&self) -> u64 {
        self.routes.iter().chain(&self.topics).chain(&self.outbound).map(Counter::get).sum()
    }

    pub fn set_fleet_interval_ms(&self, ms: u64) {
        self.fleet_interval_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn fleet_interval_ms(&self) -> u64 {
        self.fleet_interval_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn since_ms(&self) -> i64 {
        self.since_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_a_fixed_set_of_groups() {
        assert_eq!(route_group("/api/servers/web-01"), "servers");
        assert_eq!(route_group("/api/metrics/history"), "metrics");
        assert_eq!(route_group("/api/budget"), "budget");
        assert_eq!(route_group("/metrics"), "prometheus");
        assert_eq!(route_group("/"), "dashboard");
        assert_eq!(route_group("/js/app.js"), "dashboard");
        assert_eq!(route_group("/api/whatever"), "other");
        assert_eq!(route_group("/status"), "status");
        assert_eq!(route_group("/status.json"), "status");
        assert_eq!(route_group("/api/status-page"), "other");
    }

    #[test]
    fn counts_add_up_and_unknown_names_are_ignored() {
        let m = EgressMeter::default();
        m.add_route("servers", 10);
        m.add_topic("fleet", 5);
        m.add_topic("nonsense", 100);
        assert_eq!(m.by_route()["servers"], 10);
        assert_eq!(m.by_topic()["fleet"], 5);
        assert_eq!(m.total(), 15);
        m.outbound("ai").inc_by(7);
        m.outbound("nonsense").inc_by(100);
        assert_eq!(m.by_route()["outbound:ai"], 7);
        assert_eq!(m.by_route()["outbound:notify"], 0);
        assert_eq!(m.total(), 22);
    }
}
