//! The Prometheus registry (no global: tests run several servers in one process) and the HTTP series
//! recorded for every request. Other components register their own series or collectors at start.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::exponential_buckets;
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
pub struct RouteNames(parking_lot::RwLock<std::collections::HashMap<Box<str>, &'static str>>);

const MAX_ROUTES: usize = 512;

impl RouteNames {
    pub fn get(&self, template: &str) -> &'static str {
        if let Some(name) = self.0.read().get(template).copied() {
            return name;
        }
        let mut map = self.0.write();
        if let Some(name) = map.get(template) {
            return name;
        }
        if map.len() >= MAX_ROUTES {
            return "other";
        }
        let name: &'static str = Box::leak(template.to_owned().into_boxed_str());
        map.insert(template.into(), name);
        name
    }
}

/// One route's series, resolved once per worker thread: counting a request then takes no shared
/// lock and hashes nothing (the registry's `Family` lookups did both on every request).
#[derive(Clone)]
struct RouteSeries {
    exporter: usize,
    method: &'static str,
    template: Box<str>,
    route: &'static str,
    duration: Arc<parking_lot::Mutex<DurationShard>>,
    /// By status; a route answers with a handful of them.
    counts: Vec<(u16, Counter)>,
}

thread_local! {
    static SERIES: std::cell::RefCell<Vec<RouteSeries>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most routes one thread caches; past it lookups go to the registry each time (still correct).
const MAX_CACHED_ROUTES: usize = 256;

impl Exporter {
    /// Counts one answered request under its route template (`None`: no route matched).
    pub fn record_http(&self, method: &'static str, template: Option<&str>, status: u16, secs: f64) {
        let me = self as *const Exporter as usize;
        let template = template.unwrap_or("");
        SERIES.with(|cell| {
            let mut cache = cell.borrow_mut();
            let pos = cache.iter().position(|s| s.exporter == me && s.method == method && &*s.template == template);
            let pos = match pos {
                Some(p) => p,
                None => {
                    let route = if template.is_empty() { "unmatched" } else { self.routes.get(template) };
                    let family = self.http_duration.get_or_create_owned(&RouteLabels { method, route });
                    if cache.len() >= MAX_CACHED_ROUTES {
                        family.observe(secs);
                        self.http_requests.get_or_create(&HttpLabels { method, route, status }).inc();
                        return;
                    }
                    let series = RouteSeries {
                        exporter: me,
                        method,
                        template: template.into(),
                        route,
                        duration: family.shard(),
                        counts: Vec::new(),
                    };
                    cache.push(series);
                    cache.len() - 1
                }
            };
            let s = &mut cache[pos];
            {
                let mut d = s.duration.lock();
                d.observe(secs);
            }
            match s.counts.iter().find(|(code, _)| *code == status) {
                Some((_, c)) => {
                    c.inc();
                }
                None => {
                    let c = self.http_requests.get_or_create_owned(&HttpLabels { method, route: s.route, status });
                    c.inc();
                    s.counts.push((status, c));
                }
            }
        });
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

/// Upper bounds of the request-duration buckets: 100 µs .. ~13 s, then +Inf.
fn duration_bounds() -> &'static [f64] {
    static BOUNDS: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    BOUNDS.get_or_init(|| exponential_buckets(0.0001, 2.5, 14).chain(std::iter::once(f64::MAX)).collect())
}

/// One thread's counts of one route's durations.
#[derive(Debug)]
pub struct DurationShard {
    sum: f64,
    count: u64,
    /// Per bucket (not cumulative), the last one +Inf.
    buckets: Vec<u64>,
}

impl DurationShard {
    fn new() -> Self {
        Self { sum: 0.0, count: 0, buckets: vec![0; duration_bounds().len()] }
    }

    fn observe(&mut self, secs: f64) {
        self.sum += secs;
        self.count += 1;
        let i = duration_bounds().iter().position(|b| secs <= *b).unwrap_or(self.buckets.len() - 1);
        self.buckets[i] += 1;
    }
}

/// A Prometheus histogram whose observations go to per-thread shards, merged when scraped: the
/// library's histogram takes one mutex per observation, which the HTTP workers contended for on
/// every request.
#[derive(Debug, Clone, Default)]
pub struct ShardedHistogram {
    shards: Arc<parking_lot::Mutex<Vec<Arc<parking_lot::Mutex<DurationShard>>>>>,
}

impl ShardedHistogram {
    /// A new shard for the calling thread to own.
    fn shard(&self) -> Arc<parking_lot::Mutex<DurationShard>> {
        let shard = Arc::new(parking_lot::Mutex::new(DurationShard::new()));
        {
            let mut all = self.shards.lock();
            all.push(shard.clone());
        }
        shard
    }

    /// Records into the first shard (for callers without one of their own).
    pub fn observe(&self, secs: f64) {
        let first = self.shards.lock().first().cloned();
        let shard = first.unwrap_or_else(|| self.shard());
        {
            let mut s = shard.lock();
            s.observe(secs);
        }
    }
}

impl prometheus_client::metrics::TypedMetric for ShardedHistogram {
    const TYPE: prometheus_client::metrics::MetricType = prometheus_client::metrics::MetricType::Histogram;
}

impl prometheus_client::encoding::EncodeMetric for ShardedHistogram {
    fn encode(&self, mut encoder: prometheus_client::encoding::MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut merged = DurationShard::new();
        let shards = {
            let s = self.shards.lock();
            s.clone()
        };
        for shard in shards {
            {
                let s = shard.lock();
                merged.sum += s.sum;
                merged.count += s.count;
                for (m, c) in merged.buckets.iter_mut().zip(&s.buckets) {
                    *m += c;
                }
            }
        }
        let buckets: Vec<(f64, u64)> = duration_bounds().iter().copied().zip(merged.buckets).collect();
        encoder.encode_histogram::<prometheus_client::encoding::NoLabelSet>(merged.sum, merged.count, &buckets, None)
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        prometheus_client::metrics::MetricType::Histogram
    }
}

/// Series every component shares, and the registry they live in.
pub struct Exporter {
    registry: parking_lot::RwLock<Registry>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, ShardedHistogram>,
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
        let http_duration = Family::<RouteLabels, ShardedHistogram>::default();
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
            registry: parking_lot::RwLock::new(registry),
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
        f(&mut self.registry.write());
    }

    /// The exposition: OpenMetrics when `openmetrics`, else the Prometheus text format 0.0.4.
    pub fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        let registry = self.registry.read();
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
