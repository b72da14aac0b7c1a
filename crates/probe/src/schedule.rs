//! When each check runs: every check has a phase within its interval and runs at
//! `epoch + phase + k * interval`. A new check takes the middle of the largest gap between the
//! phases of the checks with the same interval, so 200 checks at 10 s start 25-50 ms apart instead
//! of together, and the spread stays even as checks come and go.

use std::collections::HashMap;
use std::future::poll_fn;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::Key;

/// How late a check's first run may start and still count as on time.
const LATE_OK: Duration = Duration::from_secs(1);

/// The middle of the largest gap between `phases` (ms, each below `interval_ms`), counting the gap
/// that wraps around the end of the interval; 0 when there is none.
pub fn pick_phase(phases: &[u64], interval_ms: u64) -> u64 {
    if phases.is_empty() || interval_ms == 0 {
        return 0;
    }
    let mut sorted = phases.to_vec();
    sorted.sort_unstable();
    // The wrap-around gap: from the last phase to the first one plus an interval.
    let (mut start, mut widest) = (sorted[sorted.len() - 1], sorted[0] + interval_ms - sorted[sorted.len() - 1]);
    for pair in sorted.windows(2) {
        let gap = pair[1] - pair[0];
        if gap > widest {
            (start, widest) = (pair[0], gap);
        }
    }
    (start + widest / 2) % interval_ms
}

/// The first time at or after `now` that is `epoch + phase + k * interval`.
pub fn next_due(epoch: Instant, phase: Duration, interval: Duration, now: Instant) -> Instant {
    let first = epoch + phase;
    if now <= first || interval.is_zero() {
        return first;
    }
    let behind = now - first;
    let periods = behind.as_nanos().div_ceil(interval.as_nanos());
    let periods = u32::try_from(periods).unwrap_or(u32::MAX);
    first + interval.saturating_mul(periods)
}

/// One scheduled check.
struct Slot {
    key: Key,
    interval: Duration,
    phase: Duration,
    /// The definition's generation it was scheduled for.
    generation: u64,
}

/// The loop's schedule: a delay queue of check ids and what each one is due for.
pub(crate) struct Schedule {
    epoch: Instant,
    queue: DelayQueue<String>,
    slots: HashMap<String, Slot>,
}

impl Schedule {
    pub fn new(epoch: Instant) -> Self {
        Self { epoch, queue: DelayQueue::new(), slots: HashMap::new() }
    }

    /// The generation `id` is scheduled for, if it is.
    pub fn generation(&self, id: &str) -> Option<u64> {
        self.slots.get(id).map(|s| s.generation)
    }

    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.slots.keys()
    }

    /// Schedules `id` (or reschedules it when its interval changed; a check whose interval did not
    /// change keeps its phase and next run).
    pub fn upsert(&mut self, id: &str, interval: Duration, generation: u64) {
        if let Some(slot) = self.slots.get_mut(id)
            && slot.interval == interval
        {
            slot.generation = generation;
            return;
        }
        self.remove(id);
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        let phases: Vec<u64> = self
            .slots
            .values()
            .filter(|s| s.interval == interval)
            .map(|s| u64::try_from(s.phase.as_millis()).unwrap_or(0))
            .collect();
        let phase = Duration::from_millis(pick_phase(&phases, interval_ms));
        // A grid time that passed a moment ago (phase 0 while the loop starts) still counts: run now.
        let now = Instant::now();
        let due = next_due(self.epoch, phase, interval, now.checked_sub(LATE_OK).unwrap_or(now));
        let key = self.queue.insert_at(id.to_string(), due);
        self.slots.insert(id.to_string(), Slot { key, interval, phase, generation });
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(slot) = self.slots.remove(id) {
            self.queue.remove(&slot.key);
        }
    }

    /// Waits for the next due check, puts it back for its following run (skipping runs that were
    /// missed, so a stalled loop does not fire a burst), and returns its id. Pending forever while
    /// nothing is scheduled.
    pub async fn next(&mut self) -> String {
        loop {
            if self.queue.is_empty() {
                std::future::pending::<()>().await;
            }
            let Some(expired) = poll_fn(|cx| self.queue.poll_expired(cx)).await else {
                continue;
            };
            let deadline = expired.deadline();
            let id = expired.into_inner();
            let Some(slot) = self.slots.get_mut(&id) else { continue };
            let mut due = deadline + slot.interval;
            let now = Instant::now();
            if due <= now {
                due = next_due(self.epoch, slot.phase, slot.interval, now + Duration::from_millis(1));
            }
            slot.key = self.queue.insert_at(id.clone(), due);
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn phases_fill_the_largest_gap() {
        assert_eq!(pick_phase(&[], 10_000), 0);
        assert_eq!(pick_phase(&[0], 10_000), 5_000);
        assert_eq!(pick_phase(&[0, 5_000], 10_000), 7_500);
        assert_eq!(pick_phase(&[0, 5_000, 7_500], 10_000), 2_500);
        // The wrap-around gap wins when it is the widest.
        assert_eq!(pick_phase(&[1_000, 2_000], 10_000), 6_500);
    }

    #[test]
    fn two_hundred_checks_are_spread_evenly() {
        let interval = 10_000;
        let mut phases = Vec::new();
        for _ in 0..200 {
            let p = pick_phase(&phases, interval);
            assert!(!phases.contains(&p));
            phases.push(p);
        }
        phases.sort_unstable();
        let gaps: Vec<u64> = phases.windows(2).map(|w| w[1] - w[0]).collect();
        // After n insertions every gap is interval/2^k or interval/2^(k+1) with 2^k <= n: here 39 or 78 ms.
        assert!(gaps.iter().all(|&g| (39..=79).contains(&g)), "{gaps:?}");
        let most_in_a_second =
            (0..interval).step_by(100).map(|s| phases.iter().filter(|&&p| p >= s && p < s + 1000).count());
        assert!(most_in_a_second.max().unwrap() <= 26);
    }

    #[test]
    fn next_due_is_on_the_phase_grid() {
        let epoch = Instant::now();
        let (phase, interval) = (Duration::from_secs(3), Duration::from_secs(10));
        assert_eq!(next_due(epoch, phase, interval, epoch), epoch + phase);
        assert_eq!(next_due(epoch, phase, interval, epoch + Duration::from_secs(3)), epoch + phase);
        assert_eq!(next_due(epoch, phase, interval, epoch + Duration::from_secs(4)), epoch + Duration::from_secs(13));
        assert_eq!(next_due(epoch, phase, interval, epoch + Duration::from_secs(25)), epoch + Duration::from_secs(33));
    }
}
