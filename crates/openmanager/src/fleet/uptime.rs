//! Servers' daily uptime (the status page's bars): the share of each UTC day's rollup buckets that
//! hold a stored sample, counted from the server's first bucket (days before it have no data, not a
//! down time) to a little before now (the newest buckets are not rolled up yet). A server that stops
//! reporting is down for the buckets it misses, whether it is switched off or cut off.
//!
//! Past days come from the 10-minute tier, kept for 90 days (the page's span); they change only
//! when late data is rolled up, so they are read once per UTC day and kept. Today comes from the
//! 1-minute tier at each refresh (at most 1,440 points), so a server listed a few minutes ago
//! already has a bar.

use std::collections::HashMap;

use parking_lot::Mutex;
use protocol::metric;

const DAY_MS: i64 = 86_400_000;
const M10_MS: i64 = 600_000;
const M1_MS: i64 = 60_000;
/// How far behind now today's buckets are counted: rollups run every minute, two minutes behind the
/// samples (`store::Config::rollup_grace`), so a minute this old has been rolled up if it ever will
/// be (with room for a late rollup run).
const SETTLED_MS: i64 = 5 * 60_000;
/// Servers whose past days are kept (the status page lists at most 100).
const MAX_CACHED: usize = 256;
/// Pages of at most `store::MAX_LIMIT` points read per span (90 days of buckets take two).
const MAX_PAGES: usize = 4;

/// A server's days before today, as read on `today`.
#[derive(Debug, Clone)]
struct Past {
    today: i64,
    /// Start of the first bucket seen in the span (`None`: nothing stored before today).
    first: Option<i64>,
    days: Vec<(i64, f64)>,
    /// Today's uptime as counted up to a settled minute: the 1-minute tier moves once a minute, so
    /// the page's rebuilds in between (one a second while checks change) reuse it.
    today_part: Option<(i64, Option<(i64, f64)>)>,
}

/// Past days of the servers asked about, bounded by [`MAX_CACHED`].
#[derive(Default)]
pub struct UptimeCache {
    past: Mutex<HashMap<String, Past>>,
}

impl UptimeCache {
    /// Uptime (0-1) by UTC day start for the `days` days up to `now` (today included), for the days
    /// since the server's first stored sample.
    pub async fn daily(
        &self,
        store: &store::Store,
        id: &str,
        days: i64,
        now: i64,
    ) -> Result<Vec<(i64, f64)>, store::Error> {
        let today = now.div_euclid(DAY_MS) * DAY_MS;
        let settled = (now - SETTLED_MS).div_euclid(M1_MS) * M1_MS;
        let cached = self.past.lock().get(id).filter(|p| p.today == today).cloned();
        let past = match cached {
            Some(p) => p,
            None => {
                let from = today - (days - 1) * DAY_MS;
                let buckets = buckets(store, store::Tier::M10, id, from, today - 1).await?;
                let days = per_day(&buckets, M10_MS, from, today, today);
                let p = Past { today, first: buckets.first().copied(), days, today_part: None };
                let mut map = self.past.lock();
                if map.len() >= MAX_CACHED {
                    map.clear();
                }
                map.insert(id.to_string(), p.clone());
                p
            }
        };
        let mut out = past.days;
        let part = match past.today_part {
            Some((at, part)) if at == settled => part,
            _ => {
                let recent = buckets(store, store::Tier::M1, id, today, now).await?;
                // Today from its start or the first bucket, whichever is later (per_day counts
                // from the first bucket it is given, so a server seen before today starts at
                // midnight).
                let mut counted = Vec::with_capacity(recent.len() + 1);
                counted.extend(past.first.filter(|f| *f < today));
                counted.extend(recent);
                let part = per_day(&counted, M1_MS, today, today + DAY_MS, settled).pop();
                if let Some(p) = self.past.lock().get_mut(id) {
                    p.today_part = Some((settled, part));
                }
                part
            }
        };
        out.extend(part);
        Ok(out)
    }
}

/// Starts of the `tier` buckets of `id` with a sample in `from..=to`, oldest first.
async fn buckets(
    store: &store::Store,
    tier: store::Tier,
    id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, store::Error> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = store
            .history_at(tier, id, &[metric::CPU, metric::MEMORY], from, to, store::MAX_LIMIT, cursor.as_deref())
            .await?;
        out.extend(page.points.iter().filter(|p| !p.values.is_empty()).map(|p| p.timestamp_ms));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(out)
}

