//! Recurring spikes: outlying readings that land in the same slot (hour of the day, minute of the
//! hour) period after period — the signature of a scheduled job.
//!
//! Single outliers are the anomaly analysis's business; here a spike only counts when the same slot
//! is hit in at least three periods and in at least half of the periods with data, which random
//! outliers practically never do.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Cadence;
use crate::metric::Metric;
use crate::series::Series;
use crate::stats::{median, robust};
use crate::text;

/// The fewest points a series needs.
const MIN_POINTS: usize = 30;
/// The least robust z of a spike reading (upward only).
const SPIKE_Z: f64 = 4.0;
/// The fewest periods a slot must be hit in.
const MIN_PERIODS: usize = 3;
/// The least share of periods with data a slot must be hit in.
const MIN_HIT_RATE: f64 = 0.5;
/// A "daily" spike hitting more hours than this is a busy day, not a scheduled job.
const MAX_DAILY_SLOTS: usize = 6;

/// Spikes that recur in the same slots.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecurringSpike {
    /// The metric.
    pub metric: Metric,
    /// Daily (slots are hours of the day) or hourly (slots are minutes of the hour).
    pub cadence: Cadence,
    /// The recurring slots, in the caller's UTC offset.
    pub slots: Vec<u32>,
    /// Periods (days or hours) with data.
    pub periods: usize,
    /// Periods the most-hit slot was hit in.
    pub occurrences: usize,
    /// `occurrences / periods`.
    pub hit_rate: f64,
    /// The median spike reading.
    pub typical_value: f64,
    /// The series' median.
    pub baseline: f64,
    /// The latest spike, unix seconds.
    pub last_at: i64,
}

/// Finds recurring spikes in a cleaned series: hourly ones first, and daily ones only when there
/// are no hourly ones (an hourly job also hits every hour of every day).
pub(crate) fn recurring_spikes(series: &Series, metric: Metric, utc_offset: i32) -> Vec<RecurringSpike> {
    let values = series.values();
    if values.len() < MIN_POINTS {
        return Vec::new();
    }
    let Some(usual) = robust(&values, metric.noise_floor()) else { return Vec::new() };
    let spikes: Vec<_> = series.points().iter().filter(|p| usual.z(p.value) >= SPIKE_Z).copied().collect();
    if spikes.is_empty() {
        return Vec::new();
    }
    let off = i64::from(utc_offset);
    let interval = series.median_interval().unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for cadence in [Cadence::Hourly, Cadence::Daily] {
        // A slot must be narrower than the sampling, or a spike cannot be placed in it.
        let (period, slot_len) = (cadence.period_secs(), cadence.slot_secs());
        if interval > 2 * slot_len || !out.is_empty() {
            continue;
        }
        let periods: BTreeSet<i64> = series.points().iter().map(|p| (p.ts + off).div_euclid(period)).collect();
        let mut hits: BTreeMap<u32, BTreeSet<i64>> = BTreeMap::new();
        for p in &spikes {
            let local = p.ts + off;
            let slot = u32::try_from(local.rem_euclid(period) / slot_len).unwrap_or(0);
            hits.entry(slot).or_default().insert(local.div_euclid(period));
        }
        let needed = MIN_PERIODS.max((MIN_HIT_RATE * periods.len() as f64).ceil() as usize);
        let slots: Vec<(u32, usize)> =
            hits.iter().map(|(s, ps)| (*s, ps.len())).filter(|(_, n)| *n >= needed).collect();
        if slots.is_empty() || (cadence == Cadence::Daily && slots.len() > MAX_DAILY_SLOTS) {
            continue;
        }
        let in_slots: Vec<_> = spikes
            .iter()
            .filter(|p| {
                let slot = u32::try_from((p.ts + off).rem_euclid(period) / slot_len).unwrap_or(0);
                slots.iter().any(|(s, _)| *s == slot)
            })
            .collect();
        let spike_values: Vec<f64> = in_slots.iter().map(|p| p.value).collect();
        let occurrences = slots.iter().map(|(_, n)| *n).max().unwrap_or(0);
        out.push(RecurringSpike {
            metric,
            cadence,
            slots: slots.iter().map(|(s, _)| *s).collect(),
            periods: periods.len(),
            occurrences,
            hit_rate: text::round(occurrences as f64 / periods.len().max(1) as f64, 3),
            typical_value: text::round(median(&spike_values).unwrap_or(usual.center), 3),
            baseline: text::round(usual.center, 3),
            last_at: in_slots.last().map_or(0, |p| p.ts),
        });
    }
    out
}
