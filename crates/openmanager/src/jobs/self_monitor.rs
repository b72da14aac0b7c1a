//! Self-monitoring: the hub watches the host it runs on (source `self`, id `self`). Every
//! `fleet.self_interval_ms` the collector samples /proc on a blocking thread; the fleet gets the
//! latest values, the live ring gets every sample, and the store gets one averaged point per 5 s
//! (the agents' cadence, so 1 s sampling costs no more history than an agent).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use std::time::Duration;

use collector::{Collector, CollectorConfig, ProcSource};

use crate::agent::sampler::{to_inventory, to_sample};
use crate::component_health::Check;
use crate::fleet::SELF_ID;
use crate::fleet::model::{Live, ServerMeta, ServerType, Source, Specs};
use crate::services::Services;
/// One history point per this many milliseconds.
const STORE_EVERY_MS: i64 = 5_000;
/// Detail (interfaces, disks, processes) is rebuilt this often; it changes slowly.
const DETAIL_EVERY: u32 = 5;

pub fn start(services: &Services) {
    if !services.config.fleet.monitor_self {
        return;
    }
    // The collector's own ring is not used for the live view (the fleet's compact ring is), so it
    // stays tiny.
    let config = CollectorConfig { ring_capacity: 2, ..CollectorConfig::default() };
    let collector = Arc::new(Mutex::new(Collector::new(ProcSource::new(), config)));
    let period = Duration::from_millis(services.config.fleet.self_interval_ms);
    // The collector is healthy while samples keep coming; a wedged /proc read shows here.
    let last_sample = Arc::new(AtomicI64::new(crate::clock::now_millis()));
    let seen = last_sample.clone();
    let stale_after = (period.as_millis() as i64).saturating_mul(10).max(10_000);
    services.health.register("collector", false, move || {
        let age = crate::clock::now_millis() - seen.load(Ordering::Relaxed);
        if age <= stale_after { Check::Ok } else { Check::Failing(format!("no host sample for {} s", age / 1000)) }
    });
    let fleet = services.fleet.clone();
    services.supervisor.spawn("self-monitor", move |ctx| {
        let (fleet, collector, last_sample) = (fleet.clone(), collector.clone(), last_sample.clone());
        async move {
            let mut window = Window::default();
            let mut ticks = 0u32;
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = ctx.cancel.cancelled() => return Ok(()),
                }
                // The second reading is the first with per-core CPU (it needs two samples): take the
                // detail then too, so a new hub's detail page is complete after one interval.
                let with_detail = ticks == 1 || ticks.is_multiple_of(DETAIL_EVERY);
                ticks = ticks.wrapping_add(1);
                let c = collector.clone();
                let reading = tokio::task::spawn_blocking(move || sample(&c, with_detail)).await?;
                let Some((meta, sample, inventory)) = reading else { continue };
                ctx.heartbeat.beat();
                last_sample.store(sample.timestamp_ms, Ordering::Relaxed);
                let live = Live::from_values(sample.timestamp_ms, &sample.values);
                fleet.record_self(with_detail.then_some(meta), live, inventory);
                if let Some(point) = window.add(&sample) {
                    fleet.store_self_point(point);
                }
            }
        }
    });
}

type Reading = (ServerMeta, protocol::Sample, Option<protocol::Inventory>);

fn sample(collector: &Mutex<Collector<ProcSource>>, with_detail: bool) -> Option<Reading> {
    let mut c = collector.lock();
    let info = match c.system_info() {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read this host's system info");
            return None;
        }
    };
    let snap = match c.sample() {
        Ok(s) => s.clone(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot sample this host");
            return None;
        }
    };
    let sample = to_sample(&snap);
    let inventory = with_detail.then(|| to_inventory(&info, Some(&snap), ""));
    let disk_gb = inventory.as_ref().map(|i| i.disk_total_bytes as f64 / 1e9).unwrap_or(0.0);
    let meta = ServerMeta {
        id: SELF_ID.into(),
        name: info.hostname.clone(),
        hostname: info.hostname.clone(),
        ip: String::new(),
        os: info.os.clone(),
        server_type: ServerType::Monitoring,
        role: "OpenManager hub".into(),
        environment: "production".into(),
        provider: String::new(),
        location: String::new(),
        source: Source::Local,
        services: vec![crate::fleet::model::Service {
            name: "openmanager".into(),
            status: "running".into(),
            port: None,
        }],
        specs: Specs {
            cpu_cores: info.cores,
            memory_gb: (info.memory_total_bytes as f64 / 1e9 * 10.0).round() / 10.0,
            disk_gb: (disk_gb * 10.0).round() / 10.0,
        },
        maintenance: false,
    };
    Some((meta, sample, inventory))
}

/// Averages samples into one point per [`STORE_EVERY_MS`].
#[derive(Default)]
struct Window {
    start: Option<i64>,
    sums: BTreeMap<String, (f64, u32)>,
}

impl Window {
    fn add(&mut self, sample: &protocol::Sample) -> Option<protocol::Sample> {
        let bucket = sample.timestamp_ms.div_euclid(STORE_EVERY_MS) * STORE_EVERY_MS;
        let mut done = None;
        if let Some(start) = self.start
            && start != bucket
        {
            let values =
                std::mem::take(&mut self.sums).into_iter().map(|(k, (sum, n))| (k, sum / f64::from(n))).collect();
            done = Some(protocol::Sample { timestamp_ms: start, values });
        }
        self.start = Some(bucket);
        for (k, v) in &sample.values {
            let e = self.sums.entry(k.clone()).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_averages_per_five_seconds() {
        let mut w = Window::default();
        let s = |t: i64, v: f64| protocol::Sample { timestamp_ms: t, values: BTreeMap::from([("cpu".into(), v)]) };
        assert!(w.add(&s(10_000, 10.0)).is_none());
        assert!(w.add(&s(11_000, 20.0)).is_none());
        let p = w.add(&s(15_000, 99.0)).unwrap();
        assert_eq!((p.timestamp_ms, p.values["cpu"]), (10_000, 15.0));
        let p = w.add(&s(20_500, 1.0)).unwrap();
        assert_eq!((p.timestamp_ms, p.values["cpu"]), (15_000, 99.0));
    }

    #[test]
    fn samples_this_host() {
        let c =
            Mutex::new(Collector::new(ProcSource::new(), CollectorConfig { ring_capacity: 2, ..Default::default() }));
        let (meta, sample, inv) = sample(&c, true).unwrap();
        assert_eq!(meta.id, SELF_ID);
        assert!(meta.specs.cpu_cores >= 1);
        assert!(sample.values.contains_key("memory"));
        assert!(inv.is_some());
    }
}