/// Uptime of each whole UTC day in `from..to` from the starts of `step`-wide buckets (sorted):
/// buckets present over buckets expected, those from the first bucket given up to `settled`
/// (exclusive). Days with nothing expected (before the first bucket, after `settled`) are left out.
fn per_day(buckets: &[i64], step: i64, from: i64, to: i64, settled: i64) -> Vec<(i64, f64)> {
    let Some(&first) = buckets.first() else { return Vec::new() };
    let mut out = Vec::new();
    let mut day = from;
    while day < to {
        let start = day.max(first.div_euclid(step) * step);
        let end = (day + DAY_MS).min(settled);
        if end > start {
            let expected = (end - start + step - 1) / step;
            let present = buckets.iter().filter(|&&b| b >= start && b < end).count() as i64;
            out.push((day, (present.min(expected)) as f64 / expected as f64));
        }
        day += DAY_MS;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    #[test]
    fn a_day_counts_from_the_first_bucket_and_a_gap_is_down_time() {
        let d0 = 10 * DAY_MS;
        // Day 0 from 12:00 on, every bucket; day 1 every bucket but 02:00-04:00.
        let mut b: Vec<i64> = (0..72).map(|i| d0 + 12 * HOUR_MS + i * M10_MS).collect();
        b.extend(
            (0..144)
                .map(|i| d0 + DAY_MS + i * M10_MS)
                .filter(|t| !(2 * HOUR_MS..4 * HOUR_MS).contains(&(t - d0 - DAY_MS))),
        );
        let days = per_day(&b, M10_MS, d0 - DAY_MS, d0 + 2 * DAY_MS, d0 + 2 * DAY_MS);
        assert_eq!(days.len(), 2, "the day before the first sample has no data: {days:?}");
        assert_eq!(days[0], (d0, 1.0));
        assert_eq!(days[1].0, d0 + DAY_MS);
        assert!((days[1].1 - 132.0 / 144.0).abs() < 1e-9, "{days:?}");
    }

    #[test]
    fn today_counts_only_settled_buckets() {
        let d0 = 20 * DAY_MS;
        // Up from midnight to 06:00, silent since; settled at 08:00 (480 one-minute buckets).
        let b: Vec<i64> = (0..360).map(|i| d0 + i * M1_MS).collect();
        let days = per_day(&b, M1_MS, d0, d0 + DAY_MS, d0 + 8 * HOUR_MS);
        assert_eq!(days.len(), 1);
        assert!((days[0].1 - 360.0 / 480.0).abs() < 1e-9, "{days:?}");
        assert!(per_day(&[], M1_MS, d0, d0 + DAY_MS, d0 + DAY_MS).is_empty());
    }

    #[tokio::test]
    async fn stored_samples_become_daily_uptime_and_past_days_are_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open(store::Config::new(dir.path().join("t.db"))).unwrap();
        // Days in the past, so nothing written is from the future.
        let today = crate::clock::now_millis().div_euclid(DAY_MS) * DAY_MS - DAY_MS;
        let now = today + 12 * HOUR_MS;
        let yesterday = today - DAY_MS;
        // Yesterday from 18:00, one sample a minute, silent 20:00-21:00; today until 11:00.
        let mut samples = Vec::new();
        let mut t = yesterday + 18 * HOUR_MS;
        while t < now - HOUR_MS {
            if !(yesterday + 20 * HOUR_MS..yesterday + 21 * HOUR_MS).contains(&t) {
                samples.push(store::Sample::new("srv", t).with(metric::CPU, 5.0).with(metric::MEMORY, 40.0));
            }
            t += 60_000;
        }
        store.write(samples).await.unwrap();
        store.rollup(now).await.unwrap();

        let cache = UptimeCache::default();
        let days = cache.daily(&store, "srv", 90, now).await.unwrap();
        assert_eq!(days.len(), 2, "{days:?}");
        assert_eq!(days[0].0, yesterday);
        assert!((days[0].1 - 30.0 / 36.0).abs() < 1e-9, "six hours with one silent: {days:?}");
        // Today: 00:00-11:00 up, 11:00-11:55 (settled) down: 660 of 715 minutes.
        assert_eq!(days[1].0, today);
        assert!((days[1].1 - 660.0 / 715.0).abs() < 1e-9, "{days:?}");

        // A server with nothing stored has no days; one read again the same day keeps its past.
        assert!(cache.daily(&store, "none", 90, now).await.unwrap().is_empty());
        assert_eq!(cache.past.lock().get("srv").map(|p| p.today), Some(today));
        assert!(cache.past.lock().get("srv").is_some_and(|p| p.today_part.is_some()), "today is kept for the minute");
        assert_eq!(cache.daily(&store, "srv", 90, now).await.unwrap(), days);
    }
}
