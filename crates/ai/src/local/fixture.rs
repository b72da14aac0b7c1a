//! A [`crate::FactsSource`] over fixed facts, for tests (here and in the hub): it serves the snapshot
//! and fills exactly what each [`FactsNeed`] asks, and remembers the needs it was given, so a test can
//! check that a question fetched only what it needed.

use std::sync::Mutex;

use super::{Facts, FactsNeed, Series};
use crate::provider::local::BoxFuture;

pub struct FixtureSource {
    facts: Facts,
    needs: Mutex<Vec<FactsNeed>>,
}

impl FixtureSource {
    /// `facts` holds everything (all series at full length, all events); each fill takes a part.
    pub fn new(facts: Facts) -> Self {
        FixtureSource { facts, needs: Mutex::new(Vec::new()) }
    }

    /// The needs filled so far, in order.
    pub fn needs(&self) -> Vec<FactsNeed> {
        self.needs.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// The snapshot: time, zone, servers and the directory of names.
    pub fn snapshot_now(&self) -> Facts {
        Facts {
            now_ms: self.facts.now_ms,
            utc_offset_secs: self.facts.utc_offset_secs,
            servers: self.facts.servers.clone(),
            directory: self.facts.directory.clone(),
            ..Facts::default()
        }
    }

    /// Adds what `need` asks to `facts`.
    pub fn fill_now(&self, need: &FactsNeed, facts: &mut Facts) {
        if let Ok(mut needs) = self.needs.lock() {
            needs.push(need.clone());
        }
        let all = &self.facts;
        for s in &need.series {
            for series in all.series.iter().filter(|x| {
                s.metric.matches_series(&x.metric) && (s.servers.is_empty() || s.servers.contains(&x.server_id))
            }) {
                let points: Vec<(i64, f64)> =
                    series.points.iter().copied().filter(|(t, _)| *t >= s.from_ms && *t <= s.to_ms).collect();
                if points.is_empty() {
                    continue;
                }
                let points = downsample(points, s.max_points);
                match facts.series.iter_mut().find(|x| x.server_id == series.server_id && x.metric == series.metric) {
                    Some(have) => {
                        have.points.extend(points);
                        have.points.sort_by_key(|p| p.0);
                        have.points.dedup_by_key(|p| p.0);
                    }
                    None => facts.series.push(Series {
                        server_id: series.server_id.clone(),
                        metric: series.metric.clone(),
                        points,
                    }),
                }
            }
        }
        if let Some((from, to)) = need.events {
            facts.events =
                all.events.as_ref().map(|e| e.iter().filter(|e| e.at_ms >= from && e.at_ms <= to).cloned().collect());
        }
        if need.alerts {
            facts.alerts.clone_from(&all.alerts);
        }
        if need.silences {
            facts.silences.clone_from(&all.silences);
        }
        if need.budget {
            facts.budget.clone_from(&all.budget);
        }
        if need.gateway {
            facts.gateway.clone_from(&all.gateway);
        }
        if need.checks {
            facts.checks.clone_from(&all.checks);
        }
    }
}

/// At most `max` points: averages of equal runs, as the store's rollups do.
fn downsample(points: Vec<(i64, f64)>, max: usize) -> Vec<(i64, f64)> {
    if max == 0 || points.len() <= max {
        return points;
    }
    let per = points.len().div_ceil(max);
    points.chunks(per).map(|c| (c[c.len() - 1].0, c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64)).collect()
}

impl crate::FactsSource for FixtureSource {
    fn snapshot<'a>(&'a self) -> BoxFuture<'a, Facts> {
        Box::pin(async move { self.snapshot_now() })
    }

    fn fill<'a>(&'a self, need: &'a FactsNeed, facts: &'a mut Facts) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.fill_now(need, facts) })
    }
}
