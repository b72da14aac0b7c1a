//! The Prometheus registry (no global: tests run several servers in one process) and the HTTP series
//! recorded for every request. Other components register their own series or collectors at start.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

// Labels are `&'static str` so that counting a request allocates nothing (see `RouteNames`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: &'static str,
    /// The route template (`/api/servers/{id}`), never the raw path, so cardinality stays bounded.
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: &'static str,
}

/// Route templates as `&'static str`. The router has a fixed, small set of routes, so each template
/// is leaked once (bounded by `MAX_ROUTES`) instead of allocated on every request.
#[derive(Default)]
pub struct RouteNames(std::sync::RwLock<std::collections::HashMap<Box<str>, &'static str>>);

const MAX_ROUTES: usize = 512;

impl RouteNames {
    pub fn get(&self, template: &str) -> &'static str {
        if let Some(name) = self.0.read().ok().and_then(|m| m.get(template).copied()) {
            return name;
        }
        let Ok(mut map) = self.0.write() else { return "other" };
        if map.len() >= MAX_ROUTES {
            return "other";
        }
        let name: &'static str = Box::leak(template.to_owned().into_boxed_str());
        map.insert(template.into(), name);
        name
    }
}

/// The method as a static label; extension methods share one label.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~13 s
    Histogram::new(exponential_buckets(0.0001, 2.5, 14))
}

/// Series every component shares, and the registry they live in.
pub struct Exporter {
    registry: std::sync::RwLock<Registry>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub rate_limited: Counter,
    pub resident_memory: Gauge,
    pub routes: RouteNames,
    pub ingest_reports: Counter,
    pub ingest_samples: Counter,
    pub ingest_duplicates: Counter,
}

impl Exporter {
    pub fn new(start_unix_seconds: i64) -> Arc<Self> {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let rate_limited = Counter::default();
        let resident_memory = Gauge::default();
        registry.register("openmanager_http_requests", "HTTP requests answered", http_requests.clone());
        registry.register_with_unit(
            "openmanager_http_request_duration",
            "Time to answer an HTTP request",
            prometheus_client::registry::Unit::Seconds,
            http_duration.clone(),
        );
        registry.register("openmanager_rate_limited", "Requests refused by the rate limiter", rate_limited.clone());
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of this process",
            prometheus_client::registry::Unit::Bytes,
            resident_memory.clone(),
        );
        let start: Gauge = Gauge::default();
        start.set(start_unix_seconds);
        registry.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch",
            prometheus_client::registry::Unit::Seconds,
            start,
        );
        let (ingest_reports, ingest_samples, ingest_duplicates) =
            (Counter::default(), Counter::default(), Counter::default());
        registry.register("openmanager_ingest_reports", "Agent reports accepted", ingest_reports.clone());
        registry.register("openmanager_ingest_samples", "Agent samples stored", ingest_samples.clone());
        registry.register(
            "openmanager_ingest_duplicate_samples",
            "Agent samples dropped as already stored",
            ingest_duplicates.clone(),
        );
        let info = prometheus_client::metrics::info::Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        registry.register("openmanager_build", "Build information", info);
        Arc::new(Self {
            registry: std::sync::RwLock::new(registry),
            http_requests,
            http_duration,
            rate_limited,
            resident_memory,
            routes: RouteNames::default(),
            ingest_reports,
            ingest_samples,
            ingest_duplicates,
        })
    }

    /// Lets a component add its own series after start-up.
    pub fn with_registry(&self, f: impl FnOnce(&mut Registry)) {
        if let Ok(mut r) = self.registry.write() {
            f(&mut r);
        }
    }

    /// The exposition: OpenMetrics when `openmetrics`, else the Prometheus text format 0.0.4.
    pub fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        let registry = self.registry.read().map_err(|_| std::fmt::Error)?;
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
        }
        Ok(out)
    }
}

pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_carry_http_series() {
        let e = Exporter::new(1);
        let route = e.routes.get("/api/health");
        assert!(std::ptr::eq(route, e.routes.get("/api/health")), "interned once");
        e.http_requests.get_or_create(&HttpLabels { method: "GET", route, status: 200 }).inc();
        let text = e.encode(false).unwrap();
        assert!(
            text.contains("openmanager_http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
        let om = e.encode(true).unwrap();
        assert!(om.ends_with("# EOF\n"));
    }
}
